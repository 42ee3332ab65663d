// The inference model built from a trainable one with its adapters folded in: logits equal the
// autograd forward at every position, greedy generation equals a greedy loop over the float
// forward, and the trainable model (adapters included) is left untouched.
import Foundation
import Models
import NN
import Tensor
import XCTest

final class LoRAMergedInferenceTests: XCTestCase {
    let ids = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 40, 2]

    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// The tiny model with random, non-zero adapters on every projection.
    func trained(architecture: String, tied: Bool) throws -> (LlamaTrainable, GGUFFile) {
        let file = try LlamaTinyModel.file(architecture: architecture, tied: tied)
        let model = try LlamaTrainable(gguf: file)
        model.addAdapters(LoRAConfig(rank: 4, alpha: 8, dropout: 0.1), seed: 7)
        var rng = RNG(seed: 13)
        for (name, p) in model.adapterParameters() where name.contains("lora_B") {
            p.assign(rng.uniform(p.shape, low: -0.15, high: 0.15))
        }
        model.eval()
        return (model, file)
    }

    func testMergedModelLogitsEqualTrainableLogitsAtEveryPosition() throws {
        for arch in ["llama", "qwen2"] {
            for tied in [true, false] {
                let (model, file) = try trained(architecture: arch, tied: tied)
                let expected = try Tensor.withoutGrad { try model.logits([ids]).scalars }
                let base = try Tensor.withoutGrad { try LlamaTrainable(gguf: file).logits([ids]).scalars }
                XCTAssertGreaterThan(maxAbsDiff(expected, base), 1e-2, "the adapters should matter (\(arch))")

                let merged = try LlamaModel(merging: model, gguf: file)
                // All positions in one batch (sgemm tiles) and one token at a time (matvec).
                let batch = try merged.forward(ids, cache: merged.makeCache(), allLogits: true)
                XCTAssertEqual(batch.count, expected.count)
                XCTAssertLessThan(maxAbsDiff(batch, expected), 1e-4, "\(arch) tied \(tied), one batch")
                let cache = merged.makeCache(), v = merged.config.vocabularySize
                for (i, id) in ids.enumerated() {
                    let step = try merged.forward([id], cache: cache)
                    XCTAssertLessThan(maxAbsDiff(step, Array(expected[(i * v)..<((i + 1) * v)])), 1e-4,
                                      "\(arch) tied \(tied), position \(i)")
                }
                // The trainable model keeps its adapters and its outputs.
                XCTAssertEqual(model.adapterParameters().count, 2 * 7 * 2)
                XCTAssertEqual(try Tensor.withoutGrad { try model.logits([ids]).scalars }, expected)
            }
        }
    }

    func testGreedyGenerationMatchesAFloatReference() throws {
        let (model, file) = try trained(architecture: "llama", tied: true)
        let prompt = [3, 14, 15, 9]
        // Reference: argmax of the autograd forward's last row, re-run over the whole sequence.
        var sequence = prompt, reference: [Int] = []
        for _ in 0..<20 {
            let logits = try Tensor.withoutGrad { try model.logits([sequence]).scalars }
            let v = model.config.vocabularySize
            let last = Array(logits[((sequence.count - 1) * v)...])
            let next = last.indices.max { last[$0] < last[$1] } ?? 0
            reference.append(next)
            sequence.append(next)
        }
        let generator = LlamaGenerator(model: try LlamaModel(merging: model, gguf: file))
        let result = try generator.generate(promptTokens: prompt,
                                            parameters: GenerationParameters(maxTokens: 20, stopAtEndOfSequence: false))
        XCTAssertEqual(result.tokens, reference)
        XCTAssertGreaterThan(Set(reference).count, 1, "a constant continuation would prove little")
    }

    func testBatchedDecodingMatchesOneSequenceAtATime() throws {
        for arch in ["llama", "qwen2"] {
            let (trainable, file) = try trained(architecture: arch, tied: false)
            let model = try LlamaModel(merging: trainable, gguf: file)
            let prompts = [[3, 14, 15], [9, 26, 5, 35, 8, 9], [40]]
            let continuations = [[7, 1, 2, 3], [4, 4, 10, 11], [30, 31, 0, 46]]
            let v = model.config.vocabularySize
            var expected: [[Float]] = []        // per step, the rows of every sequence
            var singles = [LlamaKVCache](), batched = [LlamaKVCache]()
            for p in prompts {
                let a = model.makeCache(capacity: 16), b = model.makeCache(capacity: 16)
                _ = try model.forward(p, cache: a)
                _ = try model.forward(p, cache: b)
                singles.append(a)
                batched.append(b)
            }
            for step in 0..<4 {
                expected = try prompts.indices.map { try model.forward([continuations[$0][step]], cache: singles[$0]) }
                let got = try model.forward(next: prompts.indices.map { continuations[$0][step] }, caches: batched)
                for i in prompts.indices {
                    XCTAssertLessThan(maxAbsDiff(Array(got[(i * v)..<((i + 1) * v)]), expected[i]), 1e-4, "\(arch) step \(step) sequence \(i)")
                }
            }
            XCTAssertEqual(batched.map(\.count), prompts.map { $0.count + 4 })
            XCTAssertThrowsError(try model.forward(next: [1, 2], caches: [batched[0], batched[0]]))
            XCTAssertThrowsError(try model.forward(next: [1], caches: [model.makeCache(capacity: 0)]))
        }
    }

    func testAMismatchedFileIsAnError() throws {
        let (model, _) = try trained(architecture: "llama", tied: true)
        guard let other = RealModel.require() else { return }
        XCTAssertThrowsError(try LlamaModel(merging: model, gguf: other)) {
            XCTAssertTrue("\($0)".contains("another shape"), "\($0)")
        }
    }
}
