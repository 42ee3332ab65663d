// Deep values and deep code never overflow a stack: values nest at most `ValueLimits.maximumNesting`
// deep (building one deeper is a MemoryError), a value nested 200,000 deep frees in a loop even
// on a small stack, and deep or huge code is a quick syntax error.
import Foundation
import Lang
import XCTest

/// Runs `body` on a thread with only `stackSize` bytes of stack and waits for it.
func onSmallStack(_ stackSize: Int = 256 << 10, _ body: @escaping () -> Void) {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        body()
        done.signal()
    }
    thread.stackSize = stackSize
    thread.start()
    done.wait()
}

/// Seconds `body` takes.
func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

final class DeepValueTests: XCTestCase {
    func testBuildingAValueFiftyThousandDeepStopsAtTheLimit() {
        let cases = [
            "var v = []\nfor i in 0..<50000 { v = [v] }",
            "var v = [:]\nfor i in 0..<50000 { v = [\"k\": v] }",
            "var v = []\nfor i in 0..<50000 { var w = [1]; w.append(v); v = w }",
            "var v = [1]\nfor i in 0..<50000 { v = [[\"a\": v]] }",
            "var t = table([[\"a\": 1]])\nfor i in 0..<50000 { t = table([[\"a\": t]]) }",
            "var v = [0]\nfor i in 0..<50000 { v[0] = [v] }",
            "var v = []\nfor i in 0..<50000 { v = [v].map { $0 } }",
        ]
        for code in cases {
            let interpreter = Interpreter()
            let error = interpreter.error(code)
            XCTAssertEqual(error?.kind, "MemoryError", code)
            XCTAssertTrue(error?.message.contains("more than the limit of 1,000") == true, "\(code): \(error?.message ?? "no error")")
            XCTAssertEqual(error?.line, 2, code)
            // What was built stays usable: it prints, compares, and frees without recursion trouble.
            let name = code.contains("table") ? "t" : "v"
            XCTAssertEqual(interpreter.result("\(name) == \(name)"), "true", code)
            XCTAssertEqual(interpreter.result("str(\(name)).isEmpty"), "false", code)
        }
    }

    func testTheDeepestAllowedValuePrintsComparesAndFreesOnASmallStack() {
        onSmallStack {
            let interpreter = Interpreter()
            XCTAssertNil(interpreter.error("var v = []\nfor i in 0..<999 { v = [v] }\nlet w = v"))
            XCTAssertEqual(interpreter.result("v == w"), "true")
            XCTAssertEqual(interpreter.result("str(v).count > 64"), "true")
            XCTAssertEqual(interpreter.error("[v]")?.message, "the list would nest 1,001 lists or records deep, more than the limit of 1,000")
            // The interpreter and its values are freed here, on this thread's 256 KB stack.
        }
    }

    func testAValueNestedTwoHundredThousandDeepFreesInALoop() {
        // Swift code can build what the language refuses; freeing it must still not recurse.
        onSmallStack {
            var list = Value.list([])
            var record = Value.record(Record())
            for _ in 0..<200_000 {
                list = .list([list, .integer(1)])
                record = .record(Record([("next", record)]))
            }
            XCTAssertEqual(list.nestingDepth, 200_001)
            XCTAssertEqual(record.nestingDepth, 200_001)
            list = .null
            record = .null
        }
    }

    func testSharedPartsCountOnceForEachUse() {
        let interpreter = Interpreter()
        let error = interpreter.error("var x = [1, 2, 3]\nfor i in 0..<100 { x = [x, x] }")
        XCTAssertEqual(error?.kind, "MemoryError")
        XCTAssertEqual(error?.line, 2)
        // x doubled each time: printing or comparing it stays bounded by the memory limit.
        XCTAssertEqual(interpreter.result("x == x"), "true")
        XCTAssertLessThan(seconds { _ = interpreter.result("str(x).count") }, 10)
    }

    // MARK: - Deep and huge code

    func testDeepAndLongCodeIsAQuickSyntaxError() {
        let cases: [(String, String)] = [
            (String(repeating: "}", count: 20_000), "unexpected `}` without a matching `{`"),
            (String(repeating: "(", count: 100_000), "code is nested too deeply (more than 128 levels)"),
            (String(repeating: "[", count: 100_000), "code is nested too deeply (more than 128 levels)"),
            (String(repeating: "{", count: 100_000), "code is nested too deeply (more than 128 levels)"),
            (String(repeating: "-", count: 100_000) + "1", "code is nested too deeply (more than 128 levels)"),
            ("x" + String(repeating: ".a", count: 100_000), "expression chain is too long"),
            ("1" + String(repeating: " + 1", count: 100_000), "expression has more than 5000 operators in a row; split it up"),
            (String(repeating: "if true { ", count: 20_000), "code is nested too deeply (more than 128 levels)"),
            (String(repeating: "\"\\(", count: 5_000), "unterminated string literal"),
            (String(repeating: "@", count: 200_000), "unexpected character `@`"),
        ]
        for (code, message) in cases {
            var error: CellError?
            let elapsed = seconds { error = failure(code) }
            XCTAssertEqual(error?.kind, "SyntaxError", String(code.prefix(20)))
            XCTAssertEqual(error?.message.hasPrefix(message), true, "\(code.prefix(20)): \(error?.message ?? "no error")")
            XCTAssertLessThan(elapsed, 20, "\(code.prefix(20)) took \(elapsed) s")
            // At most ten errors and a short window of the source line: no megabytes of traceback.
            XCTAssertLessThanOrEqual(error?.traceback.count ?? 99, 41)
            XCTAssertLessThan(error?.traceback.map(\.count).max() ?? 0, 400)
        }
    }

    func testTooManyTokensAndNestedTimeMagicsAreErrors() {
        let tokens = failure("[" + String(repeating: "1,", count: 1_100_000) + "1]")
        XCTAssertEqual(tokens?.message, "the cell has more than 2,000,000 tokens; load data that big from a file (e.g. with `jsonl(...)`) instead of writing it in a cell")
        let times = failure(String(repeating: "%time\n", count: 1_000) + "1")
        XCTAssertEqual(times?.kind, "MagicError")
        XCTAssertEqual(times?.message, "`%time` is nested more than 16 deep")
        XCTAssertEqual(times?.line, 17)
    }
}
