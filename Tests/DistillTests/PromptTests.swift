// Few-shot chain-of-thought prompts: exact rendered text per task format, chat messages, choice
// of exemplars from a seed, and that each format's answer parses back to its label.
import Distill
import XCTest

final class PromptTests: XCTestCase {
    private let luke = Exemplar(input: "Luke scored 84 points after 2 rounds.\nHow many points per round?",
                                rationale: "He scored 84 points in 2 rounds. 84 / 2 = 42.", label: "( 84.0 / 2.0 )")

    private func example(_ input: String, _ label: String = "", choices: [String] = []) -> Example {
        Example(id: ExampleID(split: "test", index: 0), input: input, label: label, choices: choices)
    }

    func testSvampRendering() throws {
        let prompt = try CoTPrompt(format: .equation, exemplars: [luke])
        XCTAssertEqual(prompt.render(example("Faye has 7 rows of 30 crayons.\nHow many crayons?")), """
            Q: Luke scored 84 points after 2 rounds.
            How many points per round?
            A: He scored 84 points in 2 rounds. 84 / 2 = 42. The answer is (84 / 2).

            Q: Faye has 7 rows of 30 crayons.
            How many crayons?
            A:
            """)
    }

    func testCqaRendering() throws {
        let choices = ["british columbia", "body of water", "wooded area", "pay debts", "zoo"]
        let input = BenchmarkTask.cqaInput(question: "Where do beavers get supplies?", choices: choices)
        let exemplar = Exemplar(input: input, rationale: "Beavers use wood.", label: "wooded area", choices: choices)
        let prompt = try CoTPrompt(format: .choice, exemplars: [exemplar], instruction: "Answer these.")
        XCTAssertEqual(prompt.render(input: "What is red?\nAnswer Choices:\n(a) sky\n(b) blood"), """
            Answer these.

            Q: Where do beavers get supplies?
            Answer Choices:
            (a) british columbia
            (b) body of water
            (c) wooded area
            (d) pay debts
            (e) zoo
            A: Beavers use wood. So the answer is (c) wooded area.

            Q: What is red?
            Answer Choices:
            (a) sky
            (b) blood
            A:
            """)
        XCTAssertThrowsError(try CoTPrompt(format: .choice, exemplars: [
            Exemplar(input: input, rationale: "r", label: "forest", choices: choices),
        ]), equals: PromptError.labelNotAChoice(label: "forest", choices: choices))
    }

    func testNliRendering() throws {
        let input = BenchmarkTask.nliInput(premise: "A man sleeps.", hypothesis: "A man is awake.")
        let anli = try CoTPrompt(format: BenchmarkTask.anli1.answerFormat,
                                 exemplars: [Exemplar(input: input, rationale: "Sleeping is not awake.", label: "contradiction")])
        XCTAssertEqual(anli.render(input: "Premise: p\nHypothesis: h"), """
            Premise: A man sleeps.
            Hypothesis: A man is awake.
            Answer: Sleeping is not awake. So the answer is contradiction.

            Premise: p
            Hypothesis: h
            Answer:
            """)
        let esnli = try CoTPrompt(format: BenchmarkTask.esnli.answerFormat,
                                  exemplars: [Exemplar(input: input, rationale: "Sleeping is not awake.", label: "contradiction")])
        XCTAssertEqual(esnli.render(input: "Premise: p\nHypothesis: h"), """
            Premise: A man sleeps.
            Hypothesis: A man is awake.
            Reasonings: Sleeping is not awake.
            Answer: contradiction

            Premise: p
            Hypothesis: h
            Reasonings:
            """)
    }

    func testChatMessages() throws {
        let prompt = try CoTPrompt(format: .equation, exemplars: [luke])
        let messages = prompt.chat(example("How much is 2 + 2?"))
        XCTAssertEqual(messages.map(\.role), [.system, .user, .assistant, .user])
        XCTAssertEqual(messages[2].content, "He scored 84 points in 2 rounds. 84 / 2 = 42. The answer is (84 / 2).")
        XCTAssertEqual(messages[3].content, "How much is 2 + 2?")
        XCTAssertTrue(messages[0].content.contains("The answer is (equation)."))
    }

    func testEachFormatParsesItsOwnAnswer() throws {
        let cases: [(AnswerFormat, String, [String])] = [
            (.equation, "( ( 12.0 + 7.0 ) * 3.0 )", []),
            (.choice, "zoo", ["park", "zoo"]),
            (BenchmarkTask.anli1.answerFormat, "neutral", []),
            (BenchmarkTask.esnli.answerFormat, "entailment", []),
        ]
        for (format, label, choices) in cases {
            let text = try format.answer(rationale: "Because it is so.", label: label, choices: choices)
            let parsed = format.parse(" " + text + "\n\n" + format.query("next"))
            XCTAssertEqual(parsed.answer?.rationale, "Because it is so.")
            let expected = format == .equation ? Arithmetic.compact(label) : label
            XCTAssertEqual(parsed.answer?.label, expected)
        }
    }

    func testSampledExemplarsAreSeeded() throws {
        let pool = SyntheticTask().examples(count: 50, seed: 1)
        let a = try CoTPrompt.sampled(from: pool, shots: 4, format: .equation, seed: 7)
        XCTAssertEqual(a, try CoTPrompt.sampled(from: pool, shots: 4, format: .equation, seed: 7))
        XCTAssertNotEqual(a, try CoTPrompt.sampled(from: pool, shots: 4, format: .equation, seed: 8))
        XCTAssertEqual(a.exemplars.count, 4)
        XCTAssertThrowsError(try CoTPrompt.sampled(from: Array(pool.prefix(3)), shots: 4, format: .equation, seed: 7),
                             equals: PromptError.notEnoughExemplars(wanted: 4, available: 3))
        var bare = pool[0]
        bare.rationale = nil
        XCTAssertThrowsError(try Exemplar(bare), equals: PromptError.noRationale(bare.id))
    }

    func testExemplarsFromAgreeingTeacherOutputs() throws {
        let examples = SyntheticTask().examples(count: 100, seed: 3)
        let outputs = try ProgramTeacher(errorRate: 0.5, seed: 1).explain(examples)
        let prompt = try CoTPrompt.fromTeacher(outputs, shots: 8, kind: .equation, format: .equation, seed: 2)
        for exemplar in prompt.exemplars {
            let output = try XCTUnwrap(outputs.first { $0.example.input == exemplar.input })
            XCTAssertEqual(exemplar.rationale, output.rationale)
            XCTAssertTrue(Arithmetic.sameValue(try XCTUnwrap(output.label), exemplar.label))
        }
    }
}
