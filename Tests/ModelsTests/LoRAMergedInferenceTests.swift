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

    func testAMismatchedFileIsAnError() throws {
        let (model, _) = try trained(architecture: "llama", tied: true)
        guard let other = RealModel.require() else { return }
        XCTAssertThrowsError(try LlamaModel(merging: model, gguf: other)) {
            XCTAssertTrue("\($0)".contains("another shape"), "\($0)")
        }
    }
}
