// Fused kernels against PyTorch goldens (scripts/gen_engine_goldens.py): forward values and
// gradients for softmax, log-softmax, cross-entropy, layer norm, RMS norm and attention.

import Foundation
import XCTest
import Tensor

final class GoldenTests: XCTestCase {
    func load(_ name: String) throws -> [String: [String: Any]] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: [String: Any]])
    }

    func floats(_ e: [String: Any], _ key: String) -> [Float] { ((e[key] as? [Double]) ?? []).map(Float.init) }
    func ints(_ e: [String: Any], _ key: String) -> [Int] { (e[key] as? [Int]) ?? [] }

    func testSoftmaxAndLogSoftmax() throws {
        for (name, e) in try load("golden_softmax") {
            let x = Tensor(floats(e, "x"), shape: ints(e, "shape"), requiresGrad: true)
            let y = name == "softmax" ? x.softmax(axis: -1) : x.logSoftmax(axis: -1)
            y.backward(Tensor(floats(e, "g"), shape: ints(e, "shape")))
            assertClose(y.scalars, floats(e, "y"), atol: 1e-6, rtol: 1e-5, name)
            assertClose(x.grad?.scalars ?? [], floats(e, "dx"), atol: 1e-6, rtol: 1e-4, name)
        }
    }

    func testCrossEntropy() throws {
        for (name, e) in try load("golden_cross_entropy") {
            let x = Tensor(floats(e, "x"), shape: ints(e, "shape"), requiresGrad: true)
            let t = Tensor(indices: ints(e, "targets").map(Int32.init), shape: [ints(e, "targets").count])
            let smoothing = Float((e["smoothing"] as? Double) ?? 0)
            let loss = x.crossEntropy(targets: t, ignoreIndex: -100, labelSmoothing: smoothing)
            loss.backward()
            assertClose([loss.item()], [Float((e["loss"] as? Double) ?? 0)], atol: 1e-6, rtol: 1e-5, name)
            assertClose(x.grad?.scalars ?? [], floats(e, "dx"), atol: 1e-6, rtol: 1e-4, name)
        }
    }

    func testNorms() throws {
        let all = try load("golden_norm")
        for (name, e) in all {
            let shape = ints(e, "shape"), c = shape.last ?? 1
            let x = Tensor(floats(e, "x"), shape: shape, requiresGrad: true)
            let w = Tensor(floats(e, "w"), shape: [c], requiresGrad: true)
            let eps = Float((e["eps"] as? Double) ?? 0)
            let b = name == "layer_norm" ? Tensor(floats(e, "b"), shape: [c], requiresGrad: true) : nil
            let y = name == "layer_norm" ? x.layerNorm(weight: w, bias: b, eps: eps) : x.rmsNorm(weight: w, eps: eps)
            y.backward(Tensor(floats(e, "g"), shape: shape))
            assertClose(y.scalars, floats(e, "y"), atol: 1e-5, rtol: 1e-5, name)
            assertClose(x.grad?.scalars ?? [], floats(e, "dx"), atol: 1e-5, rtol: 1e-4, name)
            assertClose(w.grad?.scalars ?? [], floats(e, "dw"), atol: 1e-5, rtol: 1e-4, name)
            if let b { assertClose(b.grad?.scalars ?? [], floats(e, "db"), atol: 1e-5, rtol: 1e-4, name) }
        }
    }

    func testAttention() throws {
        for (name, e) in try load("golden_attention") {
            let q = Tensor(floats(e, "q"), shape: [2, 4, 5, 4], requiresGrad: true)
            let k = Tensor(floats(e, "k"), shape: [2, 2, 6, 4], requiresGrad: true)
            let v = Tensor(floats(e, "v"), shape: [2, 2, 6, 4], requiresGrad: true)
            let mask = Tensor(floats(e, "mask"), shape: [2, 1, 1, 6])
            let bias = e["bias"] != nil ? Tensor(floats(e, "bias"), shape: [1, 4, 5, 6], requiresGrad: true) : nil
            let y = Tensor.attention(query: q, key: k, value: v, mask: mask, bias: bias,
                                     causal: (e["causal"] as? Bool) ?? false, scale: Float((e["scale"] as? Double) ?? 1))
            y.backward(Tensor(floats(e, "g"), shape: [2, 4, 5, 4]))
            assertClose(y.scalars, floats(e, "y"), atol: 1e-5, rtol: 1e-4, name)
            assertClose(q.grad?.scalars ?? [], floats(e, "dq"), atol: 1e-5, rtol: 1e-4, name + " dq")
            assertClose(k.grad?.scalars ?? [], floats(e, "dk"), atol: 1e-5, rtol: 1e-4, name + " dk")
            assertClose(v.grad?.scalars ?? [], floats(e, "dv"), atol: 1e-5, rtol: 1e-4, name + " dv")
            if let bias { assertClose(bias.grad?.scalars ?? [], floats(e, "dbias"), atol: 1e-5, rtol: 1e-4, name + " dbias") }
        }
    }
}
