// The synthetic word-problem generator: determinism, label correctness, difficulty settings, speed.
import Distill
import Foundation
import XCTest

final class SyntheticTests: XCTestCase {
    func testGenerationIsDeterministicAndPrefixStable() {
        let task = SyntheticTask()
        let a = task.examples(count: 300, seed: 11)
        XCTAssertEqual(a, task.examples(count: 300, seed: 11))
        XCTAssertEqual(Array(a.prefix(50)), task.examples(count: 50, seed: 11))
        XCTAssertNotEqual(a.map(\.input), task.examples(count: 300, seed: 12).map(\.input))
    }

    func testLabelsEvaluateToTheStatedAnswer() throws {
        for difficulty in [SyntheticDifficulty.easy, .classroom, .hard] {
            for problem in SyntheticTask(difficulty: difficulty).problems(count: 1000, seed: 3) {
                let value = try XCTUnwrap(Arithmetic.value(of: problem.equation), problem.equation)
                XCTAssertEqual(value, problem.answer)
                XCTAssertEqual(value, value.rounded(), "answers are whole numbers")
                XCTAssertGreaterThan(value, 0)
                XCTAssertTrue(difficulty.steps.contains(problem.steps.count))
                XCTAssertTrue(difficulty.distractors.contains(problem.distractorNumbers.count))
                // Every number of the label appears in the input, and no distractor is in the label.
                for step in problem.steps {
                    XCTAssertTrue(problem.input.contains(" \(step.operand) "), problem.input)
                    XCTAssertFalse(problem.distractorNumbers.contains(step.operand))
                }
                XCTAssertFalse(problem.distractorNumbers.contains(problem.start))
            }
        }
    }

    func testExampleShapeAndRoundTrip() throws {
        let examples = SyntheticTask().examples(count: 20, seed: 5, split: "test")
        for example in examples {
            XCTAssertTrue(example.input.contains("\nHow many "))
            XCTAssertTrue(example.label.hasPrefix("( "))
            let rationale = try XCTUnwrap(example.rationale)
            XCTAssertTrue(rationale.hasSuffix("The answer is \(Arithmetic.compact(example.label))."), rationale)
            XCTAssertEqual(try SyntheticProblem(example: example).equation, example.label)
        }
        XCTAssertEqual(examples[3].id, ExampleID(split: "test", index: 3))
        let dataset = SyntheticTask().dataset(train: 40, test: 10, seed: 1)
        XCTAssertEqual(dataset.sizes.map(\.count), [40, 10])
        XCTAssertEqual(dataset.labelKind, .equation)
        XCTAssertNotEqual(dataset[split: "train"].prefix(10).map(\.input), dataset[split: "test"].map(\.input))
    }

    func testDifficultyIsValidated() {
        XCTAssertThrowsError(try SyntheticDifficulty(steps: 0...2),
                             equals: SyntheticError.invalidDifficulty("steps must lie within 1...3, got 0...2"))
        XCTAssertThrowsError(try SyntheticDifficulty(steps: 1...2, operations: [.multiply]),
                             equals: SyntheticError.invalidDifficulty("operations must include + or -"))
        XCTAssertNoThrow(try SyntheticDifficulty(steps: 3...3, numbers: 2...9, distractors: 1...1))
        XCTAssertThrowsError(try SyntheticProblem(example: Example(id: ExampleID(split: "x", index: 0), input: "", label: "")),
                             equals: SyntheticError.notSynthetic(ExampleID(split: "x", index: 0)))
    }

    func testTwoThousandExamplesTakeWellUnderASecond() {
        let start = Date()
        let examples = SyntheticTask().examples(count: 2000, seed: 1)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(examples.count, 2000)
        #if DEBUG
        XCTAssertLessThan(elapsed, 3.0)
        #else
        XCTAssertLessThan(elapsed, 0.5)
        #endif
        print("synthetic: 2000 examples in \(String(format: "%.3f", elapsed)) s")
        for example in examples.prefix(2) {
            print("---\n\(example.input)\n\(example.label)\n\(example.rationale ?? "")")
        }
    }
}
