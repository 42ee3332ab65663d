// The trainable Llama and its LoRA adapters on a tiny random model: the autograd forward equals
// the quantised-path forward, adapter gradients equal finite differences, merging keeps logits,
// adapters survive a PEFT-format save/load, and a few steps reduce one example's loss.
import Foundation
import Models
import NN
import Tensor
import XCTest

final class LoRATests: XCTestCase {
    let ids = [[3, 14, 15, 9, 26, 5, 35, 8, 9, 7]]

    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func testTrainableForwardMatchesInferenceForward() throws {
        for arch in ["llama", "qwen2"] {
            for tied in [true, false] {
                let file = try LlamaTinyModel.file(architecture: arch, tied: tied)
                let inference = try LlamaModel(gguf: file)
                let trainable = try LlamaTrainable(gguf: file)
                let expected = try inference.forward(ids[0], cache: inference.makeCache(), allLogits: true)
                let got = Tensor.withoutGrad { (try? trainable.logits(ids))?.scalars ?? [] }
                XCTAssertEqual(got.count, expected.count)
                XCTAssertLessThan(maxAbsDiff(got, expected), 1e-4, "\(arch) tied \(tied)")
            }
        }
    }

    func testKVCacheStepsMatchOneBatch() throws {
        let model = try LlamaModel(gguf: LlamaTinyModel.file())
        let v = model.config.vocabularySize
        let batch = try model.forward(ids[0], cache: model.makeCache(), allLogits: true)
        let cache = model.makeCache()
        for (i, id) in ids[0].enumerated() {
            let step = try model.forward([id], cache: cache)
            XCTAssertLessThan(maxAbsDiff(step, Array(batch[(i * v)..<((i + 1) * v)])), 1e-4, "position \(i)")
        }
        XCTAssertThrowsError(try model.forward([99], cache: cache)) { XCTAssertEqual($0 as? LlamaError, .tokenOutOfRange(id: 99, vocabularySize: v)) }
        XCTAssertThrowsError(try model.forward([1], cache: model.makeCache(capacity: 0)))
    }

    func testAdapterGradientsMatchFiniteDifferences() throws {
        let model = try LlamaTrainable(gguf: LlamaTinyModel.file())
        let config = LoRAConfig(rank: 2, alpha: 4, targets: [.q, .k, .v, .down])
        model.addAdapters(config, seed: 3)
        // B starts at zero; make it non-zero so A's gradient is too.
        var rng = RNG(seed: 9)
        for (name, p) in model.adapterParameters() where name.contains("lora_B") {
            p.assign(rng.uniform(p.shape, low: -0.2, high: 0.2))
        }
        let prompt = [3, 14, 15], target = [9, 26, 5, 35]
        let loss = try model.causalLMLoss(prompt: prompt, target: target)
        loss.backward()
        for (name, p) in model.adapterParameters().prefix(8) {
            guard let grad = p.grad?.scalars else { return XCTFail("\(name) has no gradient") }
            for index in [0, p.count / 2, p.count - 1] {
                let original = p.scalars
                func lossWith(_ delta: Float) throws -> Float {
                    var values = original
                    values[index] += delta
                    p.assign(values)
                    return try Tensor.withoutGrad { try model.causalLMLoss(prompt: prompt, target: target).item() }
                }
                let h: Float = 1e-2
                let numeric = (try lossWith(h) - lossWith(-h)) / (2 * h)
                p.assign(original)
                XCTAssertEqual(grad[index], numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "\(name)[\(index)]")
            }
        }
        // The base weights are frozen.
        XCTAssertTrue(model.trainableParameters().allSatisfy { $0.0.contains(".lora_") })
    }

    /// A model with trained-looking (random, non-zero) adapters.
    func modelWithAdapters(_ config: LoRAConfig) throws -> LlamaTrainable {
        let model = try LlamaTrainable(gguf: LlamaTinyModel.file())
        model.addAdapters(config, seed: 5)
        var rng = RNG(seed: 11)
        for (name, p) in model.adapterParameters() where name.contains("lora_B") {
            p.assign(rng.uniform(p.shape, low: -0.1, high: 0.1))
        }
        model.eval()
        return model
    }

    func testMergedAdaptersGiveTheSameLogits() throws {
        let model = try modelWithAdapters(LoRAConfig(rank: 4, alpha: 8, dropout: 0.1))
        let before = try Tensor.withoutGrad { try model.logits(ids).scalars }
        let base = try Tensor.withoutGrad { try LlamaTrainable(gguf: LlamaTinyModel.file()).logits(ids).scalars }
        XCTAssertGreaterThan(maxAbsDiff(before, base), 1e-3, "adapters should change the logits")
        model.mergeAdapters()
        XCTAssertTrue(model.adapterParameters().isEmpty)
        let after = try Tensor.withoutGrad { try model.logits(ids).scalars }
        XCTAssertLessThan(maxAbsDiff(before, after), 1e-4)
    }

    func testAdaptersSaveAndLoadInPEFTFormat() throws {
        let config = LoRAConfig(rank: 2, alpha: 16, targets: [.q, .k, .o, .up])
        let model = try modelWithAdapters(config)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try model.saveAdapters(to: dir, config: config, baseModel: "HuggingFaceTB/SmolLM2-135M-Instruct")

        let file = try SafetensorsFile(contentsOf: dir.appendingPathComponent(LlamaTrainable.adapterWeightsFile))
        XCTAssertEqual(file.names.count, 2 * 4 * 2)
        XCTAssertTrue(file.names.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"))
        XCTAssertTrue(file.names.contains("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent(LlamaTrainable.adapterConfigFile))) as? [String: Any]
        XCTAssertEqual(json?["r"] as? Int, 2)
        XCTAssertEqual(json?["peft_type"] as? String, "LORA")

        let loaded = try LlamaTrainable(gguf: LlamaTinyModel.file())
        XCTAssertEqual(try loaded.loadAdapters(from: dir), config)
        loaded.eval()
        let expected = try Tensor.withoutGrad { try model.logits(ids).scalars }
        let got = try Tensor.withoutGrad { try loaded.logits(ids).scalars }
        XCTAssertLessThan(maxAbsDiff(expected, got), 1e-6)
        // Q's B rows are saved in Hugging Face's head layout, so the file differs from memory.
        let savedB = try file.tensor("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight").scalars
        XCTAssertNotEqual(savedB, model.layers[0].qProj.loraB?.scalars)
        XCTAssertEqual(savedB.sorted(), model.layers[0].qProj.loraB?.scalars.sorted())
        // A missing directory is an error, not a crash.
        XCTAssertThrowsError(try loaded.loadAdapters(from: dir.appendingPathComponent("nope")))
    }

    func testLoRAStepsReduceTheExampleLoss() throws {
        let model = try LlamaTrainable(gguf: LlamaTinyModel.file())
        model.addAdapters(LoRAConfig(rank: 4, alpha: 8), seed: 1)
        let optimizer = AdamW(model.adapterParameters(), learningRate: 1e-2, weightDecay: 0)
        let prompt = [3, 14, 15, 9], target = [26, 5, 35, 8, 47]
        var losses: [Float] = []
        for _ in 0..<8 {
            let loss = try model.causalLMLoss(prompt: prompt, target: target)
            losses.append(loss.item())
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
        }
        print("LoRA losses: \(losses)")
        XCTAssertLessThan(losses.last ?? .infinity, 0.7 * losses[0])
        XCTAssertThrowsError(try model.causalLMLoss(ids: [[1, 2]], labels: [[-100, -100]]))
    }
}

/// SmolLM2-135M-Instruct as a student: its dequantised Float32 weights give the quantised
/// path's logits, and LoRA steps on one example reduce that example's loss.
final class LoRARealModelTests: XCTestCase {
    func testSmolLM2StudentMatchesTeacherAndLearns() throws {
        guard let file = RealModel.require() else { return }
        let teacher = try LlamaModel(gguf: file)
        let student = try LlamaTrainable(gguf: file)
        let prompt = teacher.tokenizer.encode("label: 3 apples and 4 more\nAnswer:", parseSpecial: true)
        let target = teacher.tokenizer.encode(" 3 + 4<|im_end|>", parseSpecial: true)
        let expected = try teacher.forward(prompt, cache: teacher.makeCache(capacity: 64), allLogits: true)
        let got = try Tensor.withoutGrad { try student.logits([prompt]).scalars }
        let diff = zip(got, expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        print("SmolLM2 student vs teacher: max |Δlogit| \(diff)")
        // Measured 8.5e-5: the same weights, summed in another order (sgemm against dot kernels).
        XCTAssertLessThan(diff, 1e-3)

        student.addAdapters(LoRAConfig(rank: 8, alpha: 16, targets: [.q, .v]), seed: 1)
        XCTAssertEqual(student.adapterParameters().count, 30 * 2 * 2)
        let optimizer = AdamW(student.adapterParameters(), learningRate: 1e-3, weightDecay: 0)
        var losses: [Float] = []
        for _ in 0..<3 {
            let loss = try student.causalLMLoss(prompt: prompt, target: target)
            losses.append(loss.item())
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
        }
        losses.append(try Tensor.withoutGrad { try student.causalLMLoss(prompt: prompt, target: target).item() })
        print("SmolLM2 LoRA losses: \(losses)")
        XCTAssertLessThan(losses[3], losses[0])
    }
}
