// Finite-difference gradient checking through the public API: loss = sum(f(x) * r) for a fixed
// random r, central differences in Float32 with the weighted sum taken in Double.

import XCTest
import Tensor

enum GradCheck {
    /// Compares autograd gradients of `f` with central differences for every input element.
    static func check(_ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 3e-3, rtol: Float = 3e-2,
                      file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
        for t in inputs { t.requiresGrad = true; t.grad = nil }
        let probe = Tensor.withoutGrad { f(inputs) }
        var rng = RNG(seed: 99)
        let weights = rng.normal(probe.shape).scalars
        func loss() -> Double {
            let out = Tensor.withoutGrad { f(inputs) }.scalars
            var s = 0.0
            for (o, w) in zip(out, weights) { s += Double(o) * Double(w) }
            return s
        }
        let out = f(inputs)
        (out * Tensor(weights, shape: probe.shape)).sum().backward()
        for (k, t) in inputs.enumerated() {
            guard let grad = t.grad?.scalars else { XCTFail("input \(k) got no gradient", file: file, line: line); continue }
            var values = t.scalars
            for i in 0..<values.count {
                let saved = values[i]
                values[i] = saved + eps; t.assign(values)
                let plus = loss()
                values[i] = saved - eps; t.assign(values)
                let minus = loss()
                values[i] = saved; t.assign(values)
                let numeric = Float((plus - minus) / Double(2 * eps))
                let tol = atol + rtol * abs(numeric)
                if abs(numeric - grad[i]) > tol {
                    XCTFail("input \(k) element \(i): analytic \(grad[i]) vs numeric \(numeric)", file: file, line: line)
                    return
                }
            }
        }
    }

    /// A seeded normal tensor.
    static func randn(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
        var rng = RNG(seed: seed)
        return rng.normal(shape, std: std)
    }

    /// A seeded tensor of values in [low, high).
    static func rand(_ shape: [Int], seed: UInt64, low: Float, high: Float) -> Tensor {
        var rng = RNG(seed: seed)
        return rng.uniform(shape, low: low, high: high)
    }
}

func assertClose(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-4, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "count \(message)", file: file, line: line)
    for i in 0..<min(a.count, b.count) where !(abs(a[i] - b[i]) <= atol + rtol * abs(b[i])) {
        XCTFail("\(message) element \(i): \(a[i]) vs \(b[i])", file: file, line: line)
        return
    }
}
