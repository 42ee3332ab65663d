// The in-engine teacher from cells, on the real SmolLM2 GGUF: explain gives parsed or marked
// rationales, and an interrupt stops the run with every completed call kept in the store.
import Distill
import Lang
import XCTest

final class DistillGGUFTests: XCTestCase {
    func testGGUFExplainGivesParsedOrMarkedRationales() throws {
        let model = try DistillFixtures.smolLM2()
        let scratch = try ScratchFolder()
        let interpreter = Interpreter()
        let code = """
            let s = synthetic(train: 8, test: 2, seed: 5)
            let local = gguf(\(literal(model)), maxTokens: 48)
            let p = cot(s, shots: 2, seed: 1)
            let why = local.explain(s.test, prompt: p, store: \(literal(scratch.file("g.sqlite"))))
            """
        XCTAssertNil(interpreter.error(code))
        XCTAssertEqual(interpreter.result("[why.count, why.misses]"), "[2, 2]")
        XCTAssertEqual(interpreter.result("why.filter { $0.parsed == ($0.failure == nil) }.count"), "2")
        XCTAssertEqual(interpreter.result("why.filter { $0.raw.count > 0 }.count"), "2")
        XCTAssertEqual(interpreter.result("local.kind"), "gguf")
        let seen = try XCTUnwrap(interpreter.result("p.render(s.test[0], teacher: local)"))
        XCTAssertTrue(seen.hasPrefix("<|im_start|>system\n") && seen.hasSuffix("<|im_start|>assistant\n"), seen)
        XCTAssertEqual(try RationaleStore(path: scratch.file("g.sqlite")).allCalls().map(\.prompt).first, seen)
        guard case .result(let label)? = interpreter.execute("local").last else { return XCTFail("no result") }
        XCTAssertEqual(label.plain, "gguf teacher (SmolLM2-135M-Instruct.Q4_1.gguf, llama, chat template, temperature 0.0, max 48 tokens)")
    }

    func testInterruptStopsTheRunAndKeepsCompletedCalls() throws {
        let model = try DistillFixtures.smolLM2()
        let scratch = try ScratchFolder()
        let store = scratch.file("i.sqlite")
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let s = synthetic(train: 12, test: 1, seed: 9)\nlet local = gguf(\(literal(model)), maxTokens: 40)"))
        var interruptedAt: Date?
        var failure: CellError?
        interpreter.execute("let why = local.explain(s.train, store: \(literal(store)))") { output in
            switch output {
            case .updateDisplay(let bundle, _):
                let done = bundle.plain.split(separator: " ").dropFirst().first.flatMap { Int($0.split(separator: "/")[0]) } ?? 0
                if done >= 2, interruptedAt == nil {
                    interruptedAt = Date()
                    interpreter.interrupt()
                }
            case .error(let error): failure = error
            default: break
            }
        }
        XCTAssertNotNil(interruptedAt)
        XCTAssertEqual(failure?.kind, "Interrupted")
        let message = failure?.message ?? ""
        XCTAssertTrue(message.hasPrefix("interrupted after ") && message.contains(" of 12 calls"), message)
        XCTAssertTrue(message.hasSuffix("every completed call is in the store, so running the cell again resumes"), message)
        let done = Int(message.dropFirst("interrupted after ".count).split(separator: " ")[0]) ?? -1
        XCTAssertGreaterThanOrEqual(done, 2)
        XCTAssertLessThan(done, 12)
        XCTAssertEqual(try RationaleStore(path: store).count(), done)
        // The kernel stays usable, and a re-run of the completed examples is all hits.
        XCTAssertNil(interpreter.error("let firstTwo = local.explain([s.train[0], s.train[1]], store: \(literal(store)))"))
        XCTAssertEqual(interpreter.result("[firstTwo.hits, firstTwo.misses]"), "[2, 0]")
    }
}
