// The synthetic task's program teacher: correct rationales at error rate 0, the observed error
// rate near the setting, and labels that follow a mistaken rationale.
import Distill
import Foundation
import XCTest

final class ProgramTeacherTests: XCTestCase {
    /// Checks every "a op b = c" in a rationale (values are shown rounded to 6 decimals).
    private func checkArithmetic(_ rationale: String, file: StaticString = #filePath, line: UInt = #line) {
        for sentence in rationale.components(separatedBy: ". ") where sentence.contains(" = ") {
            guard let clause = sentence.components(separatedBy: "so ").last else { continue }
            let sides = clause.components(separatedBy: " = ")
            guard sides.count == 2, let left = Arithmetic.value(of: sides[0]),
                  let right = Arithmetic.value(of: sides[1].trimmingCharacters(in: CharacterSet(charactersIn: "."))) else {
                return XCTFail("cannot read \"\(sentence)\"", file: file, line: line)
            }
            XCTAssertTrue(Arithmetic.agree(left, right, relativeTolerance: 1e-4), "\(sentence)", file: file, line: line)
        }
    }

    func testCorrectAtErrorRateZero() throws {
        let examples = SyntheticTask(difficulty: .hard).examples(count: 500, seed: 2)
        let answers = try ProgramTeacher(errorRate: 0).answer(examples)
        for answer in answers {
            XCTAssertNil(answer.mistake)
            let label = try XCTUnwrap(answer.output.label, answer.output.raw)
            XCTAssertTrue(Metrics.isCorrect(label, gold: answer.output.example.label, kind: .equation))
            XCTAssertEqual(label, "( \(answer.output.example.label) )")
            checkArithmetic(answer.output.raw)
        }
        XCTAssertEqual(Metrics.evaluate(answers.map(\.output), kind: .equation).accuracy, 1)
    }

    func testExactRationaleStyle() throws {
        let problem = try SyntheticProblem(example: Example(
            id: ExampleID(split: "train", index: 0), input: "", label: "",
            fields: ["name": "Sam", "pronoun": "he", "object": "apples", "start": "12", "program": "+7 *3"]))
        XCTAssertEqual(ProgramTeacher.rationale(for: problem, steps: problem.steps, showResults: true),
                       "Sam has 12 apples. He gets 7 more, so 12 + 7 = 19. He ends up with 3 times as many, "
                       + "so 19 * 3 = 57. The answer is ( ( 12 + 7 ) * 3 ).")
        XCTAssertEqual(ProgramTeacher.rationale(for: problem, steps: problem.steps, showResults: false),
                       "Sam has 12 apples. He gets 7 more, so he has 12 + 7. He ends up with 3 times as many, "
                       + "so he has ( 12 + 7 ) * 3. The answer is ( ( 12 + 7 ) * 3 ).")
        // Multiplying first needs no parentheses, in the rationale or the label.
        let reordered = try SyntheticProblem(example: Example(
            id: ExampleID(split: "train", index: 0), input: "", label: "",
            fields: ["name": "Mia", "pronoun": "she", "object": "coins", "start": "12", "program": "*3 +7 -2"]))
        XCTAssertEqual(reordered.equation, "12 * 3 + 7 - 2")
        XCTAssertEqual(ProgramTeacher.rationale(for: reordered, steps: reordered.steps, showResults: false),
                       "Mia has 12 coins. She ends up with 3 times as many, so she has 12 * 3. She gets 7 more, "
                       + "so she has 12 * 3 + 7. She loses 2, so she has 12 * 3 + 7 - 2. The answer is ( 12 * 3 + 7 - 2 ).")
    }

    func testRationaleSaysWhyEachDistractorDoesNotCount() throws {
        let example = Example(
            id: ExampleID(split: "train", index: 0),
            input: "Mia has 12 coins. Omar has 44 coins. She ends up with 3 times as many coins. Mia also has 5 toy cars. "
                + "Mia buys 7 more coins.\nHow many coins does Mia have now?",
            label: "12 * 3 + 7",
            fields: ["name": "Mia", "pronoun": "she", "object": "coins", "start": "12", "program": "*3 +7",
                     "distractors": "44 5"])
        let problem = try SyntheticProblem(example: example)
        XCTAssertEqual(ProgramTeacher.rationale(for: problem, steps: problem.steps, showResults: false),
                       "Mia has 12 coins. Omar's 44 coins are not Mia's. She ends up with 3 times as many, so she has 12 * 3. "
                       + "Mia's 5 toy cars are not coins. She gets 7 more, so she has 12 * 3 + 7. The answer is ( 12 * 3 + 7 ).")
        // Every generated distractor gets its remark, in story order, and the label still parses.
        let examples = SyntheticTask(difficulty: .hard).examples(count: 300, seed: 6)
        for (example, answer) in zip(examples, try ProgramTeacher(showResults: false).answer(examples)) {
            let problem = try SyntheticProblem(example: example)
            let remarks = answer.output.raw.components(separatedBy: " are not ").count - 1
            XCTAssertEqual(remarks, problem.distractorNumbers.count, answer.output.raw)
            XCTAssertEqual(answer.output.label.flatMap { Arithmetic.value(of: $0) }, problem.answer, answer.output.raw)
        }
    }

    func testObservedErrorRateNearTheSetting() throws {
        let examples = SyntheticTask().examples(count: 2000, seed: 8)
        let teacher = try ProgramTeacher(errorRate: 0.3, seed: 4)
        let answers = try teacher.answer(examples)
        let mistakes = answers.filter { $0.mistake != nil }
        XCTAssertEqual(Double(mistakes.count) / 2000, 0.3, accuracy: 0.04)
        for answer in answers {
            let correct = Metrics.isCorrect(answer.output.label, gold: answer.output.example.label, kind: .equation)
            XCTAssertEqual(correct, answer.mistake == nil, "\(answer.output.raw) \(String(describing: answer.mistake))")
            checkArithmetic(answer.output.raw)
        }
        let accuracy = Metrics.evaluate(answers.map(\.output), kind: .equation).accuracy
        XCTAssertEqual(accuracy, 1 - Double(mistakes.count) / 2000, accuracy: 1e-12)
        XCTAssertEqual(try teacher.answer(examples), answers, "mistakes are seeded")
        let kinds = Set(mistakes.map { answer -> String in
            if case .wrongOperation = answer.mistake { return "operation" }
            return "number"
        })
        XCTAssertEqual(kinds, ["operation", "number"])
    }

    func testMistakesUseDistractorNumbers() throws {
        let examples = SyntheticTask(difficulty: .hard).examples(count: 400, seed: 1)
        let answers = try ProgramTeacher(errorRate: 1, seed: 2).answer(examples)
        var usedDistractor = 0
        for answer in answers {
            if case .wrongNumber(_, _, let used) = answer.mistake {
                let problem = try SyntheticProblem(example: answer.output.example)
                if problem.distractorNumbers.contains(used) { usedDistractor += 1 }
            }
        }
        XCTAssertGreaterThan(usedDistractor, 100)
        XCTAssertThrowsError(try ProgramTeacher(errorRate: 1.5), equals: SyntheticError.invalidErrorRate(1.5))
    }
}
