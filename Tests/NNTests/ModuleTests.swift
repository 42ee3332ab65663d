// Module naming (Hugging Face style), train/eval, state dicts, layers, parameter reports.

import Foundation
import XCTest
import NN
import Tensor

final class Attention: Module {
    let q: Linear, k: Linear
    init(_ d: Int, rng: inout RNG) {
        q = Linear(d, d, bias: false, rng: &rng)
        k = Linear(d, d, bias: false, rng: &rng)
    }
}

final class Layer: Module {
    let SelfAttention: Attention
    let layer_norm: RMSNorm
    init(_ d: Int, rng: inout RNG) {
        SelfAttention = Attention(d, rng: &rng)
        layer_norm = RMSNorm(d)
    }
}

final class Block: Module {
    let layer: [Layer]
    let dropout = Dropout(0.5, seed: 1)
    init(_ d: Int, rng: inout RNG) { layer = [Layer(d, rng: &rng), Layer(d, rng: &rng)] }
}

final class Encoder: Module {
    let block: [Block]
    let embed_tokens: Embedding
    init(_ d: Int, rng: inout RNG) {
        block = [Block(d, rng: &rng)]
        embed_tokens = Embedding(10, d, rng: &rng)
    }
}

final class Model: Module {
    let encoder: Encoder
    init(rng: inout RNG) { encoder = Encoder(4, rng: &rng) }
}

final class ModuleTests: XCTestCase {
    func testHierarchicalNamesMatchHuggingFace() {
        var rng = RNG(seed: 1)
        let names = Model(rng: &rng).namedParameters().map(\.0)
        XCTAssertEqual(names, [
            "encoder.block.0.layer.0.SelfAttention.q.weight", "encoder.block.0.layer.0.SelfAttention.k.weight",
            "encoder.block.0.layer.0.layer_norm.weight",
            "encoder.block.0.layer.1.SelfAttention.q.weight", "encoder.block.0.layer.1.SelfAttention.k.weight",
            "encoder.block.0.layer.1.layer_norm.weight",
            "encoder.embed_tokens.weight",
        ])
    }

    func testStateDictRoundTripAndErrors() throws {
        var rng = RNG(seed: 2), other = RNG(seed: 3)
        let a = Model(rng: &rng), b = Model(rng: &other)
        XCTAssertNotEqual(a.parameters()[0].scalars, b.parameters()[0].scalars)
        try b.loadStateDict(a.stateDict())
        XCTAssertEqual(a.parameters().map(\.scalars), b.parameters().map(\.scalars))
        var state = a.stateDict()
        state["encoder.embed_tokens.weight"] = Tensor.zeros([3, 4])
        XCTAssertThrowsError(try b.loadStateDict(state)) {
            XCTAssertEqual($0 as? NNError, .shapeMismatch(name: "encoder.embed_tokens.weight", expected: [10, 4], got: [3, 4]))
        }
        state = a.stateDict()
        state["extra"] = Tensor.zeros([1])
        XCTAssertThrowsError(try b.loadStateDict(state)) { XCTAssertEqual($0 as? NNError, .unexpectedKeys(["extra"])) }
        XCTAssertNoThrow(try b.loadStateDict(state, strict: false))
        // Round trip through safetensors with bf16 storage.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("m-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafetensorsFile.write(a.stateDict().mapValues { $0.cast(to: .bfloat16) }, to: url)
        try b.loadStateDict(try SafetensorsFile(contentsOf: url).tensors())
        assertClose(b.parameters()[0].scalars, a.parameters()[0].scalars, atol: 1e-2, rtol: 1e-2)
    }

    func testTrainEvalAndDropout() {
        var rng = RNG(seed: 4)
        let m = Model(rng: &rng)
        let drop = m.encoder.block[0].dropout
        let x = Tensor.ones([1000])
        let y = drop(x).scalars
        XCTAssertEqual(Float(y.filter { $0 == 0 }.count) / 1000, 0.5, accuracy: 0.06)
        XCTAssertTrue(y.allSatisfy { $0 == 0 || $0 == 2 })
        m.eval()
        XCTAssertFalse(drop.isTraining)
        XCTAssertEqual(drop(x).scalars, x.scalars)
        m.train()
        XCTAssertTrue(drop.isTraining)
    }

    func testLayersAndReport() {
        var rng = RNG(seed: 5)
        let lin = Linear(3, 2, rng: &rng)
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let w = lin.weight.scalars, b = lin.bias?.scalars ?? []
        let xs = x.scalars
        var expected: [Float] = []
        for r in 0..<2 {
            for o in 0..<2 {
                var s = b[o]
                for i in 0..<3 { s += xs[r * 3 + i] * w[o * 3 + i] }
                expected.append(s)
            }
        }
        assertClose(lin(x).scalars, expected)
        XCTAssertEqual(lin.parameterCount, 8)
        XCTAssertTrue(lin.memoryReport().contains("parameters: 8"))
        let ln = LayerNorm(3)
        assertClose(ln(x).scalars, [-1.2247, 0, 1.2247, -1.2247, 0, 1.2247], atol: 1e-3)
        XCTAssertEqual(Embedding(5, 2, rng: &rng)(Tensor(indices: [4, 0], shape: [2])).shape, [2, 2])
    }
}
