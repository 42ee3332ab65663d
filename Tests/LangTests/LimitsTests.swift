// Copy-on-write and the memory limit: appending to a list, setting a record's key and `+=` on a
// string a variable alone holds change it in place (counted by the storage's copy counter, or by
// how the time grows), values keep value semantics, and a value that would pass the memory limit
// is refused before it is made, with its size and the limit in the message.
import Foundation
import Lang
import XCTest

final class LimitsTests: XCTestCase {
    /// The storage copies `code` makes when run in `interpreter`.
    private func copies(_ code: String, in interpreter: Interpreter = Interpreter(), file: StaticString = #filePath, line: UInt = #line) -> Int {
        let before = ValueStorageStatistics.copies
        XCTAssertNil(interpreter.error(code), file: file, line: line)
        return ValueStorageStatistics.copies - before
    }

    func testGrowingAVariableInALoopDoesNotCopyIt() {
        XCTAssertLessThan(copies("var xs = []\nfor i in 0..<80000 { xs.append(i) }"), 5)
        XCTAssertLessThan(copies("var xs = [0]\nfor i in 0..<20000 { xs.insert(i, at: 1); xs.removeLast() }"), 5)
        XCTAssertLessThan(copies("var xs = []\nfor i in 0..<20000 { xs += [i] }"), 5)
        XCTAssertLessThan(copies("var r = [:]\nfor i in 0..<20000 { r[str(i)] = i }"), 5)
        XCTAssertLessThan(copies("var r = [\"n\": 0]\nfor i in 0..<20000 { r.n += 1 }"), 5)
        XCTAssertLessThan(copies("var g = [[0], [1]]\nfor i in 0..<20000 { g[0].append(i) }"), 5)
        XCTAssertLessThan(copies("var r = [\"xs\": []]\nfor i in 0..<20000 { r.xs.append(i) }"), 5)
        XCTAssertLessThan(copies("var r = [\"xs\": [[]]]\nfor i in 0..<20000 { r[\"xs\"][0].append(i) }"), 5)
        XCTAssertLessThan(copies("func f() { var local = []\nfor i in 0..<20000 { local.append(i) }\nreturn local.count }\nf()"), 5)
    }

    func testEightyThousandAppendsAreQuick() {
        let interpreter = Interpreter()
        let elapsed = seconds { XCTAssertEqual(interpreter.result("var xs = []\nfor i in 0..<80000 { xs.append(i) }\nxs.count"), "80000") }
        XCTAssertLessThan(elapsed, 30, "80,000 appends took \(elapsed) s")
    }

    func testStringAppendGrowsLinearly() {
        // Quadratic copying makes 8 times the appends take about 64 times as long; linear, about 8.
        func best(_ count: Int) -> Double {
            (0..<3).map { _ in
                let interpreter = Interpreter()
                return seconds { XCTAssertNil(interpreter.error("var s = \"\"\nfor i in 0..<\(count) { s += \"xyzw\" }")) }
            }.min() ?? 0
        }
        let small = best(20_000), large = best(160_000)
        XCTAssertLessThan(large / small, 24, "20,000 appends took \(small) s, 160,000 took \(large) s")
    }

    func testValueSemanticsSurviveInPlaceChanges() {
        XCTAssertEqual(evaluate("var a = [1, 2]\nvar b = a\nb.append(3)\n[a, b]"), "[[1, 2], [1, 2, 3]]")
        XCTAssertEqual(evaluate("var a = [\"k\": 1]\nvar b = a\nb[\"j\"] = 2\nb.k += 1\n[a, b]"), "[[\"k\": 1], [\"k\": 2, \"j\": 2]]")
        XCTAssertEqual(evaluate("var g = [[1]]\nvar h = g\nh[0].append(2)\n[g, h]"), "[[[1]], [[1, 2]]]")
        XCTAssertEqual(evaluate("var s = \"a\"\nlet t = s\ns += \"b\"\n[s, t]"), "[\"ab\", \"a\"]")
        XCTAssertEqual(evaluate("var xs = [1]\nxs.append(xs)\nxs += xs\nxs"), "[1, [1], 1, [1]]")
        XCTAssertEqual(evaluate("var xs = [1, 2, 3]\nfor x in xs { xs.append(x) }\nxs"), "[1, 2, 3, 1, 2, 3]")
        XCTAssertEqual(evaluate("var r = [\"a\": [1]]\nlet f = { r.a }\nr.a.append(2)\n[f(), r.a]"), "[[1, 2], [1, 2]]")
        XCTAssertEqual(evaluate("var xs = [[1], [2]]\nlet first = xs[0]\nxs[0].append(9)\n[first, xs[0]]"), "[[1], [1, 9]]")
    }

    // MARK: - The memory limit

    func testAHugeMapIsRefusedBeforeItIsMade() {
        var error: CellError?
        let elapsed = seconds { error = failure("range(100000000).map { $0 }") }
        XCTAssertEqual(error?.kind, "MemoryError")
        XCTAssertEqual(error?.message, "the range's 0..<100000000 elements would take about 2.2 GB, more than the 2 GB a value may use; "
                       + "work on less at a time, or raise the limit with `%memory 4GB` if the machine has room")
        XCTAssertEqual(error?.line, 1)
        XCTAssertLessThan(elapsed, 1)
        for code in ["(0..<Int.max).map { $0 }", "(0...Int.max).filter { $0 > 0 }", "range(3000000000).sorted()",
                     "range(Int.min, Int.max, by: 2)", "(1...200000000).reversed()", "max(0..<1000000000)"] {
            XCTAssertEqual(failure(code)?.kind, "MemoryError", code)
        }
    }

    func testTheLimitHasAMagic() {
        let interpreter = Interpreter()
        XCTAssertEqual(interpreter.memoryLimit, 2 << 30)
        XCTAssertEqual(interpreter.streamText("%memory"), "memory = 2 GB per value\n")
        XCTAssertEqual(interpreter.streamText("%memory 1MB"), "memory = 1 MB per value\n")
        XCTAssertEqual(interpreter.memoryLimit, 1 << 20)
        let error = interpreter.error("let xs = range(100000).map { $0 }")
        XCTAssertEqual(error?.kind, "MemoryError")
        XCTAssertTrue(error?.message.hasPrefix("the range's 0..<100000 elements would take about 2.3 MB, more than the 1 MB a value may use") == true, error?.message ?? "")
        XCTAssertEqual(interpreter.error("%memory 0")?.message, "`%memory` needs a size of at least 1 MB, as in `%memory 4GB` or `%memory 512MB`; got `0`")
        XCTAssertEqual(interpreter.error("%memory lots")?.kind, "MagicError")
        XCTAssertEqual(interpreter.streamText("%memory 1.5 GB"), "memory = 1.5 GB per value\n")
        XCTAssertEqual(parseByteCount("512MB"), 512 << 20)
        XCTAssertEqual(parseByteCount("4g"), 4 << 30)
        XCTAssertEqual(parseByteCount("4096"), 4096)
        XCTAssertNil(parseByteCount("1e30 GB"))
        XCTAssertNil(parseByteCount("-1MB"))
    }

    func testGrowthStopsAtTheLimit() {
        let interpreter = Interpreter()
        interpreter.memoryLimit = 16 << 20
        XCTAssertNil(interpreter.error("var big = \"0123456789\"\nfor i in 0..<7 { big += big }"))  // 1,280 bytes
        let cases: [(String, String)] = [
            ("var s = \"ab\"\nwhile true { s += s }", "the string would take about 32 MB, more than the 16 MB a value may use"),
            ("var s = \"ab\"\nwhile true { s = s + s }", "the string would take about 32 MB, more than the 16 MB a value may use"),
            ("var xs = [1]\nwhile true { xs += xs }", "the list would take about"),
            ("var xs = [1]\nwhile true { xs = xs + xs }", "the list would take about"),
            ("var xs = []\nwhile true { xs.append(big) }", "the list would take about"),
            ("var s = \"ab\"\nfor i in 0..<22 { s += s }\ns.replacing(\"a\", with: \"aaaa\")", "the string after `replacing` would take about"),
            ("var s = \"a b \"\nfor i in 0..<19 { s += s }\ns.split()", "the result of `split` would take about"),
            ("var s = \"ab\"\nfor i in 0..<22 { s += s }\n\"\\(s)\\(s)\\(s)\"", "the interpolated string would take about"),
            ("range(100000).map { _ in big }", "the result of `map` would take about"),
            ("var r = [:]\nvar i = 0\nwhile true { r[str(i)] = big; i += 1 }", "`r` would take about"),
        ]
        for (code, message) in cases {
            let error = interpreter.error(code)
            XCTAssertEqual(error?.kind, "MemoryError", code)
            XCTAssertTrue(error?.message.hasPrefix(message) == true, "\(code): \(error?.message ?? "no error")")
            XCTAssertNotNil(error?.line, code)
        }
    }
}
