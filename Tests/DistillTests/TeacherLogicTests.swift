// The parts of the teachers that need no server: backoff delays and their jitter, Retry-After
// parsing, self-consistency voting, identities, and the replay and program teachers through the
// shared `Teacher` protocol.
import Distill
import Foundation
import XCTest

final class TeacherLogicTests: XCTestCase {
    // MARK: - Backoff

    func testBackoffGrowsExponentiallyWithinJitterBounds() {
        let policy = RetryPolicy(maxRetries: 8, baseDelay: 0.5, maxDelay: 30, seed: 7)
        for attempt in 0..<8 {
            let ceiling = min(30, 0.5 * pow(2, Double(attempt)))
            for stream in 0..<20 as Range<UInt64> {
                let delay = policy.delay(attempt: attempt, stream: stream)
                XCTAssertGreaterThanOrEqual(delay, ceiling / 2, "attempt \(attempt)")
                XCTAssertLessThanOrEqual(delay, ceiling, "attempt \(attempt)")
            }
        }
        XCTAssertLessThanOrEqual(policy.delay(attempt: 40), 30, "capped at maxDelay")
    }

    func testJitterIsSeededAndSpreadsParallelCalls() {
        let policy = RetryPolicy(baseDelay: 1, seed: 3)
        XCTAssertEqual(policy.delay(attempt: 2, stream: 11), policy.delay(attempt: 2, stream: 11))
        XCTAssertEqual(policy.delay(attempt: 2, stream: 11), RetryPolicy(baseDelay: 1, seed: 3).delay(attempt: 2, stream: 11))
        let spread = Set((0..<16 as Range<UInt64>).map { policy.delay(attempt: 2, stream: $0) })
        XCTAssertGreaterThan(spread.count, 12, "different calls back off by different amounts")
        XCTAssertNotEqual(policy.delay(attempt: 2, stream: 11), RetryPolicy(baseDelay: 1, seed: 4).delay(attempt: 2, stream: 11))
    }

    func testRetryAfterWinsAndIsCapped() {
        let policy = RetryPolicy(baseDelay: 0.01, maxRetryAfter: 60)
        XCTAssertEqual(policy.delay(attempt: 0, retryAfter: 3), 3)
        XCTAssertEqual(policy.delay(attempt: 5, retryAfter: 3600), 60)
    }

    func testParseRetryAfter() {
        XCTAssertEqual(RetryPolicy.parseRetryAfter("2"), 2)
        XCTAssertEqual(RetryPolicy.parseRetryAfter(" 0.5 "), 0.5)
        XCTAssertNil(RetryPolicy.parseRetryAfter(nil))
        XCTAssertNil(RetryPolicy.parseRetryAfter("soon"))
        XCTAssertNil(RetryPolicy.parseRetryAfter("-4"))
        let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT
        let seconds = RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now: now)
        XCTAssertEqual(seconds ?? -1, 30, accuracy: 0.001)
    }

    // MARK: - Self-consistency

    func testMajorityWinsAndUnparseableSamplesDoNotVote() {
        let vote = SelfConsistency.vote([nil, "(1 + 2)", "(5 - 1)", nil, "(5 - 1)", nil], kind: .equation)
        XCTAssertEqual(vote.label, "(5 - 1)")
        XCTAssertEqual(vote.votes, 2)
        XCTAssertEqual(vote.voters, 3)
        XCTAssertEqual(vote.winner, 2)
        XCTAssertEqual(vote.agreement, 2.0 / 3.0, accuracy: 1e-12)
    }

    func testEquationsVoteByValue() {
        let vote = SelfConsistency.vote(["(84 / 2)", "(6 * 7)", "( 84.0 / 2.0 )", "(40 + 1)"], kind: .equation)
        XCTAssertEqual(vote.label, "(84 / 2)", "three samples have the value 42")
        XCTAssertEqual(vote.votes, 3)
        XCTAssertEqual(vote.tally.map(\.count), [3, 1])
    }

    func testTiesGoToTheLabelThatCameFirst() {
        let labels: [String?] = [nil, "neutral", "entailment", "entailment", "neutral"]
        let kind = LabelKind.classes(nliLabels)
        XCTAssertEqual(SelfConsistency.vote(labels, kind: kind).label, "neutral")
        XCTAssertEqual(SelfConsistency.vote(Array(labels.reversed()), kind: kind).label, "neutral")
        XCTAssertEqual(SelfConsistency.vote(["b", "a"], kind: .text).label, "b")
    }

    func testNoVotersNoLabel() {
        let vote = SelfConsistency.vote([nil, nil], kind: .text)
        XCTAssertNil(vote.label)
        XCTAssertNil(vote.winner)
        XCTAssertEqual(vote.agreement, 0)
    }

    func testExplainedExampleKeepsEverySampleAndPicksTheWinner() {
        let example = Example(id: ExampleID(split: "test", index: 0), input: "q", label: "(2 + 2)")
        func output(_ raw: String) -> TeacherOutput {
            TeacherOutput(example: example, raw: raw, outcome: AnswerFormat.equation.parse(raw))
        }
        let explained = ExplainedExample(example: example, samples: [
            (2, output("x. The answer is (2 + 2).")), (0, output("rambling")), (1, output("y. The answer is (3 + 1).")),
        ], failures: [3: "HTTP 500"], kind: .equation)
        XCTAssertEqual(explained.sampleIndices, [0, 1, 2])
        XCTAssertEqual(explained.samples.count, 3)
        XCTAssertEqual(explained.vote.label, "(3 + 1)", "4 twice; the first voter wrote it so")
        XCTAssertEqual(explained.output?.raw, "y. The answer is (3 + 1).")
        XCTAssertEqual(explained.failures[3], "HTTP 500")
    }

    // MARK: - Identities and the offline teachers

    func testIdentityHoldsOutputChangingSettingsOnly() throws {
        let a = try OpenAITeacher(configuration: OpenAITeacherConfiguration(
            baseURL: "http://127.0.0.1:1", model: "m", sampling: SamplingSettings(temperature: 0.5, seed: 1), timeout: 5))
        let b = try OpenAITeacher(configuration: OpenAITeacherConfiguration(
            baseURL: "http://localhost:2/v1", model: "m", sampling: SamplingSettings(temperature: 0.5, seed: 1), timeout: 99))
        let c = try OpenAITeacher(configuration: OpenAITeacherConfiguration(
            baseURL: "http://127.0.0.1:1", model: "m", sampling: SamplingSettings(temperature: 0.6, seed: 1)))
        XCTAssertEqual(a.identity, b.identity, "server address and timeout do not change outputs")
        XCTAssertNotEqual(a.identity, c.identity)
        XCTAssertEqual(a.identity.kind, "openai-chat")
        XCTAssertEqual(a.identity.settings, "{\"max_tokens\":256,\"seed\":1,\"stop\":[],\"temperature\":0.5}")
    }

    func testProgramTeacherThroughTheProtocol() async throws {
        let examples = SyntheticTask().examples(count: 5, seed: 4)
        let program = try ProgramTeacher(errorRate: 0.3, seed: 9)
        let teacher: any Teacher = program
        let direct = try program.explain(examples)
        for (example, expected) in zip(examples, direct) {
            let raw = try await teacher.generate(for: example, prompt: nil, sample: 0)
            XCTAssertEqual(raw, expected.raw)
        }
        XCTAssertEqual(teacher.answerFormat, .equation)
    }

    func testReplayTeacherThroughTheProtocol() async throws {
        let folder = try TestData.folder("svamp")
        let replay = ReplayTeacher(task: .svamp, outputs: folder + "/llm")
        let examples = Array(try BenchmarkTask.svamp.loadSplit("test", from: folder).prefix(3))
        let expected = try replay.explain(examples)
        for (example, output) in zip(examples, expected) {
            let raw = try await replay.generate(for: example, prompt: nil, sample: 1)
            XCTAssertEqual(raw, output.raw)
        }
        let missing = Example(id: ExampleID(split: "test", index: 10_000), input: "?", label: "(1)")
        do {
            _ = try await replay.generate(for: missing, prompt: nil, sample: 0)
            XCTFail("expected an error")
        } catch let error as TeacherError {
            XCTAssertEqual(error, .missingOutput(missing.id, available: 200))
        }
    }
}
