// Each task's output parser on hand-written teacher outputs: clean answers, run-on text into a
// made-up next example, and outputs that cannot be parsed (with the reason).
import Distill
import XCTest

final class ParserTests: XCTestCase {
    func testSvampCutsRunOnText() {
        let raw = "They have 84 points over 2 rounds. 84 / 2 = 42. The answer is (84 / 2).\n\nQ: There are 15 trees."
            + " How many?\nA: 21 - 15 = 6. The answer is (21 - 15)."
        XCTAssertEqual(AnswerFormat.equation.parse(raw),
                       .parsed(ParsedAnswer(rationale: "They have 84 points over 2 rounds. 84 / 2 = 42.", label: "(84 / 2)")))
    }

    func testSvampEquationSpansFirstToLastParenthesisOfTheLine() {
        let nested = AnswerFormat.equation.parse("So 10 - (3 + 6) = 1. The answer is (10 - (3 + 6)).")
        XCTAssertEqual(nested.answer?.label, "(10 - (3 + 6))")
        let unwrapped = AnswerFormat.equation.parse("12 - 2 = 10. The answer is (12 - 2) - 7.\nMore text (1).")
        XCTAssertEqual(unwrapped.answer?.label, "(12 - 2)")
    }

    func testSvampUnparseable() {
        XCTAssertEqual(AnswerFormat.equation.parse("So 11 / 3 = 3.333333"), .unparseable(.missingAnswerMarker("The answer is")))
        XCTAssertEqual(AnswerFormat.equation.parse("The answer is 5.\n\nQ: x"), .unparseable(.missingEquation(found: "5.")))
        XCTAssertEqual(AnswerFormat.equation.parse("The answer is (1). The answer is (2)."),
                       .unparseable(.repeatedAnswerMarker("The answer is", count: 2)))
        XCTAssertEqual(AnswerFormat.equation.parse("  \n"), .unparseable(.empty))
        XCTAssertEqual(AnswerFormat.equation.parse("Nothing here.\n\nQ: The answer is (3)."),
                       .unparseable(.missingAnswerMarker("The answer is")), "the next example's answer is not ours")
    }

    func testCqaChoiceText() {
        let raw = "Beavers need wood. So the answer is (c) wooded area.\n\nQ: What is best?\nAnswer Choices:\n(a) x\n(b) y"
        XCTAssertEqual(AnswerFormat.choice.parse(raw),
                       .parsed(ParsedAnswer(rationale: "Beavers need wood.", label: "wooded area")))
        XCTAssertEqual(AnswerFormat.choice.parse("Hmm. So the answer is (b) pantry or (d) shelf.").answer?.label, "pantry or")
        XCTAssertEqual(AnswerFormat.choice.parse("So the answer is (a) Virginia").answer?.label, "Virginia")
    }

    func testCqaUnparseable() {
        XCTAssertEqual(AnswerFormat.choice.parse("Only a drawer holds shirts. So the answer is one of these four.\n\nQ: Where?"),
                       .unparseable(.missingChoice(found: "one of these four.")))
        XCTAssertEqual(AnswerFormat.choice.parse("The answer is (a) zoo."), .unparseable(.missingAnswerMarker("So the answer is")))
    }

    func testAnliLabel() {
        let format = BenchmarkTask.anli1.answerFormat
        let raw = "He was a senator, so he had a political career. So the answer is entailment.\n\nPremise: Eme 15 is"
        XCTAssertEqual(format.parse(raw), .parsed(ParsedAnswer(rationale: "He was a senator, so he had a political career.",
                                                               label: "entailment")))
        XCTAssertEqual(format.parse("Dates differ. So the answer is neutral").answer?.label, "neutral")
    }

    func testAnliUnparseable() {
        let format = BenchmarkTask.anli1.answerFormat
        XCTAssertEqual(format.parse("Shameless was born in 1995, so the answer is contradiction.\n\nPremise: The 2016"),
                       .unparseable(.missingAnswerMarker("So the answer is")), "the marker is case-sensitive, as in the paper")
        XCTAssertEqual(format.parse("So the answer is maybe.\n\nPremise: x"), .unparseable(.unknownLabel("maybe")))
    }

    func testEsnliAnswerLine() {
        let format = BenchmarkTask.esnli.answerFormat
        let raw = "The to go packages are not necessarily from lunch.\nAnswer: neutral\n\nPremise: Two women.\n"
            + "Hypothesis: Two woman are holding packages.\nReasonings: Saying the two women"
        XCTAssertEqual(format.parse(raw), .parsed(ParsedAnswer(rationale: "The to go packages are not necessarily from lunch.",
                                                               label: "neutral")))
        XCTAssertEqual(format.parse("A toddler is a child. A child is a person. A person is"),
                       .unparseable(.missingAnswerMarker("Answer:")))
        XCTAssertEqual(format.parse("Both say so.\nAnswer: yes"), .unparseable(.unknownLabel("yes")))
    }

    func testFailuresExplainThemselves() {
        XCTAssertEqual(ParseFailure.missingAnswerMarker("So the answer is").description,
                       "no \"So the answer is\" before the next example")
        XCTAssertEqual(ParseFailure.unknownLabel("maybe").description, "\"maybe\" is not one of the labels")
    }
}
