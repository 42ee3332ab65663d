// The FLAN comparison end to end on a small instruction world and a very small T5: every arm runs
// through `Experiment`, the held-out cluster is scored per template, the journal and per-example
// scores let a re-run resume without training, and the comparisons read those scores.
import Distill
import Foundation
import Models
import XCTest

final class FlanStudyTests: XCTestCase {
    func study(steps: Int = 4) throws -> FlanStudy {
        let world = try InstructionTask.world(train: 24, test: 8, seed: 1)
        let config = TrainerConfig(steps: steps, batchSize: 8, learningRate: 1e-3, optimizer: .adafactor, weightDecay: 0)
        return try FlanStudy(tuning: world.filter { $0.cluster != "yes-no" }, heldOut: world.filter { $0.cluster == "yes-no" },
                             clusters: ["yes-no"], config: config, evalLimit: 6, heldInLimit: 2) { texts, seed in
            try T5Student.fromScratch(config: TrainingFixtures.config(dropout: 0), texts: texts, vocabularySize: 300, seed: seed)
        }
    }

    func testArmsRunScoreTheHeldOutClusterPerTemplateAndResumeFromTheJournal() throws {
        let folder = try TrainingFixtures.temporaryFolder("flan")
        defer { try? FileManager.default.removeItem(at: folder) }
        let study = try study()
        var finished = 0
        let result = try study.run(arms: [.untuned, .flan, .noTemplate], seeds: [0], folder: folder, onRecord: { _, _, _ in finished += 1 })
        XCTAssertEqual(finished, 3)
        XCTAssertEqual(result.records.map(\.cell.method), ["untuned", "flan", "no-template"])
        XCTAssertEqual(result.records.map(\.steps), [0, 4, 4])
        for scores in result.scores {
            XCTAssertEqual(scores.templates.count, 3 * 6, "three held-out tasks, six scoring templates each (held-in ones apart)")
            let heldIn = try XCTUnwrap(scores.heldIn, "the tuning tasks are scored held-in")
            XCTAssertTrue((0...1).contains(heldIn))
            XCTAssertEqual(scores.examples.count, 3 * 6, "six balanced examples per task")
            XCTAssertTrue(scores.chance.values.allSatisfy { $0 == 0.5 })
            // Every template scores the same examples, so the mean over templates is the mean of
            // the per-example scores.
            XCTAssertEqual(scores.accuracy, scores.examples.values.reduce(0, +) / Double(scores.examples.count), accuracy: 1e-9)
            XCTAssertEqual(scores.accuracy, scores.templates.values.reduce(0, +) / Double(scores.templates.count), accuracy: 1e-9)
        }
        // The arms tune on different renderings of the same tasks.
        XCTAssertNotEqual(result.records[1].data, result.records[2].data)
        let versus = try result.compare("flan", with: "chance")
        XCTAssertEqual(versus.count, 1)
        XCTAssertEqual(versus[0].bootstrap.difference, result.scores[1].accuracy - 0.5, accuracy: 1e-9)
        XCTAssertLessThanOrEqual(versus[0].bootstrap.low, versus[0].bootstrap.difference)
        XCTAssertGreaterThanOrEqual(versus[0].bootstrap.high, versus[0].bootstrap.difference)
        XCTAssertNotNil(try result.flanShows(baseline: "untuned"))

        // A re-run trains nothing and reads the same scores back.
        var again = 0
        let resumed = try study.run(arms: [.untuned, .flan, .noTemplate], seeds: [0], folder: folder, onRecord: { _, _, _ in again += 1 })
        XCTAssertEqual(again, 0)
        XCTAssertEqual(resumed.scores, result.scores)
        XCTAssertTrue(try result.comparisonsCSV().contains("flan,no-template,0,"))
        XCTAssertTrue(result.recordsCSV.hasPrefix("arm,seed,accuracy,held_in,steps,seconds,data\nuntuned,0,"))
    }

    func testAStudyRefusesToTuneOnItsHeldOutCluster() throws {
        let world = try InstructionTask.world(train: 4, test: 4, seed: 0)
        XCTAssertThrowsError(try FlanStudy(tuning: world, heldOut: world, clusters: ["yes-no"], config: TrainerConfig(steps: 1)) { _, _ in
            throw TrainingError.invalidSetting("not reached")
        }) { error in
            XCTAssertTrue("\(error)".contains("task 'contains-word' belongs to the held-out cluster 'yes-no'"), "\(error)")
        }
    }
}
