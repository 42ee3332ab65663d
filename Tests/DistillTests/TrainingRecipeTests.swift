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

    func testFinetuneUsesGoldLabelsWithTheLabelPrefix() throws {
        let data = try Recipe.finetune().prepare(gold, kind: .equation)
        XCTAssertEqual(data.items.map(\.label.source), gold.map { "label: " + $0.input })
        XCTAssertEqual(data.items.map(\.label.target), ["(12 + 7)", "(30 - 4)", "(5 * 3)"])
        XCTAssertEqual(data.items.map(\.label.task), [.label, .label, .label])
        XCTAssertTrue(data.items.allSatisfy { $0.rationale == nil })
        XCTAssertEqual(data.report.kept, 3)
        XCTAssertEqual(data.report.droppedSummary, "nothing dropped")
    }

    func testDistillationUsesTeacherLabelsAndDropsUnparseableOutputs() throws {
        let data = try Recipe.distill().prepare(gold, teacher: outputs, kind: .equation)
        XCTAssertEqual(data.items.map(\.label.target), ["(12 + 7)", "(30 + 4)"])
        XCTAssertEqual(data.report.droppedUnparseable, 1)
        let agreeing = try Recipe.distill(agreeOnly: true).prepare(gold, teacher: outputs, kind: .equation)
        XCTAssertEqual(agreeing.items.map(\.exampleID.index), [0])
        XCTAssertEqual(agreeing.report.droppedDisagreeing, 1)
        XCTAssertEqual(agreeing.report.droppedUnparseable, 1)
    }

    func testStepByStepMakesBothPairsAndTheAgreementFilterCountsDrops() throws {
        let all = try Recipe.stepByStep().prepare(gold, teacher: outputs, kind: .equation)
        XCTAssertEqual(all.items.count, 3, "every example keeps its gold label pair")
        XCTAssertEqual(all.items.map(\.label.target), ["(12 + 7)", "(30 - 4)", "(5 * 3)"])
        XCTAssertEqual(all.items[0].rationale?.source, "rationale: Sam has 12 apples and buys 7 more.")
        XCTAssertEqual(all.items[0].rationale?.target, "He buys 7 more, so 12 + 7 = 19.")
        XCTAssertEqual(all.items[0].rationale?.task, .rationale)
        XCTAssertEqual(all.items[1].rationale?.target, "She loses 4, so 30 + 4 = 34.")
        XCTAssertNil(all.items[2].rationale)
        XCTAssertEqual(all.report.rationales, 2)
        XCTAssertEqual(all.report.rationalesDroppedUnparseable, 1)

        let filtered = try Recipe.stepByStep(agreeOnly: true).prepare(gold, teacher: outputs, kind: .equation)
        XCTAssertEqual(filtered.items.map { $0.rationale != nil }, [true, false, false])
        XCTAssertEqual(filtered.report.rationalesDroppedDisagreeing, 1)
        XCTAssertEqual(filtered.report.rationalesDroppedUnparseable, 1)
        XCTAssertEqual(filtered.report.description,
                       "3 of 3 examples kept, 1 with rationales; 1 rationales unparseable, 1 rationales whose teacher label disagrees with gold")

        let teacherLabels = try Recipe.stepByStep(teacherLabels: true).prepare(gold, teacher: outputs, kind: .equation)
        XCTAssertEqual(teacherLabels.items.map(\.label.target), ["(12 + 7)", "(30 + 4)"])
    }

    func testMaskingPutsPlaceholdersEverywhereAndRestores() throws {
        let data = try Recipe.stepByStep(maskNumbers: true).prepare(gold, teacher: outputs, kind: .equation)
        let first = data.items[0]
        XCTAssertEqual(first.label.source, "label: Sam has numa apples and buys numb more.")
        XCTAssertEqual(first.label.target, "(numa + numb)")
        XCTAssertEqual(first.rationale?.target, "He buys numb more, so numa + numb = 19.", "intermediate results stay numbers")
        XCTAssertEqual(first.mask?.restore(first.label.target), "(12 + 7)")
        XCTAssertEqual(data.items[2].label.target, "(numa * numb)")
        XCTAssertEqual(data.items[2].mask?.numbers, ["5", "3"])
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

    func testBatchesAreReproducibleAndCoverEveryItemOncePerEpoch() throws {
        let lengths = (0..<103).map { ($0 * 37) % 91 + 5 }
        let a = try TrainingBatcher(lengths: lengths, batchSize: 8, bucketByLength: true, chunkBatches: 4, seed: 3)
        let b = try TrainingBatcher(lengths: lengths, batchSize: 8, bucketByLength: true, chunkBatches: 4, seed: 3)
        XCTAssertEqual(a.batches(epoch: 0), b.batches(epoch: 0))
        XCTAssertEqual(a.batches(epoch: 1), b.batches(epoch: 1))
        XCTAssertNotEqual(a.batches(epoch: 0), a.batches(epoch: 1))
        let other = try TrainingBatcher(lengths: lengths, batchSize: 8, bucketByLength: true, chunkBatches: 4, seed: 4)
        XCTAssertNotEqual(a.batches(epoch: 0), other.batches(epoch: 0))
        for epoch in 0..<3 {
            let batches = a.batches(epoch: epoch)
            XCTAssertEqual(batches.count, 13)
            XCTAssertEqual(batches.joined().sorted(), Array(0..<103))
            XCTAssertEqual(batches.filter { $0.count < 8 }.count, 1, "one short batch")
        }
    }

    func testBucketingGroupsSimilarLengths() throws {
        let lengths = (0..<256).map { ($0 * 97) % 256 + 1 }   // a permutation: distinct lengths
        func spread(_ batcher: TrainingBatcher) -> Int {
            batcher.batches(epoch: 0).reduce(0) { total, batch in
                let values = batch.map { lengths[$0] }
                return total + (values.max()! - values.min()!)
            }
        }
        let bucketed = try TrainingBatcher(lengths: lengths, batchSize: 16, bucketByLength: true, chunkBatches: 16, seed: 0)
        let plain = try TrainingBatcher(lengths: lengths, batchSize: 16, bucketByLength: false, seed: 0)
        // One chunk holds everything: each batch is a run of the sorted lengths.
        let sorted = lengths.sorted()
        for batch in bucketed.batches(epoch: 0) {
            let values = batch.map { lengths[$0] }.sorted()
            guard let start = sorted.firstIndex(of: values[0]) else { return XCTFail() }
            XCTAssertEqual(values, Array(sorted[start..<start + values.count]))
        }
        XCTAssertLessThan(spread(bucketed) * 5, spread(plain))
        XCTAssertThrowsError(try TrainingBatcher(lengths: lengths, batchSize: 0, bucketByLength: true, seed: 0))
    }
}
