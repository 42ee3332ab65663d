// Optimizers against PyTorch/transformers goldens (scripts/gen_engine_goldens.py), five steps
// each; state export/import; schedules and gradient clipping.

import Foundation
import XCTest
import NN
import Tensor

final class OptimizerTests: XCTestCase {
    var golden: [String: Any] = [:]

    override func setUpWithError() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/optimizer_goldens", withExtension: "json"))
        golden = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func floats(_ any: Any?) -> [Float] { ((any as? [Double]) ?? []).map(Float.init) }

    /// Runs `make`'s optimizer over the golden gradients and compares every step.
    func check(_ name: String, atol: Float = 1e-6, rtol: Float = 1e-5, _ make: ([(String, Tensor)]) -> Optimizer) throws {
        let w = Tensor(floats(golden["w"]), shape: [4, 6], requiresGrad: true)
        let b = Tensor(floats(golden["b"]), shape: [6], requiresGrad: true)
        let opt = make([("w", w), ("b", b)])
        let grads = try XCTUnwrap(golden["grads"] as? [[String: Any]])
        let steps = try XCTUnwrap(golden[name] as? [[String: Any]])
        for (i, (g, expected)) in zip(grads, steps).enumerated() {
            w.grad = Tensor(floats(g["w"]), shape: [4, 6])
            b.grad = Tensor(floats(g["b"]), shape: [6])
            opt.step()
            assertClose(w.scalars, floats(expected["w"]), atol: atol, rtol: rtol, "\(name) step \(i + 1) w")
            assertClose(b.scalars, floats(expected["b"]), atol: atol, rtol: rtol, "\(name) step \(i + 1) b")
        }
    }

    func testAdamWMatchesPyTorch() throws {
        try check("adamw") { AdamW($0, learningRate: 1e-2, weightDecay: 0.1) }
    }

    func testAdafactorMatchesTransformers() throws {
        try check("adafactor") { Adafactor($0) }
        try check("adafactor_manual") {
            Adafactor($0, learningRate: 1e-2, beta1: 0.9, weightDecay: 0.01, scaleParameter: false, relativeStep: false)
        }
        try check("adafactor_warmup") { Adafactor($0, warmupInit: true) }
    }

    func testSGDMatchesPyTorch() throws {
        try check("sgd") { SGD($0, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true) }
    }

    func testStateExportImportResumesExactly() throws {
        func run(split: Bool, _ make: ([(String, Tensor)]) -> Optimizer) -> [Float] {
            var rng = RNG(seed: 11)
            let w = rng.normal([5, 3]), b = rng.normal([3])
            w.requiresGrad = true; b.requiresGrad = true
            var opt = make([("w", w), ("b", b)])
            for step in 0..<6 {
                if split && step == 3 {
                    let state = opt.stateDict()
                    opt = make([("w", w), ("b", b)])
                    XCTAssertNoThrow(try opt.loadStateDict(state))
                }
                w.grad = rng.normal([5, 3]); b.grad = rng.normal([3])
                opt.step()
            }
            return w.scalars + b.scalars
        }
        for make in [{ AdamW($0) } as ([(String, Tensor)]) -> Optimizer, { Adafactor($0, beta1: 0.9) },
                     { SGD($0, learningRate: 0.1, momentum: 0.9) }] {
            XCTAssertEqual(run(split: false, make), run(split: true, make))
        }
        XCTAssertThrowsError(try AdamW([("w", Tensor.zeros([2]))]).loadStateDict([:]))
    }

    func testSchedules() {
        XCTAssertEqual(LRSchedule.linear(warmup: 10, total: 110).factor(step: 5), 0.5)
        XCTAssertEqual(LRSchedule.linear(warmup: 10, total: 110).factor(step: 60), 0.5)
        XCTAssertEqual(LRSchedule.linear(warmup: 10, total: 110).factor(step: 200), 0)
        XCTAssertEqual(LRSchedule.constant().factor(step: 7), 1)
        XCTAssertEqual(LRSchedule.inverseSqrt(warmup: 100).factor(step: 400), 0.5)
        XCTAssertEqual(LRSchedule.cosine(warmup: 0, total: 100).factor(step: 50), 0.5, accuracy: 1e-6)
        XCTAssertEqual(LRSchedule.cosine(warmup: 0, total: 100, minRatio: 0.1).factor(step: 100), 0.1, accuracy: 1e-6)
        XCTAssertEqual(LRSchedule.cosine(warmup: 10, total: 100).learningRate(base: 2, step: 5), 1)
    }

    func testClipGradNorm() {
        let a = Tensor.zeros([2], requiresGrad: true), b = Tensor.zeros([1], requiresGrad: true)
        a.grad = Tensor([3, 0], shape: [2])
        b.grad = Tensor([4], shape: [1])
        XCTAssertEqual(clipGradNorm([a, b], maxNorm: 1), 5, accuracy: 1e-6)
        assertClose((a.grad?.scalars ?? []) + (b.grad?.scalars ?? []), [0.6, 0, 0.8], atol: 1e-5)
        XCTAssertEqual(clipGradNorm([a, b], maxNorm: 10), 1, accuracy: 1e-5)
        assertClose(a.grad?.scalars ?? [], [0.6, 0], atol: 1e-5)
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
