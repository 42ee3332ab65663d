// Interrupts reach every long piece of work within a second: builtins that loop without calling
// user code (generating a task, sorting, splitting), the lexer and parser of a huge cell, and
// evaluation, whose message says that evaluation (not training) was interrupted.
import Foundation
import Lang
import XCTest

/// Runs `code` in `interpreter` on another thread, interrupts it after `delay` seconds, and returns
/// its error with the seconds from the interrupt to the cell's end.
func interrupting(_ interpreter: Interpreter, _ code: String, after delay: Double) -> (error: CellError?, latency: Double) {
    let box = InterruptBox()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        box.error = interpreter.error(code)
        box.finished = DispatchTime.now().uptimeNanoseconds
        done.signal()
    }
    thread.start()
    Thread.sleep(forTimeInterval: delay)
    let interrupted = DispatchTime.now().uptimeNanoseconds
    interpreter.interrupt()
    done.wait()
    return (box.error, (Double(box.finished) - Double(interrupted)) / 1e9)
}

/// The result of a cell run on another thread; the semaphore orders the writes before the reads.
private final class InterruptBox: @unchecked Sendable {
    var error: CellError?
    var finished: UInt64 = 0
}

/// How soon an interrupt must stop work that runs in the engine (generation). Debug builds run the
/// engine's kernels unoptimised, many times slower per token; `make test` runs release, where it is 1 s.
#if DEBUG
let engineInterruptBound = 10.0
#else
let engineInterruptBound = 1.0
#endif

final class InterruptTests: XCTestCase {
    func testGeneratingAMillionProblemsStopsWithinASecond() {
        let (error, latency) = interrupting(Interpreter(), "let big = synthetic(train: 1000000)", after: 0.3)
        XCTAssertEqual(error?.kind, "Interrupted")
        XCTAssertTrue(error?.message.hasPrefix("generating the synthetic task was interrupted after ") == true, error?.message ?? "")
        XCTAssertTrue(error?.message.hasSuffix(" of 1000500 problems") == true, error?.message ?? "")
        XCTAssertEqual(error?.line, 1)
        XCTAssertLessThan(latency, 1)
    }

    func testBuiltinsThatLoopWithoutUserCodeStopWithinASecond() {
        let interpreter = Interpreter()
        // A 48 MB string and a list of a million strings, made quickly by doubling.
        XCTAssertNil(interpreter.error("var s = \"a1 \"\nfor i in 0..<24 { s += s }\nvar words = \"b2 c\"\nfor i in 0..<19 { words += \" \" + words }\nlet xs = words.split(separator: \" \")"))
        for code in ["s.split()", "s.split(separator: \"1\")", "s.uppercased()", "s.count", "s.replacing(\"1\", with: \"22\")", "s.contains(\"zz\")",
                     "xs.sorted()", "xs.contains(\"zz\")", "xs.joined(separator: \",\")", "xs.enumerated()", "table(xs.map { [\"w\": $0] })"] {
            let (error, latency) = interrupting(interpreter, code, after: 0.3)
            guard let error else { continue }  // Finished within 0.3 s on this machine: nothing to interrupt.
            XCTAssertEqual(error.kind, "Interrupted", code)
            XCTAssertLessThan(latency, 1, code)
        }
    }

    func testTheLexerAndParserStopWhenAsked() {
        let source = "[" + String(repeating: "1, ", count: 500_000) + "1]\n" + String(repeating: "let x = (1 + 2) * 3\n", count: 50_000)
        var asked = 0
        let parsed = Parser.parse(source) {
            asked += 1
            return asked > 3
        }
        XCTAssertEqual(parsed.errors.count, 1)
        XCTAssertEqual(parsed.errors.first?.kind, "Interrupted")
        XCTAssertEqual(parsed.errors.first?.message, "the cell was interrupted while it was being read")
        XCTAssertLessThan(asked, 10)

        asked = 0
        let parsedLater = Parser.parse(source) {
            asked += 1
            return asked > 1_000  // After lexing (about 600 questions), during parsing.
        }
        XCTAssertEqual(parsedLater.errors.map(\.message), ["the cell was interrupted while it was being parsed"])
        XCTAssertEqual(parsedLater.errors.first?.kind, "Interrupted")
        XCTAssertLessThan(asked, 1_010)
    }

    func testAHugeCellIsInterruptedWhileItIsRead() {
        let cell = "[" + String(repeating: "1,", count: 1_900_000) + "1]"
        let interpreter = Interpreter()
        let (error, latency) = interrupting(interpreter, cell, after: 0.05)
        if let error {
            XCTAssertEqual(error.kind, "Interrupted")
            XCTAssertLessThan(latency, 1)
        }
        XCTAssertEqual(interpreter.result("1 + 1"), "2")
    }

    func testAnInterruptedEvaluationSaysSo() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let task = synthetic(train: 50, test: 3000)\nlet student = t5(size: \"tiny\", tokenizer: task, vocabulary: 300, seed: 1)"))
        let (error, latency) = interrupting(interpreter, "evaluate(student, on: task.test, maxTokens: 64, rationales: false)", after: 1)
        XCTAssertEqual(error?.kind, "Interrupted")
        let message = error?.message ?? ""
        XCTAssertTrue(message.hasPrefix("evaluation was interrupted after "), message)
        XCTAssertTrue(message.hasSuffix(" of 3000 examples; run the cell again to evaluate them all"), message)
        XCTAssertFalse(message.contains("training"))
        XCTAssertLessThan(latency, engineInterruptBound)
    }
}
