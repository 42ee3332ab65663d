// Per-token cross-entropy: values against the log-softmax reference, 0 on ignored rows, its
// mean over the kept rows equal to `crossEntropy` (values and gradients), and its gradient
// against finite differences with a different upstream weight on every row.

import Tensor
import XCTest

final class TokenCrossEntropyTests: XCTestCase {
    let targets = Tensor(indices: [0, 6, -100, 3, 2, 1, 5, -100, 4, 4, 0, 1, 2, 3, 6], shape: [3, 5])
    var kept: [Int] { targets.indexScalars.enumerated().filter { $0.element != -100 }.map(\.offset) }

    func logits() -> Tensor { GradCheck.randn([3, 5, 7], seed: 61) }

    func testValuesMatchTheLogSoftmaxReferenceAndIgnoredRowsAreZero() {
        let x = logits()
        let losses = x.tokenCrossEntropy(targets: targets)
        XCTAssertEqual(losses.shape, [15])
        let logProbs = x.referenceSoftmax(log: true).scalars, ids = targets.indexScalars
        let expected = ids.enumerated().map { r, id in id == -100 ? 0 : -logProbs[r * 7 + id] }
        assertClose(losses.scalars, expected, atol: 1e-6, rtol: 1e-5)
        XCTAssertEqual(losses.scalars[2], 0)
        XCTAssertEqual(losses.scalars[7], 0)
        // A custom ignore index.
        let other = Tensor(indices: [1, 4], shape: [2])
        let two = GradCheck.randn([2, 7], seed: 62).tokenCrossEntropy(targets: other, ignoreIndex: 4).scalars
        XCTAssertEqual(two[1], 0)
        XCTAssertGreaterThan(two[0], 0)
    }

    func testMeanOfKeptRowsEqualsCrossEntropy() {
        let a = logits(), b = logits()
        a.requiresGrad = true
        b.requiresGrad = true
        let mean = a.crossEntropy(targets: targets)
        let perToken = b.tokenCrossEntropy(targets: targets)
        let values = perToken.scalars
        let keptMean = kept.reduce(0) { $0 + Double(values[$1]) } / Double(kept.count)
        XCTAssertEqual(Double(mean.item()), keptMean, accuracy: 1e-6)
        mean.backward()
        (perToken.sum() * (1 / Float(kept.count))).backward()
        assertClose(b.grad?.scalars ?? [], a.grad?.scalars ?? [], atol: 1e-7, rtol: 1e-5, "d/dlogits")
    }

    func testGradientMatchesFiniteDifferences() {
        GradCheck.check([logits()]) { $0[0].tokenCrossEntropy(targets: self.targets) }
        // A vocabulary wider than one SIMD vector, flat (N, V) logits.
        let wide = GradCheck.randn([4, 37], seed: 63)
        let ids = Tensor(indices: [36, -100, 0, 17], shape: [4])
        GradCheck.check([wide]) { $0[0].tokenCrossEntropy(targets: ids) }
    }

    func testIgnoredRowsGetNoGradient() {
        let x = logits()
        x.requiresGrad = true
        x.tokenCrossEntropy(targets: targets).sum().backward()
        let grad = x.grad?.scalars ?? []
        for row in [2, 7] { XCTAssertEqual(Array(grad[(row * 7)..<((row + 1) * 7)]), Array(repeating: 0, count: 7)) }
        // Each kept row's gradient is softmax - onehot, which sums to 0.
        for row in kept { XCTAssertEqual(grad[(row * 7)..<((row + 1) * 7)].reduce(0, +), 0, accuracy: 1e-5) }
    }
}
