// Per-token target losses, padded and packed, for T5 and the trainable Llama on tiny random
// models: packing several pairs per row gives each target token the loss (and every parameter
// the gradient) that the pair gets alone; the padded layout agrees; packing really shares rows;
// a pair longer than the pack length is a clear error.
import Foundation
import Models
import NN
import Tensor
import XCTest

final class PackedLossTests: XCTestCase {
    // MARK: - Helpers

    /// max |a - b|.
    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// max |a - b| / max |b| (the plain difference when b is all 0).
    func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
        let scale: Float = b.reduce(0) { max($0, abs($1)) }
        return scale == 0 ? maxAbsDiff(a, b) : maxAbsDiff(a, b) / scale
    }

    /// Each parameter's gradient after `body` runs its backward passes, from zero.
    func gradients(_ params: [(String, Tensor)], _ body: () throws -> Void) rethrows -> [String: [Float]] {
        for (_, p) in params { p.grad = nil }
        try body()
        var out: [String: [Float]] = [:]
        for (name, p) in params { out[name] = p.grad?.scalars }
        return out
    }

    /// The worst relative gradient difference over parameters; fails on a gradient present in one only.
    func worstGradientDifference(_ got: [String: [Float]], _ expected: [String: [Float]], file: StaticString = #filePath,
                                 line: UInt = #line) -> Float {
        XCTAssertEqual(Set(got.keys), Set(expected.keys), file: file, line: line)
        var worst: Float = 0
        for (name, e) in expected {
            guard let g = got[name] else { XCTFail("\(name): no gradient in the packed run", file: file, line: line); continue }
            let d = relativeDifference(g, e)
            XCTAssertLessThan(d, 1e-4, name, file: file, line: line)
            worst = max(worst, d)
        }
        return worst
    }

    // MARK: - T5

    /// Sources of 5, 3, 7, 2, 4, 6 tokens and targets of 4, 6, 2, 3, 5, 1 (vocabulary 24).
    let t5Pairs: [(source: [Int], target: [Int])] = [
        ([5, 9, 13, 2, 1], [7, 3, 11, 1]), ([8, 4, 1], [12, 6, 9, 14, 2, 1]), ([3, 17, 6, 10, 19, 4, 1], [22, 1]),
        ([21, 1], [5, 5, 1]), ([11, 12, 13, 1], [2, 4, 8, 16, 1]), ([6, 7, 8, 20, 23, 1], [1])]
    let t5PackLength = 16

    /// A small random T5 without dropout: v1.1 (gated GELU, separate head) or v1.0 (ReLU, tied).
    func t5(tied: Bool, dropoutRate: Float = 0) throws -> T5Model {
        let config = T5Config(vocabSize: 24, dModel: 32, dKV: 8, dFF: 48, numLayers: 2, numHeads: 4,
                              relativeAttentionNumBuckets: 8, relativeAttentionMaxDistance: 16,
                              feedForwardProj: tied ? "relu" : "gated-gelu", tieWordEmbeddings: tied,
                              dropoutRate: dropoutRate)
        let model = try T5Model(config, seed: 7)
        model.eval()
        return model
    }

    /// One pair alone through `loss` (the established path): its summed token loss.
    func t5LossAlone(_ model: T5Model, _ pair: (source: [Int], target: [Int])) throws -> Tensor {
        let ids = Tensor(indices: pair.source.map { Int32($0) }, shape: [1, pair.source.count])
        let labels = Tensor(indices: pair.target.map { Int32($0) }, shape: [1, pair.target.count])
        return try model.loss(inputIds: ids, labels: labels) * Float(pair.target.count)
    }

    func testT5PackingPutsSixPairsInTwoRows() throws {
        let rows = try Packing.firstFit(t5Pairs.map { [$0.source.count, $0.target.count] }, capacity: t5PackLength)
        XCTAssertEqual(rows, [[0, 1, 2], [3, 4, 5]])
    }

    func testT5PackedLossesAndGradientsEqualEachPairAlone() throws {
        for tied in [false, true] {
            let model = try t5(tied: tied)
            let count = t5Pairs.reduce(0) { $0 + $1.target.count }
            var alone: [Float] = [], aloneSum = 0.0
            for pair in t5Pairs {
                alone += try Tensor.withoutGrad { try model.targetTokenLosses(pairs: [pair], packLength: nil).scalars }
                aloneSum += Double(try Tensor.withoutGrad { try t5LossAlone(model, pair).item() })
            }
            XCTAssertEqual(Double(alone.reduce(0, +)), aloneSum, accuracy: 1e-5 * aloneSum, "alone: per token vs loss")
            for packLength in [nil, t5PackLength] {
                let losses = try Tensor.withoutGrad { try model.targetTokenLosses(pairs: t5Pairs, packLength: packLength).scalars }
                XCTAssertEqual(losses.count, count)
                let sum = Double(losses.reduce(0, +))
                XCTAssertEqual(sum, aloneSum, accuracy: 1e-5 * aloneSum, "tied \(tied), pack \(String(describing: packLength))")
                let perToken = maxAbsDiff(losses, alone)
                XCTAssertLessThan(perToken, 1e-4, "tied \(tied), pack \(String(describing: packLength))")
                print("PackedLossTests T5 tied \(tied) pack \(String(describing: packLength)): sum rel diff \(abs(sum - aloneSum) / aloneSum), max token diff \(perToken)")
            }
            let params = model.trainableParameters()
            let expected = try gradients(params) { for pair in t5Pairs { try t5LossAlone(model, pair).backward() } }
            for packLength in [nil, t5PackLength] {
                let got = try gradients(params) { try model.targetTokenLosses(pairs: t5Pairs, packLength: packLength).sum().backward() }
                let worst = worstGradientDifference(got, expected)
                print("PackedLossTests T5 tied \(tied) pack \(String(describing: packLength)): worst gradient rel diff \(worst) over \(params.count) parameters")
            }
        }
    }

    func testT5UnfusedAttentionPathTakesPackedMasks() throws {
        // Dropout on (but ~0) sends attention through the unfused path and T5Masks.additive.
        let model = try t5(tied: false, dropoutRate: 1e-9)
        let reference = try t5(tied: false)
        model.train()
        let expected = try Tensor.withoutGrad { try reference.targetTokenLosses(pairs: t5Pairs, packLength: nil).scalars }
        let got = try Tensor.withoutGrad { try model.targetTokenLosses(pairs: t5Pairs, packLength: t5PackLength).scalars }
        XCTAssertLessThan(maxAbsDiff(got, expected), 1e-4)
    }

    func testT5BadPairsAreClearErrors() throws {
        let model = try t5(tied: false)
        XCTAssertThrowsError(try model.targetTokenLosses(pairs: t5Pairs, packLength: 6)) { error in
            XCTAssertEqual(error as? PackingError, .exampleTooLong(index: 2, lengths: [7, 2], capacity: 6))
            XCTAssertTrue("\(error)".contains("example 2"), "\(error)")
        }
        XCTAssertThrowsError(try model.targetTokenLosses(pairs: [([3], [])], packLength: nil)) { error in
            XCTAssertEqual(error as? T5Error, .invalidInput("pair 0 has an empty target"))
        }
        XCTAssertThrowsError(try model.targetTokenLosses(pairs: [([3], [30])], packLength: 8))
        XCTAssertThrowsError(try model.targetTokenLosses(pairs: [], packLength: nil))
    }

    // MARK: - Llama

    /// Examples of 7, 4, 9, 5, 3 and 8 tokens (vocabulary 48).
    let llamaPairs: [(prompt: [Int], target: [Int])] = [
        ([3, 14, 15], [9, 26, 5, 47]), ([2, 7], [18, 47]), ([30, 31, 32, 33], [1, 2, 3, 4, 47]),
        ([12], [40, 41, 42, 47]), ([5, 6], [47]), ([20, 21, 22, 23, 24], [25, 26, 47])]
    let llamaPackLength = 20
    let padTokenId = 0

    /// The tiny model with random non-zero adapters (so A gets gradients too); for llama, the
    /// embedding (also the tied head) and the final norm train as well.
    func llama(_ architecture: String) throws -> LlamaTrainable {
        let model = try LlamaTrainable(gguf: LlamaTinyModel.file(architecture: architecture))
        model.addAdapters(LoRAConfig(rank: 2, alpha: 4, targets: [.q, .k, .v, .o, .down]), seed: 3)
        var rng = RNG(seed: 9)
        for (name, p) in model.adapterParameters() where name.contains("lora_B") {
            p.assign(rng.uniform(p.shape, low: -0.2, high: 0.2))
        }
        if architecture == "llama" {
            model.embedTokens.requiresGrad = true
            model.norm.requiresGrad = true
        }
        model.eval()
        return model
    }

    func testLlamaPackingPutsSixExamplesInTwoRows() throws {
        let rows = try Packing.firstFit(llamaPairs.map { [$0.prompt.count + $0.target.count] }, capacity: llamaPackLength)
        XCTAssertEqual(rows, [[0, 1, 2], [3, 4, 5]])
    }

    func testLlamaPackedLossesAndGradientsEqualEachExampleAlone() throws {
        for architecture in ["llama", "qwen2"] {                   // normal RoPE pairs, and NeoX with QKV biases
            let model = try llama(architecture)
            let count = llamaPairs.reduce(0) { $0 + $1.target.count }
            var alone: [Float] = [], aloneSum = 0.0
            for pair in llamaPairs {
                alone += try Tensor.withoutGrad {
                    try model.targetTokenLosses(pairs: [pair], packLength: nil, padTokenId: padTokenId).scalars
                }
                let mean = try Tensor.withoutGrad { try model.causalLMLoss(prompt: pair.prompt, target: pair.target).item() }
                aloneSum += Double(mean) * Double(pair.target.count)
            }
            XCTAssertEqual(Double(alone.reduce(0, +)), aloneSum, accuracy: 1e-5 * aloneSum, "alone: per token vs causalLMLoss")
            for packLength in [nil, llamaPackLength] {
                let losses = try Tensor.withoutGrad {
                    try model.targetTokenLosses(pairs: llamaPairs, packLength: packLength, padTokenId: padTokenId).scalars
                }
                XCTAssertEqual(losses.count, count)
                let sum = Double(losses.reduce(0, +))
                XCTAssertEqual(sum, aloneSum, accuracy: 1e-5 * aloneSum, "\(architecture), pack \(String(describing: packLength))")
                let perToken = maxAbsDiff(losses, alone)
                XCTAssertLessThan(perToken, 1e-4, "\(architecture), pack \(String(describing: packLength))")
                print("PackedLossTests Llama \(architecture) pack \(String(describing: packLength)): sum rel diff \(abs(sum - aloneSum) / aloneSum), max token diff \(perToken)")
            }
            let params = model.trainableParameters()
            let expected = try gradients(params) {
                for pair in llamaPairs {
                    try (model.causalLMLoss(prompt: pair.prompt, target: pair.target) * Float(pair.target.count)).backward()
                }
            }
            for packLength in [nil, llamaPackLength] {
                let got = try gradients(params) {
                    try model.targetTokenLosses(pairs: llamaPairs, packLength: packLength, padTokenId: padTokenId).sum().backward()
                }
                let worst = worstGradientDifference(got, expected)
                print("PackedLossTests Llama \(architecture) pack \(String(describing: packLength)): worst gradient rel diff \(worst) over \(params.count) parameters")
            }
        }
    }

    func testLlamaBadExamplesAreClearErrors() throws {
        let model = try llama("llama")
        XCTAssertThrowsError(try model.targetTokenLosses(pairs: llamaPairs, packLength: 8, padTokenId: padTokenId)) { error in
            XCTAssertEqual(error as? PackingError, .exampleTooLong(index: 2, lengths: [9], capacity: 8))
            XCTAssertEqual("\(error)", "example 2 has 9 tokens, more than the pack length 8; raise the pack length or shorten the example")
        }
        XCTAssertThrowsError(try model.targetTokenLosses(pairs: [([], [3])], packLength: nil, padTokenId: padTokenId)) { error in
            guard case .invalidInput(let why)? = error as? LlamaError else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("empty prompt"), why)
        }
        XCTAssertThrowsError(try model.targetTokenLosses(pairs: [([3], [99])], packLength: 8, padTokenId: padTokenId)) { error in
            XCTAssertEqual(error as? LlamaError, .tokenOutOfRange(id: 99, vocabularySize: 48))
        }
        XCTAssertThrowsError(try model.targetTokenLosses(pairs: [([3], [4])], packLength: nil, padTokenId: 48))
    }
}
