// T5 built from scratch: preset shapes and parameter counts, training with dropout reduces the
// loss and is reproducible from a seed, batches pad correctly, bad input throws, and generation
// honours its token limit and cancellation and samples reproducibly from a seed.

import Foundation
import Models
import NN
import Tensor
import XCTest

final class T5ModelTests: XCTestCase {
    func testSmallPresetHasT5SmallsParameters() throws {
        let model = try T5Model(T5Config.preset(.small, vocabSize: 32128))
        XCTAssertEqual(model.parameterCount, 60_506_624, "t5-small's count in transformers")
        let names = Set(model.namedParameters().map(\.0))
        for name in ["shared.weight", "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                     "encoder.block.5.layer.1.DenseReluDense.wo.weight", "encoder.final_layer_norm.weight",
                     "decoder.block.0.layer.1.EncDecAttention.k.weight", "decoder.block.5.layer.2.DenseReluDense.wi.weight",
                     "decoder.block.0.layer.0.layer_norm.weight"] {
            XCTAssertTrue(names.contains(name), name)
        }
        XCTAssertFalse(names.contains("lm_head.weight"), "t5-small ties its head")
        XCTAssertFalse(names.contains("decoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"))
    }

    func testTinyPresetIsGatedAndUntied() throws {
        let model = try T5Model(T5Config.preset(.tiny, vocabSize: 40))
        let names = Set(model.namedParameters().map(\.0))
        XCTAssertTrue(names.contains("lm_head.weight"))
        XCTAssertTrue(names.contains("decoder.block.1.layer.2.DenseReluDense.wi_0.weight"))
        XCTAssertTrue(names.contains("decoder.block.1.layer.2.DenseReluDense.wi_1.weight"))
        XCTAssertEqual(model.feedForwardKind, .gatedGelu)
    }

    /// A copy task: the target is the input reversed plus eos.
    func copyBatch() throws -> T5Batch {
        let inputs = [[5, 6, 7, 8, 1], [9, 10, 11, 1], [12, 13, 14, 15, 16, 1], [17, 5, 9, 1]]
        let targets = inputs.map { Array($0.dropLast().reversed()) + [1] }
        return try T5Batch(inputs: inputs, targets: targets)
    }

    func trainTiny(seed: UInt64, steps: Int) throws -> [Float] {
        let model = try T5Model(T5Config.preset(.tiny, vocabSize: 20), seed: seed)
        let optimizer = AdamW(model.trainableParameters(), learningRate: 3e-3, weightDecay: 0)
        let batch = try copyBatch()
        var losses: [Float] = []
        for _ in 0..<steps {
            optimizer.zeroGrad()
            let loss = try model.loss(inputIds: batch.inputIds, attentionMask: batch.attentionMask,
                                      labels: try XCTUnwrap(batch.labels))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        }
        return losses
    }

    func testTrainingWithDropoutReducesLossAndIsReproducible() throws {
        let losses = try trainTiny(seed: 11, steps: 25)
        let first = try XCTUnwrap(losses.first), last = try XCTUnwrap(losses.last)
        XCTAssertLessThan(last, first * 0.5, "loss \(first) -> \(last)")
        XCTAssertEqual(try trainTiny(seed: 11, steps: 3), Array(losses.prefix(3)), "same seed, same losses")
    }

    func testBatchPadsInputsAndLabels() throws {
        let batch = try copyBatch()
        XCTAssertEqual(batch.inputIds.shape, [4, 6])
        XCTAssertEqual(batch.attentionMask.indexScalars.prefix(6), [1, 1, 1, 1, 1, 0])
        XCTAssertEqual(batch.labels?.shape, [4, 6])
        XCTAssertEqual(batch.labels?.indexScalars.prefix(6), [8, 7, 6, 5, 1, -100])
        let model = try T5Model(T5Config.preset(.tiny, vocabSize: 20))
        XCTAssertEqual(try model.shiftRight(try XCTUnwrap(batch.labels)).indexScalars.prefix(6), [0, 8, 7, 6, 5, 1])
        XCTAssertThrowsError(try T5Batch(inputs: [[]]))
        XCTAssertThrowsError(try T5Batch(inputs: [[3, 1 << 40]]))
        XCTAssertThrowsError(try T5Batch(inputs: [[3]], targets: [[-5]]))
    }

    func testBadInputThrowsTypedErrors() throws {
        let model = try T5Model(T5Config.preset(.tiny, vocabSize: 20))
        let outOfVocab = Tensor(indices: [3, 25], shape: [1, 2])
        XCTAssertThrowsError(try model.encode(outOfVocab)) { XCTAssertTrue("\($0)".contains("25"), "\($0)") }
        let ids = Tensor(indices: [3, 4], shape: [1, 2])
        XCTAssertThrowsError(try model.loss(inputIds: ids, labels: Tensor(indices: [3, 99], shape: [1, 2])))
        XCTAssertThrowsError(try model.encode(ids, attentionMask: Tensor(indices: [1, 1, 1], shape: [1, 3])))
        XCTAssertThrowsError(try model.generate(inputIds: ids, maxNewTokens: 0))
    }

    func testSampledGenerationIsSeededAndTopKOneIsGreedy() throws {
        let model = try T5Model(T5Config.preset(.tiny, vocabSize: 20), seed: 5)
        let batch = try copyBatch()
        func run(_ temperature: Float, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) throws -> [[Int]] {
            try model.generate(inputIds: batch.inputIds, attentionMask: batch.attentionMask, maxNewTokens: 8,
                               eosTokenId: 19, temperature: temperature, topK: topK, topP: topP, seed: seed)
        }
        let greedy = try run(0)
        let sampled = try run(3, seed: 7)
        XCTAssertEqual(try run(3, seed: 7), sampled, "same seed, same tokens")
        XCTAssertNotEqual(try run(3, seed: 8), sampled, "another seed draws other tokens at temperature 3")
        XCTAssertNotEqual(sampled, greedy, "temperature 3 over 20 tokens is not greedy")
        XCTAssertTrue(sampled.allSatisfy { $0.allSatisfy { (0..<20).contains($0) } })
        XCTAssertEqual(try run(3, topK: 1, seed: 7), greedy, "top-1 sampling is greedy")
        XCTAssertEqual(try run(3, topP: 1e-6, seed: 9), greedy, "a vanishing nucleus keeps only the top token")
        XCTAssertThrowsError(try run(-1))
        XCTAssertThrowsError(try run(.nan))
        XCTAssertThrowsError(try run(1, topK: -2))
        XCTAssertThrowsError(try run(1, topP: 0))
        XCTAssertThrowsError(try run(1, topP: 1.5))
    }

    func testGenerationStopsAtLimitAndOnCancel() throws {
        let model = try T5Model(T5Config.preset(.tiny, vocabSize: 20), seed: 5)
        let batch = try copyBatch()
        let rows = try model.generate(inputIds: batch.inputIds, attentionMask: batch.attentionMask, maxNewTokens: 4,
                                      eosTokenId: 19)
        XCTAssertEqual(rows.count, 4)
        XCTAssertTrue(rows.allSatisfy { $0.count <= 4 && !$0.isEmpty })
        var calls = 0
        XCTAssertThrowsError(try model.generate(inputIds: batch.inputIds, attentionMask: batch.attentionMask, maxNewTokens: 10,
                                                shouldStop: { calls += 1; return calls > 2 })) { error in
            guard case T5Error.cancelled(let partial)? = error as? T5Error else { return XCTFail("\(error)") }
            XCTAssertTrue(partial.allSatisfy { $0.count <= 2 })
        }
    }
}
