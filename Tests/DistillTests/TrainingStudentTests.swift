// The T5 student and the trainer's arithmetic: encoding, the loss really drops on a toy task,
// step-by-step's loss is the alpha-weighted sum of the two task losses, gradient accumulation
// equals one big batch, batched generation equals one-by-one, and a saved folder loads back.
import Distill
import Foundation
import Models
import Tensor
import XCTest

final class TrainingStudentTests: XCTestCase {
    func testEncodingAppendsEndOfSequenceAndTruncates() throws {
        let data = try TrainingFixtures.stepByStepData(count: 8)
        let student = try TrainingFixtures.student(data)
        let pair = TrainingFixtures.pairs(data, .label)[0]
        let full = try student.encode(pair, maxSourceTokens: 512, maxTargetTokens: 64)
        XCTAssertEqual(full.source.last, 1)
        XCTAssertEqual(full.target.last, 1)
        XCTAssertEqual(student.tokenizer.decode(Array(full.target.dropLast())), pair.target)
        XCTAssertEqual(student.tokenizer.decode(Array(full.source.dropLast())), pair.source)
        let cut = try student.encode(pair, maxSourceTokens: 4, maxTargetTokens: 2)
        XCTAssertEqual(cut.source, Array(full.source.prefix(3)) + [1])
        XCTAssertEqual(cut.target, Array(full.target.prefix(2)))
        XCTAssertThrowsError(try student.encode(pair, maxSourceTokens: 1, maxTargetTokens: 2))
    }

    func testLossDropsOverThirtyStepsOnAToyTask() throws {
        let (examples, _) = try TrainingFixtures.synthetic(count: 64)
        let data = try Recipe.finetune(maskNumbers: true).prepare(examples, kind: .equation)
        let student = try TrainingFixtures.student(data)
        let trainer = try TrainingFixtures.trainer(student, data, validation: [], config: TrainerConfig(steps: 30, batchSize: 16, learningRate: 3e-3, seed: 1))
        let result = try trainer.train()
        XCTAssertEqual(result.steps, 30)
        XCTAssertEqual(result.stopReason, .finished)
        let first = result.losses.prefix(3).map(\.loss).reduce(0, +) / 3
        let last = result.losses.suffix(3).map(\.loss).reduce(0, +) / 3
        XCTAssertGreaterThan(first, log(Double(student.model.config.vocabSize)) * 0.7, "starts near chance")
        XCTAssertLessThan(last, first * 0.5, "the loss fell from \(first) to only \(last)")
        XCTAssertEqual(result.examplesSeen, 30 * 16)
        XCTAssertTrue(result.losses.allSatisfy { $0.tokensPerSecond > 0 && $0.rationaleLoss == nil })
    }

    func testStepByStepLossIsTheAlphaWeightedSumOfBothTaskLosses() throws {
        let data = try TrainingFixtures.stepByStepData(count: 12, alpha: 0.3)
        let student = try TrainingFixtures.student(data, dropout: 0)
        let config = TrainerConfig(steps: 1, batchSize: 12, maxSourceTokens: 256, maxTargetTokens: 64, maxRationaleTokens: 128)
        let trainer = try TrainingFixtures.trainer(student, data, validation: [], config: config)
        let combined = try trainer.loss(draws: TrainingFixtures.draws(12), backward: false)
        let labels = try TrainingFixtures.pairs(data, .label).map { try student.encode($0, maxSourceTokens: 256, maxTargetTokens: 64) }
        let rationales = try TrainingFixtures.pairs(data, .rationale).map { try student.encode($0, maxSourceTokens: 256, maxTargetTokens: 128) }
        XCTAssertEqual(rationales.count, 12)
        let label = try TrainingFixtures.meanLoss(student, labels)
        let rationale = try TrainingFixtures.meanLoss(student, rationales)
        XCTAssertEqual(combined.labelLoss, label, accuracy: 1e-5)
        XCTAssertEqual(combined.rationaleLoss ?? .nan, rationale, accuracy: 1e-5)
        XCTAssertEqual(combined.loss, 0.3 * label + 0.7 * rationale, accuracy: 1e-5)
        XCTAssertNotEqual(label, rationale, accuracy: 1e-3, "the two tasks must differ for the test to mean something")
    }

    func testTwoAccumulatedHalfBatchesGiveTheGradientsOfOneBatch() throws {
        let data = try TrainingFixtures.stepByStepData(count: 16)
        let student = try TrainingFixtures.student(data, dropout: 0)
        func gradients(accumulation: Int) throws -> (StepLoss, [[Float]]) {
            let trainer = try TrainingFixtures.trainer(student, data, validation: [], config: TrainerConfig(steps: 1, batchSize: 16 / accumulation, gradientAccumulation: accumulation))
            student.trainableParameters().forEach { $0.1.grad = nil }
            let loss = try trainer.loss(draws: TrainingFixtures.draws(16), backward: true)
            let grads = student.trainableParameters().map { $0.1.grad?.scalars ?? [] }
            student.trainableParameters().forEach { $0.1.grad = nil }
            return (loss, grads)
        }
        let (one, whole) = try gradients(accumulation: 1)
        let (two, halves) = try gradients(accumulation: 2)
        XCTAssertEqual(one.loss, two.loss, accuracy: 1e-5)
        XCTAssertEqual(whole.count, halves.count)
        var largest: Float = 0
        for (a, b) in zip(whole, halves) {
            XCTAssertEqual(a.count, b.count)
            XCTAssertFalse(a.isEmpty, "every parameter gets a gradient")
            for (x, y) in zip(a, b) {
                XCTAssertEqual(x, y, accuracy: 1e-5)
                largest = max(largest, abs(x))
            }
        }
        XCTAssertGreaterThan(largest, 1e-3, "gradients are not trivially zero")
    }

    func testBatchedGenerationEqualsOneByOne() throws {
        let data = try TrainingFixtures.stepByStepData(count: 6)
        let student = try TrainingFixtures.student(data, dropout: 0)
        let sources = TrainingFixtures.pairs(data, .label).map(\.source)
        let batched = try student.generate(sources, maxNewTokens: 12, cancel: nil)
        let single = try sources.map { try student.generate([$0], maxNewTokens: 12, cancel: nil)[0] }
        XCTAssertEqual(batched, single)
        let flag = CancellationFlag()
        flag.cancel()
        XCTAssertThrowsError(try student.generate(sources, maxNewTokens: 12, cancel: flag)) {
            XCTAssertEqual($0 as? TrainingError, .cancelled)
        }
    }

    func testSavedFolderLoadsBackAsAHuggingFaceStudent() throws {
        let data = try TrainingFixtures.stepByStepData(count: 8)
        let student = try TrainingFixtures.student(data, dropout: 0.1)
        let folder = try TrainingFixtures.temporaryFolder("t5-save")
        defer { try? FileManager.default.removeItem(at: folder) }
        try student.save(to: folder)
        for name in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), name)
        }
        let loaded = try T5Student(huggingFace: folder)
        XCTAssertEqual(loaded.model.config, student.model.config)
        XCTAssertTrue(TrainingFixtures.weights(loaded) == TrainingFixtures.weights(student), "the same weights")
        let pair = TrainingFixtures.pairs(data, .rationale)[3]
        XCTAssertEqual(try loaded.encode(pair, maxSourceTokens: 512, maxTargetTokens: 256),
                       try student.encode(pair, maxSourceTokens: 512, maxTargetTokens: 256), "the tokenizer.json round-trips")
        let sources = TrainingFixtures.pairs(data, .label).map(\.source)
        XCTAssertEqual(try loaded.generate(sources, maxNewTokens: 8, cancel: nil),
                       try student.generate(sources, maxNewTokens: 8, cancel: nil))

        let other = try TrainingFixtures.student(data, dropout: 0.1, seed: 99)
        XCTAssertFalse(TrainingFixtures.weights(other) == TrainingFixtures.weights(student))
        try other.load(from: folder)
        XCTAssertTrue(TrainingFixtures.weights(other) == TrainingFixtures.weights(student), "load(from:) restores the weights")
    }
}
