// Checkpoints and control: 10 steps + resume + 10 steps equals 20 straight steps, a failed write
// leaves no half folder, a corrupt file is named, cancellation keeps the last completed step,
// early stopping restores the best weights, and a NaN loss is an error.
import Distill
import Foundation
import Models
import Tensor
import XCTest

final class TrainingCheckpointTests: XCTestCase {
    private func setup(dropout: Float = 0.1, config: TrainerConfig, validation: [Example] = []) throws -> (T5Student, Trainer) {
        let data = try TrainingFixtures.stepByStepData(count: 40)
        let student = try TrainingFixtures.student(data, dropout: dropout)
        let trainer = try TrainingFixtures.trainer(student, data, validation: validation, config: config)
        return (student, trainer)
    }

    func testTenStepsResumeTenStepsEqualsTwentyStraightSteps() throws {
        let folder = try TrainingFixtures.temporaryFolder("resume")
        defer { try? FileManager.default.removeItem(at: folder) }
        // 16 items per step over 40 items: epochs end mid-run, so the batch position must survive too.
        var config = TrainerConfig(steps: 20, batchSize: 8, gradientAccumulation: 2, learningRate: 2e-3,
                                   warmupSteps: 3, schedule: .linear, seed: 5)
        let (straightStudent, straight) = try setup(config: config)
        let reference = try straight.train()

        config.checkpointDirectory = folder.path
        config.checkpointEvery = 10
        // The first run is interrupted after step 10 (as Ctrl-C would), so its schedule is the 20-step one.
        let flag = CancellationFlag()
        let (_, first) = try setup(config: config)
        let stopped = try first.train(cancel: flag) { event in
            if case .step(let record) = event, record.step == 10 { flag.cancel() }
        }
        XCTAssertEqual(stopped.stopReason, .cancelled)
        let checkpoint = folder.appendingPathComponent("last")
        for name in ["config.json", "model.safetensors", "tokenizer.json", "optimizer.safetensors", "trainer_state.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent(name).path), name)
        }
        XCTAssertEqual(try TrainerCheckpoint.readState(from: checkpoint).step, 10)

        let (resumedStudent, resumed) = try setup(config: config)
        try resumed.resume(from: folder)
        XCTAssertEqual(resumed.state.step, 10)
        let result = try resumed.train()
        XCTAssertEqual(result.steps, 20)
        XCTAssertEqual(result.losses.map(\.loss), reference.losses.map(\.loss))
        XCTAssertEqual(result.losses.map(\.rationaleLoss), reference.losses.map(\.rationaleLoss))
        XCTAssertEqual(result.losses.map(\.learningRate), reference.losses.map(\.learningRate))
        XCTAssertTrue(TrainingFixtures.weights(resumedStudent) == TrainingFixtures.weights(straightStudent), "the same final weights")
    }

    func testAFailedWriteLeavesThePreviousCheckpointAndNoHalfFolder() throws {
        let folder = try TrainingFixtures.temporaryFolder("atomic")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try TrainingFixtures.stepByStepData(count: 16)
        let faulty = FaultyStudent(try TrainingFixtures.student(data))
        let trainer = try TrainingFixtures.trainer(faulty, data, validation: [], config: TrainerConfig(steps: 2, batchSize: 8))
        let last = folder.appendingPathComponent("last")
        try trainer.saveCheckpoint(to: last)
        let before = try Data(contentsOf: last.appendingPathComponent("model.safetensors"))
        _ = try trainer.train()
        faulty.failSave = true
        XCTAssertThrowsError(try trainer.saveCheckpoint(to: last)) { error in
            guard case .badCheckpoint(let path, _)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, last.path)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["last"])
        XCTAssertEqual(try Data(contentsOf: last.appendingPathComponent("model.safetensors")), before)
        XCTAssertEqual(try TrainerCheckpoint.readState(from: last).step, 0)
    }

    func testACorruptCheckpointFileIsNamed() throws {
        let folder = try TrainingFixtures.temporaryFolder("corrupt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (_, trainer) = try setup(config: TrainerConfig(steps: 2, batchSize: 8, checkpointDirectory: folder.path))
        _ = try trainer.train()
        let last = folder.appendingPathComponent("last")
        for name in ["optimizer.safetensors", "model.safetensors", "trainer_state.json"] {
            let url = last.appendingPathComponent(name)
            let original = try Data(contentsOf: url)
            try original.prefix(original.count / 2).write(to: url)
            let (_, fresh) = try setup(config: TrainerConfig(steps: 4, batchSize: 8, checkpointDirectory: folder.path))
            XCTAssertThrowsError(try fresh.resume(from: folder), name) { error in
                guard case .badCheckpoint(let path, let reason)? = error as? TrainingError else { return XCTFail("\(error)") }
                XCTAssertEqual(path, url.path, reason)
            }
            try original.write(to: url)
        }
        let (_, other) = try setup(config: TrainerConfig(steps: 4, batchSize: 4, checkpointDirectory: folder.path))
        XCTAssertThrowsError(try other.resume(from: folder)) { error in
            guard case .badCheckpoint(let path, let reason)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("trainer_state.json") && reason.contains("batch 8"), reason)
        }
        XCTAssertThrowsError(try other.resume(from: folder.appendingPathComponent("nothing-here")))
    }

    func testAnEditedStepInTheTrainerStateIsRefused() throws {
        let folder = try TrainingFixtures.temporaryFolder("edited-step")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (_, trainer) = try setup(config: TrainerConfig(steps: 2, batchSize: 8, checkpointDirectory: folder.path))
        _ = try trainer.train()
        let url = folder.appendingPathComponent("last").appendingPathComponent(TrainerCheckpoint.stateFile)
        let original = try Data(contentsOf: url)
        for (field, value) in [("step", 1_000_000_000_000_000_000), ("step", 1), ("epoch", 1_000_000_000_000_000_000), ("step", 3)] {
            var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: original) as? [String: Any])
            object[field] = value
            try JSONSerialization.data(withJSONObject: object).write(to: url)
            let (_, fresh) = try setup(config: TrainerConfig(steps: 4, batchSize: 8, checkpointDirectory: folder.path))
            XCTAssertThrowsError(try fresh.resume(from: folder), "\(field) = \(value)") { error in
                guard case .badCheckpoint(let path, let reason)? = error as? TrainingError else { return XCTFail("\(error)") }
                XCTAssertEqual(path, url.path)
                XCTAssertTrue(reason.contains("edited or damaged") || reason.contains("does not fit"), reason)
            }
        }
        try original.write(to: url)
        let (_, fresh) = try setup(config: TrainerConfig(steps: 4, batchSize: 8, checkpointDirectory: folder.path))
        XCTAssertNoThrow(try fresh.resume(from: folder))
        XCTAssertEqual(fresh.state.step, 2)
    }

    func testCancellationKeepsTheLastCompletedStep() throws {
        let flag = CancellationFlag()
        let (student, trainer) = try setup(config: TrainerConfig(steps: 50, batchSize: 8, seed: 2))
        let result = try trainer.train(cancel: flag) { event in
            if case .step(let record) = event, record.step == 3 { flag.cancel() }
        }
        XCTAssertEqual(result.stopReason, .cancelled)
        XCTAssertEqual(result.steps, 3)
        XCTAssertEqual(result.losses.count, 3)
        let (reference, straight) = try setup(config: TrainerConfig(steps: 3, batchSize: 8, seed: 2))
        _ = try straight.train()
        XCTAssertTrue(TrainingFixtures.weights(student) == TrainingFixtures.weights(reference), "the weights of the reference run")
    }

    func testCancellationDuringEvaluationStopsThere() throws {
        let flag = CancellationFlag()
        let (validation, _) = try TrainingFixtures.synthetic(count: 40, seed: 9, split: "valid")
        let (_, trainer) = try setup(config: TrainerConfig(steps: 50, batchSize: 8, evalEvery: 2, evalBatchSize: 4, seed: 2),
                                     validation: validation)
        var events: [String] = []
        let result = try trainer.train(cancel: flag) { event in
            switch event {
            case .evaluationStarted: flag.cancel(); events.append("eval")
            case .evaluation: events.append("evaluated")
            case .step: events.append("step")
            default: break
            }
        }
        XCTAssertEqual(result.stopReason, .cancelled)
        XCTAssertEqual(result.steps, 2)
        XCTAssertEqual(events, ["step", "step", "eval"])
        XCTAssertTrue(result.evaluations.isEmpty)
    }

    func testEarlyStoppingRestoresTheBestWeights() throws {
        // Gold labels no untrained model can produce: every evaluation scores 0, so only the
        // first one is "best" and patience 2 stops after the third.
        let (raw, _) = try TrainingFixtures.synthetic(count: 4, seed: 9, split: "valid")
        let validation = raw.map { example -> Example in
            var changed = example
            changed.label = "(123456 * 7)"
            return changed
        }
        let folder = try TrainingFixtures.temporaryFolder("best")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = TrainerConfig(steps: 40, batchSize: 8, evalEvery: 2, maxNewTokens: 4, patience: 2,
                                   checkpointDirectory: folder.path, seed: 3)
        let (student, trainer) = try setup(dropout: 0, config: config, validation: validation)
        let result = try trainer.train()
        XCTAssertEqual(result.stopReason, .earlyStopped)
        XCTAssertEqual(result.steps, 6)
        XCTAssertEqual(result.evaluations.map(\.step), [2, 4, 6])
        XCTAssertEqual(result.evaluations.map(\.accuracy), [0, 0, 0])
        XCTAssertEqual(result.bestStep, 2)
        XCTAssertTrue(result.restoredBest)
        let (reference, straight) = try setup(dropout: 0, config: TrainerConfig(steps: 2, batchSize: 8, seed: 3))
        _ = try straight.train()
        XCTAssertTrue(TrainingFixtures.weights(student) == TrainingFixtures.weights(reference), "the weights of the reference run")
        let best = try T5Student(huggingFace: folder.appendingPathComponent("best"))
        XCTAssertTrue(TrainingFixtures.weights(best) == TrainingFixtures.weights(reference), "best/ holds the step-2 weights")
        XCTAssertEqual(try TrainerCheckpoint.readState(from: folder.appendingPathComponent("last")).step, 6)
    }

    func testANonFiniteLossIsAnError() throws {
        let data = try TrainingFixtures.stepByStepData(count: 16)
        let faulty = FaultyStudent(try TrainingFixtures.student(data))
        let trainer = try TrainingFixtures.trainer(faulty, data, validation: [], config: TrainerConfig(steps: 5, batchSize: 8))
        let before = TrainingFixtures.weights(faulty)
        faulty.nanLoss = true
        XCTAssertThrowsError(try trainer.train()) { XCTAssertEqual($0 as? TrainingError, .nonFiniteLoss(step: 1)) }
        XCTAssertTrue(TrainingFixtures.weights(faulty) == before, "no update from a NaN step")
    }
}
