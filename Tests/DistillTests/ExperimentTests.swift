import Distill
import Foundation
import Models
import Tensor
import XCTest

final class ExperimentTests: XCTestCase {
    /// An experiment on 40 easy synthetic problems with a very small T5 and a handful of steps.
    private func experiment(steps: Int = 3) -> Experiment {
        let generator = SyntheticTask(difficulty: .easy)
        let task = ExperimentTask(name: "synthetic", kind: .equation,
                                  train: generator.examples(count: 40, seed: 1, split: "train"),
                                  valid: generator.examples(count: 6, seed: 2, split: "valid"),
                                  test: generator.examples(count: 8, seed: 3, split: "test"),
                                  explain: { try ProgramTeacher(showResults: false).explain($0) })
        let config = TrainerConfig(steps: steps, batchSize: 4, maxTargetTokens: 16, maxRationaleTokens: 48,
                                   evalBatchSize: 8, maxNewTokens: 12)
        return Experiment(task: task, config: config, maskNumbers: true, testLimit: 5) { texts, seed in
            try T5Student.fromScratch(config: TrainingFixtures.config(dropout: 0), texts: texts, vocabularySize: 300, seed: seed)
        }
    }

    func testRunSubsamplesTrainsAndScoresTheTestLimit() throws {
        var events: [String] = []
        let outcome = try experiment().run(.recipe(.stepByStep()), fraction: 0.5, seed: 4) { event in
            switch event {
            case .prepared(let report, _, _, let count, _): events.append("prepared \(count) \(report?.rationales ?? -1)")
            case .training(.step(let record)): events.append("step \(record.step)")
            case .testing(let done, let total) where done == total: events.append("tested \(total)")
            default: break
            }
        }
        XCTAssertEqual(outcome.trainExamples, 20)
        XCTAssertEqual(outcome.training.steps, 3)
        XCTAssertEqual(outcome.evaluation?.count, 5)
        XCTAssertEqual(events.first, "prepared 20 20")
        XCTAssertEqual(events.filter { $0.hasPrefix("step") }, ["step 1", "step 2", "step 3"])
        XCTAssertEqual(events.last, "tested 5")
        // The student's label rows are scored by equation value after the numbers are restored.
        for row in outcome.evaluation?.rows ?? [] {
            XCTAssertEqual(row.correct, Metrics.isCorrect(row.predicted, gold: row.gold, kind: .equation))
            XCTAssertFalse(row.predicted?.contains("numa") ?? false, "placeholders must be restored: \(row.predicted ?? "")")
        }
    }

    func testSameSeedGivesTheSameRunAndAnotherSeedAnotherSubsample() throws {
        let a = try experiment().run(.recipe(.finetune()), fraction: 0.5, seed: 1)
        let b = try experiment().run(.recipe(.finetune()), fraction: 0.5, seed: 1)
        XCTAssertEqual(a.training.losses.map(\.loss), b.training.losses.map(\.loss))
        XCTAssertEqual(a.evaluation?.rows.map(\.predicted), b.evaluation?.rows.map(\.predicted))
        let c = try experiment().run(.recipe(.finetune()), fraction: 0.5, seed: 2)
        XCTAssertNotEqual(a.training.losses.map(\.loss), c.training.losses.map(\.loss))
    }

    func testSweepJournalsFinishedCellsAndAnInterruptedCellIsNotRecorded() throws {
        let folder = try TrainingFixtures.temporaryFolder("experiment-sweep")
        defer { try? FileManager.default.removeItem(at: folder) }
        let journal = folder.appendingPathComponent("journal.jsonl")
        let grid = try Sweep(methods: ["finetune", "step-by-step"], fractions: [0.5], seeds: [0])
        let cancel = CancellationFlag()
        let methods: [ExperimentMethod] = [.recipe(.finetune()), .recipe(.stepByStep())]
        XCTAssertThrowsError(try experiment(steps: 50).sweep(grid, methods: methods, journal: journal, cancel: cancel, onEvent: { cell, event in
            if cell.method == "step-by-step", case .training(.step(let record)) = event, record.step == 2 { cancel.cancel() }
        })) { XCTAssertEqual($0 as? TrainingError, .cancelled) }
        let kept = try SweepJournal.read(journal)
        XCTAssertEqual(kept.map(\.cell.method), ["finetune"])
        XCTAssertEqual(kept.first?.steps, 50)
        XCTAssertEqual(kept.first?.data?.count, 64, "each record names its data by the mixture's SHA-256")
        XCTAssertEqual(kept.first?.mixture?.streams.map(\.name), ["label"])
        XCTAssertEqual(kept.first?.mixture?.seed, 0)

        XCTAssertThrowsError(try experiment().sweep(try Sweep(methods: ["bogus"], fractions: [1], seeds: [0]), methods: methods, journal: nil)) {
            XCTAssertTrue("\($0)".contains("are not the methods given"), "\($0)")
        }
    }
}
