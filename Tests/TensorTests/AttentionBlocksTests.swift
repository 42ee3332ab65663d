// Attention restricted to blocks (packed rows) equals attention with the same blocks as a mask:
// outputs, the gradients of queries, keys, values and the additive bias, causal or not, with
// grouped heads, and with queries that belong to no block (padding), which get zeros.
import Tensor
import XCTest

final class AttentionBlocksTests: XCTestCase {
    /// Two rows of 9 positions: row 0 holds sequences [0, 4) and [4, 9); row 1 holds [0, 6) and
    /// leaves [6, 9) as padding.
    private let segments: [[Range<Int>]] = [[0..<4, 4..<9], [0..<6]]

    /// The same blocks as a (B, 1, T, T) 0/1 mask.
    private func mask(_ segments: [[Range<Int>]], t: Int) -> Tensor {
        var values = [Float](repeating: 0, count: segments.count * t * t)
        for (b, row) in segments.enumerated() {
            for range in row { for i in range { for j in range { values[(b * t + i) * t + j] = 1 } } }
        }
        return Tensor(values, shape: [segments.count, 1, t, t])
    }

    private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func testBlocksEqualTheMaskForOutputsAndGradients() {
        var rng = RNG(seed: 4)
        let (b, h, hkv, t, d) = (2, 4, 2, 9, 8)
        let blocks = AttentionBlocks.diagonal(segments)
        let m = mask(segments, t: t)
        for causal in [false, true] {
            let q = rng.normal([b, h, t, d]), k = rng.normal([b, hkv, t, d]), v = rng.normal([b, hkv, t, d])
            let bias = rng.normal([h, t, t])
            let upstream = rng.normal([b, h, t, d])
            func run(_ useBlocks: Bool) -> (out: [Float], grads: [[Float]]) {
                for x in [q, k, v, bias] { x.requiresGrad = true; x.grad = nil }
                let out = Tensor.attention(query: q, key: k, value: v, mask: m, bias: bias, causal: causal, scale: 0.5,
                                           blocks: useBlocks ? blocks : nil)
                // Padding queries attend to nothing under the mask too; compare only real rows.
                var keep = [Float](repeating: 1, count: b * h * t * d)
                for i in 0..<(h * t * d) where (i / d) % t >= 6 { keep[h * t * d + i] = 0 }
                let kept = Tensor(keep, shape: [b, h, t, d])
                (out * upstream * kept).sum().backward()
                return ((out * kept).scalars, [q, k, v, bias].map { $0.grad?.scalars ?? [] })
            }
            let masked = run(false), blocked = run(true)
            XCTAssertLessThan(maxDifference(masked.out, blocked.out), 1e-5, "causal \(causal)")
            for (name, (a, g)) in zip(["q", "k", "v", "bias"], zip(masked.grads, blocked.grads)) {
                XCTAssertEqual(a.count, g.count, name)
                XCTAssertGreaterThan(a.map(abs).max() ?? 0, 1e-3, "\(name) has a gradient")
                XCTAssertLessThan(maxDifference(a, g), 1e-5, "\(name), causal \(causal)")
            }
        }
    }

    func testQueriesOutsideEveryBlockGetZerosAndCrossBlocksWork() {
        var rng = RNG(seed: 5)
        // Cross-attention: 5 decoder queries over 7 encoder keys; decoder [0, 2) sees encoder
        // [0, 3), decoder [2, 4) sees encoder [3, 7), decoder 4 is padding.
        let blocks = AttentionBlocks([[.init(queries: 0..<2, keys: 0..<3), .init(queries: 2..<4, keys: 3..<7)]])
        var maskValues = [Float](repeating: 0, count: 5 * 7)
        for i in 0..<2 { for j in 0..<3 { maskValues[i * 7 + j] = 1 } }
        for i in 2..<4 { for j in 3..<7 { maskValues[i * 7 + j] = 1 } }
        let q = rng.normal([1, 2, 5, 4]), k = rng.normal([1, 2, 7, 4]), v = rng.normal([1, 2, 7, 4])
        let blocked = Tensor.attention(query: q, key: k, value: v, scale: 1, blocks: blocks).scalars
        let masked = Tensor.attention(query: q, key: k, value: v, mask: Tensor(maskValues, shape: [1, 1, 5, 7]), scale: 1).scalars
        for head in 0..<2 {
            for row in 0..<4 {
                let range = (head * 5 + row) * 4..<(head * 5 + row + 1) * 4
                XCTAssertLessThan(maxDifference(Array(blocked[range]), Array(masked[range])), 1e-5)
            }
            XCTAssertEqual(Array(blocked[(head * 5 + 4) * 4..<(head * 5 + 5) * 4]), [0, 0, 0, 0], "a padding query gets zeros")
        }
    }
}
