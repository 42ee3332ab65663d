// The LoRA decoder student on a tiny random model: the reference prompt format, the loss
// against a cross-entropy computed by hand over the target tokens, adapter gradients against
// finite differences, greedy generation (end token, limit, cancellation) and the PEFT round trip.
import Distill
import Foundation
import Models
import NN
import Tensor
import XCTest

final class LlamaLoRAStudentTests: XCTestCase {
    let config = LoRAConfig(rank: 4, alpha: 8, dropout: 0, targets: LoRATarget.allCases)

    /// A student whose adapters have random, non-zero B (as after training).
    func student(seed: UInt64 = 3, lora: LoRAConfig? = nil) throws -> LlamaLoRAStudent {
        let s = try LlamaLoRAStudent(gguf: LlamaLoRAStudentTinyModel.file(), lora: lora ?? config, seed: seed)
        var rng = RNG(seed: seed &+ 100)
        for (name, p) in s.trainableParameters() where name.contains("lora_B") {
            p.assign(rng.uniform(p.shape, low: -0.2, high: 0.2))
        }
        s.setTraining(false)
        return s
    }

    func pair(_ input: String, _ target: String, task: StudentTask = .label) -> TrainingPair {
        TrainingPair(exampleID: ExampleID(split: "train", index: 0), source: task.prefix + input, target: target)
    }

    func testEncodingFollowsTheReferenceFormat() throws {
        let s = try student()
        XCTAssertEqual(s.endTokenID, LlamaLoRAStudentTinyModel.endID)
        XCTAssertEqual(s.endToken, "<|im_end|>")
        let e = try s.encode(pair("Tom has 3 apples.", "3 + 4"), maxSourceTokens: 512, maxTargetTokens: 64)
        XCTAssertEqual(s.tokenizer.decode(e.source + e.target), "label: Tom has 3 apples.\nAnswer: 3 + 4<|im_end|>")
        XCTAssertEqual(s.tokenizer.decode(e.target), " 3 + 4<|im_end|>")
        XCTAssertEqual(e.target.last, s.endTokenID)
        // Limits: the source keeps its answer cue, a cut target loses its end token.
        let cut = try s.encode(pair("Tom has 3 apples.", "3 + 4"), maxSourceTokens: 12, maxTargetTokens: 3)
        XCTAssertEqual(cut.source.count, 12)
        XCTAssertTrue(s.tokenizer.decode(cut.source).hasSuffix("\nAnswer:"))
        XCTAssertEqual(s.tokenizer.decode(cut.target), " 3 ")
        XCTAssertThrowsError(try s.encode(pair("x", "y"), maxSourceTokens: 0, maxTargetTokens: 4))
    }

    func testLossIsTheCrossEntropyOfTargetTokensOnly() throws {
        let s = try student()
        let batch = try [pair("ab", "1 + 2"), pair("a longer question", "7", task: .rationale)].map {
            try s.encode($0, maxSourceTokens: 64, maxTargetTokens: 16)
        }
        XCTAssertNotEqual(batch[0].length, batch[1].length, "the batch should need padding")
        // By hand: each pair alone, unpadded; position t's logits score token t + 1.
        var total = 0.0, count = 0, perPair: [Double] = []
        let v = s.model.config.vocabularySize
        for p in batch {
            let ids = p.source + p.target
            let logits = try Tensor.withoutGrad { try s.model.logits([ids]).scalars }
            var sum = 0.0
            for (j, target) in p.target.enumerated() {
                let row = Array(logits[((p.source.count - 1 + j) * v)..<((p.source.count + j) * v)])
                let top = Double(row.max() ?? 0)
                let lse = top + log(row.reduce(0.0) { $0 + exp(Double($1) - top) })
                sum += lse - Double(row[target])
                count += 1
            }
            total += sum
            perPair.append(sum)
        }
        let expected = total / Double(count)
        let got = try s.loss(batch).item()
        XCTAssertEqual(Double(got), expected, accuracy: 1e-5 * max(1, expected))
        // Rank classification's score of a (source, target) is minus that pair's summed loss,
        // padded or packed.
        let texts = [pair("ab", "1 + 2"), pair("a longer question", "7", task: .rationale)]
        let scores = try s.logLikelihoods(texts.map { (source: $0.source, target: $0.target) })
        for (score, sum) in zip(scores, perPair) { XCTAssertEqual(score, -sum, accuracy: 1e-4 * max(1, sum)) }
        let packed = try Tensor.withoutGrad { try s.targetTokenLosses(batch, packLength: 64) }.scalars
        let padded = try Tensor.withoutGrad { try s.targetTokenLosses(batch, packLength: nil) }.scalars
        XCTAssertEqual(packed.count, padded.count)
        for (a, b) in zip(packed, padded) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b))) }
        XCTAssertThrowsError(try s.loss([])) { XCTAssertEqual($0 as? TrainingError, .noTrainingData("an empty batch")) }
    }

    func testAdapterGradientsMatchFiniteDifferences() throws {
        let s = try student()
        let batch = try [pair("ab", "1 + 2"), pair("cde", "9")].map { try s.encode($0, maxSourceTokens: 64, maxTargetTokens: 16) }
        try s.loss(batch).backward()
        let params = s.trainableParameters()
        XCTAssertEqual(params.count, 2 * 7 * 2)
        for (name, p) in [params[0], params[1], params[9], params[27]] {
            guard let grad = p.grad?.scalars else { return XCTFail("\(name) has no gradient") }
            for index in [0, p.count / 3, p.count - 1] {
                let original = p.scalars
                func lossWith(_ delta: Float) throws -> Double {
                    var values = original
                    values[index] += delta
                    p.assign(values)
                    return Double(try Tensor.withoutGrad { try s.loss(batch).item() })
                }
                let h: Float = 1e-2
                let numeric = Float((try lossWith(h) - lossWith(-h)) / Double(2 * h))
                p.assign(original)
                XCTAssertEqual(grad[index], numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "\(name)[\(index)]")
            }
        }
    }

    func testGenerationIsGreedyStopsAtTheEndTokenAndCanBeCancelled() throws {
        let s = try student(lora: LoRAConfig(rank: 4, alpha: 8, dropout: 0.05))
        // Before training: greedy continuations equal an argmax loop over the float forward.
        let prompt = "label: abc"
        var ids = try s.encode(pair("abc", "x"), maxSourceTokens: 64, maxTargetTokens: 4).source, reference: [Int] = []
        let v = s.model.config.vocabularySize
        for _ in 0..<6 {
            let logits = try Tensor.withoutGrad { try s.model.logits([ids]).scalars }
            let last = Array(logits[((ids.count - 1) * v)...])
            let next = last.indices.max { last[$0] < last[$1] } ?? 0
            if next == s.endTokenID { break }
            reference.append(next)
            ids.append(next)
        }
        let before = try s.generate([prompt], maxNewTokens: 6, cancel: nil)
        XCTAssertEqual(before, [s.tokenizer.decode(reference, skipSpecial: true).trimmingCharacters(in: .whitespaces)])
        // Decoding several sequences together gives each one's own answer.
        let prompts = ["label: abc", "label: a much longer question", "rationale: x"]
        s.generationBatch = 1
        let alone = try s.generate(prompts, maxNewTokens: 6, cancel: nil)
        s.generationBatch = 8
        XCTAssertEqual(try s.generate(prompts, maxNewTokens: 6, cancel: nil), alone)
        XCTAssertEqual(alone[0], before[0])

        // Teach it a short answer: generation then ends at the end token, well before the limit.
        s.setTraining(true)
        let optimizer = AdamW(s.trainableParameters(), learningRate: 2e-2, weightDecay: 0)
        let batch = [try s.encode(pair("abc", "42"), maxSourceTokens: 64, maxTargetTokens: 8)]
        for _ in 0..<40 {
            let loss = try s.loss(batch)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
        }
        s.setTraining(false)
        XCTAssertEqual(try s.generate([prompt, prompt], maxNewTokens: 16, cancel: nil), ["42", "42"])

        let flag = CancellationFlag()
        flag.cancel()
        XCTAssertThrowsError(try s.generate([prompt], maxNewTokens: 4, cancel: flag)) {
            XCTAssertEqual($0 as? TrainingError, .cancelled)
        }
        XCTAssertEqual(try s.generate([prompt], maxNewTokens: 0, cancel: nil), [""])
    }

    func testSaveAndLoadRoundTrip() throws {
        let trained = try student(seed: 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lora-student-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try trained.save(to: dir)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("adapter_model.safetensors").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("adapter_config.json").path))

        let fresh = try student(seed: 8)
        let held = fresh.trainableParameters().map(\.1)
        let batch = [try fresh.encode(pair("ab", "1 + 2"), maxSourceTokens: 64, maxTargetTokens: 16)]
        XCTAssertNotEqual(try fresh.loss(batch).item(), try trained.loss(batch).item())
        _ = try fresh.generate(["label: ab"], maxNewTokens: 3, cancel: nil)   // caches a merged model
        try fresh.load(from: dir)
        // Same values, in the very tensors an optimizer holds.
        for ((name, p), (_, q)) in zip(fresh.trainableParameters(), trained.trainableParameters()) {
            XCTAssertEqual(p.scalars, q.scalars, name)
        }
        XCTAssertTrue(zip(fresh.trainableParameters().map(\.1), held).allSatisfy { $0 === $1 })
        XCTAssertEqual(try fresh.loss(batch).item(), try trained.loss(batch).item())
        XCTAssertEqual(try fresh.generate(["label: ab"], maxNewTokens: 8, cancel: nil),
                       try trained.generate(["label: ab"], maxNewTokens: 8, cancel: nil))

        // Refusals name the problem and leave the student as it was.
        let other = try student(seed: 4, lora: LoRAConfig(rank: 2, alpha: 8, targets: [.q, .v]))
        XCTAssertThrowsError(try other.load(from: dir)) { error in
            guard case .badCheckpoint(_, let reason)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("rank 4"), reason)
        }
        XCTAssertEqual(other.trainableParameters().count, 2 * 2 * 2)
        XCTAssertThrowsError(try fresh.load(from: dir.appendingPathComponent("missing"))) { error in
            guard case .badCheckpoint(_, let reason)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("is missing"), reason)
        }
    }

    func testReseedingRepeatsTheDropoutMasks() throws {
        let s = try student(lora: LoRAConfig(rank: 4, alpha: 8, dropout: 0.3))
        s.setTraining(true)
        let batch = [try s.encode(pair("abc", "12"), maxSourceTokens: 64, maxTargetTokens: 8)]
        s.reseedRandomness(5)
        let first = try Tensor.withoutGrad { try s.loss(batch).item() }
        let second = try Tensor.withoutGrad { try s.loss(batch).item() }
        s.reseedRandomness(5)
        let again = try Tensor.withoutGrad { try s.loss(batch).item() }
        XCTAssertEqual(first, again)
        XCTAssertNotEqual(first, second, "the stream moves on between steps")
        s.setTraining(false)
        let plain = try Tensor.withoutGrad { try s.loss(batch).item() }
        XCTAssertNotEqual(plain, first, "dropout is off in evaluation")
    }

    func testBadSettingsAreErrors() throws {
        XCTAssertThrowsError(try LlamaLoRAStudent(gguf: LlamaLoRAStudentTinyModel.file(), lora: LoRAConfig(rank: 0)))
        XCTAssertThrowsError(try LlamaLoRAStudent(gguf: LlamaLoRAStudentTinyModel.file(), lora: LoRAConfig(targets: [])))
        XCTAssertThrowsError(try LlamaLoRAStudent(ggufPath: "/nonexistent.gguf"))
        let s = try student()
        XCTAssertTrue(s.summary.contains("LoRA r4 α8"), s.summary)
        XCTAssertEqual(s.family, "llama-lora")
    }
}
