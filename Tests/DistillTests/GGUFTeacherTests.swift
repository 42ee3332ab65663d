// The in-engine GGUF teacher on the real SmolLM2-135M-Instruct model: it sees the chat template,
// answers greedily and deterministically, its output is parsed or marked unparseable in the store,
// and a cancelled call stops instead of finishing.
import Distill
import Foundation
import XCTest

final class GGUFTeacherTests: XCTestCase {
    static let modelName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    private func modelPath() throws -> String {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [ProcessInfo.processInfo.environment["STEPWISE_GGUF"] ?? "",
                          packageRoot.appendingPathComponent("models/\(Self.modelName)").path, "/work/main/models/\(Self.modelName)"]
        guard let path = candidates.first(where: { !$0.isEmpty && FileManager.default.fileExists(atPath: $0) }) else {
            throw XCTSkip("\(Self.modelName) not found; set STEPWISE_GGUF")
        }
        return path
    }

    private let example = Example(id: ExampleID(split: "test", index: 0),
                                  input: "Sam has 12 apples. He buys 7 more apples. How many apples does Sam have now?",
                                  label: "( 12.0 + 7.0 )")

    private func prompt() throws -> CoTPrompt {
        try CoTPrompt(format: .equation, exemplars: [
            Exemplar(input: "Mia has 5 pens. She buys 3 more pens. How many pens does Mia have?",
                     rationale: "Mia starts with 5 pens and buys 3 more, so 5 + 3 = 8.", label: "( 5.0 + 3.0 )"),
        ])
    }

    func testPromptTextIsTheModelsChatTemplate() throws {
        let teacher = try GGUFTeacher(path: try modelPath(), sampling: try GGUFSampling(maxTokens: 8))
        let text = teacher.promptText(for: example, prompt: try prompt())
        XCTAssertTrue(text.hasPrefix("<|im_start|>system\nSolve the math word problem step by step."), text)
        XCTAssertTrue(text.hasSuffix("<|im_start|>user\n\(example.input)<|im_end|>\n<|im_start|>assistant\n"), text)
        XCTAssertTrue(text.contains("<|im_start|>assistant\nMia starts with 5 pens and buys 3 more, so 5 + 3 = 8. The answer is (5 + 3).<|im_end|>"), text)
        XCTAssertEqual(teacher.identity.kind, "gguf")
        XCTAssertEqual(teacher.identity.model, Self.modelName)
        let plain = try GGUFTeacher(path: try modelPath(), sampling: try GGUFSampling(maxTokens: 8, chat: false))
        XCTAssertEqual(plain.promptText(for: example, prompt: try prompt()), try prompt().render(example))
        XCTAssertNotEqual(plain.identity, teacher.identity)
    }

    func testExplainStoresAParsedOrMarkedAnswerAndResumes() async throws {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("gguf-teacher-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try RationaleStore(path: folder.appendingPathComponent("r.sqlite").path)
        let teacher = try GGUFTeacher(path: try modelPath(), sampling: try GGUFSampling(maxTokens: 64))
        let explainer = Explainer(teacher: teacher, prompt: try prompt(), store: store, concurrency: 2)
        let first = try await explainer.run([example])
        XCTAssertEqual(first.stats, StoreStats(hits: 0, misses: 1, failures: 0))
        let output = try XCTUnwrap(first.examples.first?.output)
        XCTAssertFalse(output.raw.isEmpty)
        XCTAssertFalse(output.raw.contains("<|im_end|>"))
        let row = try XCTUnwrap(try store.allCalls().first)
        XCTAssertEqual(row.raw, output.raw)
        // Parsed (a label and a rationale) or marked with the reason, never both and never neither.
        XCTAssertNotEqual(row.label == nil, row.parseFailure == nil, "label \(row.label ?? "nil"), failure \(row.parseFailure ?? "nil")")
        XCTAssertEqual(output.outcome, AnswerFormat.equation.parse(output.raw))
        // Greedy decoding is deterministic: a fresh call gives the same text.
        let again = try await teacher.generate(for: example, prompt: try prompt(), sample: 0)
        XCTAssertEqual(again, output.raw)
        let second = try await explainer.run([example])
        XCTAssertEqual(second.stats, StoreStats(hits: 1, misses: 0, failures: 0))
    }

    func testACancelledCallStopsAndThrows() async throws {
        let teacher = try GGUFTeacher(path: try modelPath(), sampling: try GGUFSampling(maxTokens: 4000, chat: false))
        let long = Example(id: ExampleID(split: "test", index: 1), input: "Write a very long story about a dragon.", label: "")
        let call = Task { try await teacher.generate(for: long, prompt: nil, sample: 0) }
        call.cancel()
        do {
            let text = try await call.value
            XCTFail("a cancelled call finished with \(text.count) characters")
        } catch {
            XCTAssertTrue(error is CancellationError, "\(error)")
        }
    }

    func testBadSettingsAndPathsAreClearErrors() throws {
        XCTAssertThrowsError(try GGUFSampling(topP: 0)) { error in
            XCTAssertEqual("\(error)", "topP = 0.0 is out of range; use a number in (0, 1]")
        }
        let path = try modelPath()
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let listed = (try FileManager.default.contentsOfDirectory(atPath: folder)).filter { $0.hasSuffix(".gguf") }.sorted()
            .map { URL(fileURLWithPath: folder).appendingPathComponent($0).path }.joined(separator: ", ")
        XCTAssertThrowsError(try GGUFTeacher(path: folder + "/nope.gguf", sampling: try GGUFSampling())) { error in
            XCTAssertEqual("\(error)", "no model file at \(folder)/nope.gguf (GGUF files there: \(listed))")
        }
    }
}
