// Exact-match and equation accuracy, the NLI confusion matrix and per-example rows.
import Distill
import XCTest

final class MetricsTests: XCTestCase {
    private func example(_ index: Int, _ label: String) -> Example {
        Example(id: ExampleID(split: "test", index: index), input: "input \(index)", label: label)
    }

    func testExactMatchIsCaseSensitive() {
        XCTAssertEqual(Metrics.exactMatchAccuracy(["wooded area", "Virginia", nil, "zoo"],
                                                  gold: ["wooded area", "virginia", "zoo", "zoo"]), 0.5)
        XCTAssertEqual(Metrics.exactMatchAccuracy([], gold: []), 0)
    }

    func testEquationAccuracyComparesValues() {
        let accuracy = Metrics.equationAccuracy(["(84 / 2)", "(2 + 2)", "(x)", nil],
                                                gold: ["( 84.0 / 2.0 )", "( 2.0 * 3.0 )", "( 1.0 )", "( 1.0 )"])
        XCTAssertEqual(accuracy, 0.25)
    }

    func testConfusionMatrix() {
        var matrix = ConfusionMatrix(labels: nliLabels)
        matrix.add(gold: "entailment", predicted: "entailment")
        matrix.add(gold: "entailment", predicted: "neutral")
        matrix.add(gold: "contradiction", predicted: "contradiction")
        matrix.add(gold: "neutral", predicted: nil)
        XCTAssertEqual(matrix.counts, [[1, 1, 0], [0, 0, 0], [0, 0, 1]])
        XCTAssertEqual(matrix.unmatched, [0, 1, 0])
        XCTAssertEqual(matrix.accuracy, 0.5)
        XCTAssertEqual(matrix.description, """
            gold \\ predicted  entailment  neutral  contradiction  unparsed
            entailment                 1        1              0         0
            neutral                    0        0              0         1
            contradiction              0        0              1         0
            """)
    }

    func testRowsFromTeacherOutputs() {
        let examples = [example(0, "neutral"), example(1, "entailment")]
        let outputs = [
            TeacherOutput(example: examples[0], raw: "x\nAnswer: neutral",
                          outcome: .parsed(ParsedAnswer(rationale: "x", label: "neutral"))),
            TeacherOutput(example: examples[1], raw: "rambling", outcome: .unparseable(.missingAnswerMarker("Answer:"))),
        ]
        let evaluation = Metrics.evaluate(outputs, kind: .classes(nliLabels))
        XCTAssertEqual(evaluation.accuracy, 0.5)
        XCTAssertEqual(evaluation.unparseableCount, 1)
        XCTAssertEqual(evaluation.rows[0], PredictionRow(id: examples[0].id, input: "input 0", gold: "neutral",
                                                         predicted: "neutral", rationale: "x", correct: true, failure: nil))
        XCTAssertEqual(evaluation.rows[1].failure, "no \"Answer:\" before the next example")
        XCTAssertFalse(evaluation.rows[1].correct)
        XCTAssertEqual(evaluation.confusion?.unmatched, [1, 0, 0])
    }
}
