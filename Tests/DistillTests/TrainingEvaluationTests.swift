// Evaluation of a student on a known set of predictions: prefixes, masking restored before
// scoring, equation-value accuracy, the NLI confusion matrix and rationale rows.
import Distill
import Tensor
import XCTest

final class TrainingEvaluationTests: XCTestCase {
    func testEquationPredictionsAreUnmaskedAndScoredByValue() throws {
        let examples = [
            Example(id: ExampleID(split: "test", index: 0), input: "Sam has 12 apples and buys 7 more.", label: "(12 + 7)"),
            Example(id: ExampleID(split: "test", index: 1), input: "Mia has 30 coins and loses 4.", label: "(30 - 4)"),
            Example(id: ExampleID(split: "test", index: 2), input: "Leo has 5 books and gets 3 times as many.", label: "(5 * 3)"),
            Example(id: ExampleID(split: "test", index: 3), input: "Ava has 8 cards and gets 2 more.", label: "(8 + 2)"),
        ]
        let student = ScriptedStudent([
            "label: Sam has numa apples and buys numb more.": "(numb + numa)",     // right by value
            "label: Mia has numa coins and loses numb.": "numa - numb",            // right without parentheses
            "label: Leo has numa books and gets numb times as many.": "(numa + numb)", // wrong
            "label: Ava has numa cards and gets numb more.": "(numa - numb)",       // wrong
            "rationale: Sam has numa apples and buys numb more.": "He buys numb more, so numa + numb.",
        ])
        let settings = EvaluationSettings(kind: .equation, maskNumbers: true, batchSize: 3, withRationales: true)
        var progress: [Int] = []
        let evaluation = try StudentEvaluator.evaluate(student, on: examples, settings: settings) { done, _ in progress.append(done) }
        XCTAssertEqual(evaluation.accuracy, 0.5)
        XCTAssertEqual(evaluation.rows.map(\.correct), [true, true, false, false])
        XCTAssertEqual(evaluation.rows.map(\.predicted), ["(7 + 12)", "30 - 4", "(5 + 3)", "(8 - 2)"])
        XCTAssertEqual(evaluation.rows[0].rationale, "He buys 7 more, so 12 + 7.")
        XCTAssertEqual(evaluation.rows[1].rationale, nil, "an empty generation shows as no rationale")
        XCTAssertEqual(progress, [3, 4])
        XCTAssertEqual(student.calls.map(\.count), [3, 1, 3, 1], "labels then rationales, in batches of 3")
    }

    func testClassPredictionsFillTheConfusionMatrix() throws {
        let labels = ["entailment", "neutral", "contradiction"]
        let examples = (0..<5).map { i in
            Example(id: ExampleID(split: "valid", index: i), input: "premise \(i)", label: labels[i % 3])
        }
        // gold: e n c e n; predicted: e c c n (nothing)
        let student = ScriptedStudent(["label: premise 0": "entailment", "label: premise 1": "contradiction",
                                       "label: premise 2": "contradiction", "label: premise 3": "neutral"])
        let evaluation = try StudentEvaluator.evaluate(student, on: examples,
                                                       settings: EvaluationSettings(kind: .classes(labels), batchSize: 2))
        XCTAssertEqual(evaluation.accuracy, 0.4)
        XCTAssertEqual(evaluation.unparseableCount, 1)
        XCTAssertEqual(evaluation.rows[4].failure, "the student generated nothing")
        XCTAssertEqual(evaluation.confusion?.counts, [[1, 1, 0], [0, 0, 1], [0, 0, 1]])
        XCTAssertEqual(evaluation.confusion?.unmatched, [0, 1, 0])
    }

    func testCancelledEvaluationThrows() {
        let flag = CancellationFlag()
        flag.cancel()
        let examples = [Example(id: ExampleID(split: "test", index: 0), input: "x", label: "y")]
        XCTAssertThrowsError(try StudentEvaluator.evaluate(ScriptedStudent([:]), on: examples,
                                                           settings: EvaluationSettings(kind: .text), cancel: flag)) {
            XCTAssertEqual($0 as? TrainingError, .cancelled)
        }
    }
}
