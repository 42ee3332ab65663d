// Recipes: which pairs each method makes, the agreement filter and its drop counts, number
// masking in every text and its round trip, and batching's determinism and bucketing.
import Distill
import XCTest

final class TrainingRecipeTests: XCTestCase {
    private let gold = [
        Example(id: ExampleID(split: "train", index: 0), input: "Sam has 12 apples and buys 7 more.", label: "(12 + 7)"),
        Example(id: ExampleID(split: "train", index: 1), input: "Mia has 30 coins and loses 4.", label: "(30 - 4)"),
        Example(id: ExampleID(split: "train", index: 2), input: "Leo has 5 books and gets 3 times as many.", label: "(5 * 3)"),
    ]

    /// Agrees, disagrees, unparseable.
    private var outputs: [TeacherOutput] {
        let raws = ["He buys 7 more, so 12 + 7 = 19. The answer is (12 + 7).",
                    "She loses 4, so 30 + 4 = 34. The answer is (30 + 4).",
                    "He has many books."]
        return zip(gold, raws).map { TeacherOutput(example: $0, raw: $1, outcome: AnswerFormat.equation.parse($1)) }
    }

    private func labels(_ data: PreparedData) -> [TrainingPair] { data.mixture.stream(named: "label")?.pairs ?? [] }
    private func rationales(_ data: PreparedData) -> [TrainingPair] { data.mixture.stream(named: "rationale")?.pairs ?? [] }

    func testFinetuneIsOneLabelStreamWithTheLabelPrefix() throws {
        let data = try Recipe.finetune().prepare(gold, kind: .equation)
        XCTAssertEqual(data.mixture.streams.map(\.name), ["label"])
        XCTAssertEqual(labels(data).map(\.source), gold.map { "label: " + $0.input })
        XCTAssertEqual(labels(data).map(\.target), ["(12 + 7)", "(30 - 4)", "(5 * 3)"])
        XCTAssertEqual(data.mixture.streams[0].weight, 1)
        XCTAssertEqual(data.report.kept, 3)
        XCTAssertEqual(data.report.droppedSummary, "nothing dropped")
    }

    func testDistillationUsesTeacherLabelsAndDropsUnparseableOutputs() throws {
        let data = try Recipe.distill().prepare(gold, teacher: outputs, kind: .equation)
        XCTAssertEqual(labels(data).map(\.target), ["(12 + 7)", "(30 + 4)"])
        XCTAssertEqual(data.report.droppedUnparseable, 1)
        let agreeing = try Recipe.distill(agreeOnly: true).prepare(gold, teacher: outputs, kind: .equation)
        XCTAssertEqual(labels(agreeing).map(\.exampleID.index), [0])
        XCTAssertEqual(agreeing.report.droppedDisagreeing, 1)
        XCTAssertEqual(agreeing.report.droppedUnparseable, 1)
    }

    func testStepByStepIsTwoStreamsOverTheSameInputsWeightedAlpha() throws {
        let all = try Recipe.stepByStep(alpha: 0.3).prepare(gold, teacher: outputs, kind: .equation, maxRationaleTokens: 77)
        XCTAssertEqual(all.mixture.streams.map(\.name), ["label", "rationale"])
        XCTAssertEqual(all.mixture.streams.map(\.weight), [0.3, 0.7])
        XCTAssertEqual(all.mixture.streams[1].maxTargetTokens, 77)
        XCTAssertEqual(all.mixture.normalisation, .perStream)
        XCTAssertEqual(all.mixture.components.count, 1, "both streams are drawn together, example by example")
        XCTAssertEqual(all.mixture.components[0].pairs, [[0, 0], [1, 1], [2, nil]])
        XCTAssertEqual(labels(all).map(\.target), ["(12 + 7)", "(30 - 4)", "(5 * 3)"], "every example keeps its gold label pair")
        XCTAssertEqual(rationales(all).first?.source, "rationale: Sam has 12 apples and buys 7 more.")
        XCTAssertEqual(rationales(all).map(\.target), ["He buys 7 more, so 12 + 7 = 19.", "She loses 4, so 30 + 4 = 34."])
        XCTAssertEqual(all.report.rationales, 2)
        XCTAssertEqual(all.report.rationalesDroppedUnparseable, 1)

        let filtered = try Recipe.stepByStep(agreeOnly: true).prepare(gold, teacher: outputs, kind: .equation)
        XCTAssertEqual(rationales(filtered).map(\.exampleID.index), [0])
        XCTAssertEqual(filtered.report.rationalesDroppedDisagreeing, 1)
        XCTAssertEqual(filtered.report.rationalesDroppedUnparseable, 1)
        XCTAssertEqual(filtered.report.description,
                       "3 of 3 examples kept, 1 with rationales; 1 rationales unparseable, 1 rationales whose teacher label disagrees with gold")

        let teacherLabels = try Recipe.stepByStep(teacherLabels: true).prepare(gold, teacher: outputs, kind: .equation)
        XCTAssertEqual(labels(teacherLabels).map(\.target), ["(12 + 7)", "(30 + 4)"])
        let labelOnly = try Recipe.stepByStep(alpha: 1).prepare(gold, teacher: outputs, kind: .equation)
        XCTAssertEqual(labelOnly.mixture.streams.map(\.name), ["label"], "a stream of weight 0 is left out")
    }

    func testMaskingPutsPlaceholdersEverywhereAndRestores() throws {
        let data = try Recipe.stepByStep(maskNumbers: true).prepare(gold, teacher: outputs, kind: .equation)
        XCTAssertEqual(labels(data)[0].source, "label: Sam has numa apples and buys numb more.")
        XCTAssertEqual(labels(data)[0].target, "(numa + numb)")
        XCTAssertEqual(rationales(data)[0].target, "He buys numb more, so numa + numb = 19.", "intermediate results stay numbers")
        let mask = gold[0].maskingNumbers().mask
        XCTAssertEqual(mask.restore(labels(data)[0].target), "(12 + 7)")
        XCTAssertEqual(labels(data)[2].target, "(numa * numb)")
        XCTAssertEqual(gold[2].maskingNumbers().mask.numbers, ["5", "3"])
    }

    func testBadSettingsAndMissingOutputsAreErrors() {
        XCTAssertThrowsError(try Recipe.stepByStep(alpha: 1.5).prepare(gold, teacher: outputs, kind: .equation)) {
            XCTAssertEqual($0 as? TrainingError, .invalidSetting("alpha must be in [0, 1], got 1.5"))
        }
        XCTAssertThrowsError(try Recipe.distill().prepare(gold, teacher: Array(outputs.prefix(2)), kind: .equation)) {
            guard case .invalidSetting(let why)? = $0 as? TrainingError else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("train#2"), why)
        }
        let unparseable = [outputs[2]]
        XCTAssertThrowsError(try Recipe.distill().prepare([gold[2]], teacher: unparseable, kind: .equation)) {
            guard case .noTrainingData? = $0 as? TrainingError else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try TrainingMethod.named("step-by-step"), .stepByStep)
        XCTAssertThrowsError(try TrainingMethod.named("magic"))
    }

    // MARK: - Batching

    /// A one-stream mixture of `lengths.count` pairs and its schedule.
    private func schedule(_ lengths: [Int], batchSize: Int, bucket: Bool, chunkBatches: Int = 50, seed: UInt64) throws -> MixtureSchedule {
        let pairs = lengths.indices.map { TrainingPair(exampleID: ExampleID(split: "train", index: $0), source: "s\($0)", target: "t") }
        let mixture = try Mixture([TaskStream(name: "label", pairs: pairs, template: Recipe.template(.label))])
        return try MixtureSchedule(mixture: mixture, lengths: [lengths], batchSize: batchSize, bucketByLength: bucket,
                                   chunkBatches: chunkBatches, seed: seed)
    }

    func testBatchesAreReproducibleAndCoverEveryItemOncePerEpoch() throws {
        let lengths = (0..<103).map { ($0 * 37) % 91 + 5 }
        let a = try schedule(lengths, batchSize: 8, bucket: true, chunkBatches: 4, seed: 3)
        let b = try schedule(lengths, batchSize: 8, bucket: true, chunkBatches: 4, seed: 3)
        XCTAssertEqual(a.batches(epoch: 0), b.batches(epoch: 0))
        XCTAssertEqual(a.batches(epoch: 1), b.batches(epoch: 1))
        XCTAssertNotEqual(a.batches(epoch: 0), a.batches(epoch: 1))
        let other = try schedule(lengths, batchSize: 8, bucket: true, chunkBatches: 4, seed: 4)
        XCTAssertNotEqual(a.batches(epoch: 0), other.batches(epoch: 0))
        for epoch in 0..<3 {
            let batches = a.batches(epoch: epoch)
            XCTAssertEqual(batches.count, 13)
            XCTAssertEqual(batches.joined().map(\.example).sorted(), Array(0..<103))
            XCTAssertEqual(batches.filter { $0.count < 8 }.count, 1, "one short batch")
        }
    }

    func testBucketingGroupsSimilarLengths() throws {
        let lengths = (0..<256).map { ($0 * 97) % 256 + 1 }   // a permutation: distinct lengths
        func spread(_ schedule: MixtureSchedule) -> Int {
            schedule.batches(epoch: 0).reduce(0) { total, batch in
                let values = batch.map { lengths[$0.example] }
                return total + (values.max()! - values.min()!)
            }
        }
        let bucketed = try schedule(lengths, batchSize: 16, bucket: true, chunkBatches: 16, seed: 0)
        let plain = try schedule(lengths, batchSize: 16, bucket: false, seed: 0)
        // One chunk holds everything: each batch is a run of the sorted lengths.
        let sorted = lengths.sorted()
        for batch in bucketed.batches(epoch: 0) {
            let values = batch.map { lengths[$0.example] }.sorted()
            guard let start = sorted.firstIndex(of: values[0]) else { return XCTFail() }
            XCTAssertEqual(values, Array(sorted[start..<start + values.count]))
        }
        XCTAssertLessThan(spread(bucketed) * 5, spread(plain))
        XCTAssertThrowsError(try schedule(lengths, batchSize: 0, bucket: true, seed: 0))
    }
}
