// Hostile numbers: integer arithmetic on user numbers never traps (it is an OverflowError), every
// count or size a builtin takes is range-checked with an error naming the argument, its value and
// the bound, and no Double reaches an Int conversion unchecked (plots of extreme values draw).
import Foundation
import Lang
import XCTest

final class OverflowTests: XCTestCase {
    func testSyntheticSizesAreRangeChecked() {
        let huge = failure("synthetic(train: 9223372036854775807, test: 1)")
        XCTAssertEqual(huge?.kind, "ValueError")
        XCTAssertEqual(huge?.message, "`synthetic(train:)` must be between 0 and 1,000,000, got 9,223,372,036,854,775,807")
        XCTAssertEqual(huge?.line, 1)
        XCTAssertEqual(failure("synthetic(train: 1, test: -9223372036854775807 - 1)")?.message,
                       "`synthetic(test:)` must be between 0 and 1,000,000, got -9,223,372,036,854,775,808")
        XCTAssertEqual(failure("synthetic(train: 0, test: 0)")?.message, "`synthetic` needs at least one example: train and test are both 0")
        XCTAssertEqual(evaluate("synthetic(train: 3, test: 2).sizes"), "[\"train\": 3, \"test\": 2]")
    }

    func testIntegerArithmeticOverflowIsAnError() {
        let cases: [(String, String)] = [
            ("Int.max + 1", "9223372036854775807 + 1 overflows Int (64-bit)"),
            ("Int.min - 1", "-9223372036854775808 - 1 overflows Int (64-bit)"),
            ("Int.max * 2", "9223372036854775807 * 2 overflows Int (64-bit)"),
            ("-Int.min", "-(-9223372036854775808) overflows Int"),
            ("Int.min / -1", "-9223372036854775808 / -1 overflows Int (64-bit)"),
            ("Int.min % -1", "-9223372036854775808 % -1 overflows Int (64-bit)"),
            ("abs(Int.min)", "abs(-9223372036854775808) overflows Int"),
            ("sum([Int.max, 1])", "9223372036854775807 + 1 overflows Int (64-bit)"),
            ("var x = Int.max\nx += 1", "9223372036854775807 + 1 overflows Int (64-bit)"),
            ("int(1e308)", "1e+308 does not fit in an Int"),
            ("int(Double.nan)", "nan does not fit in an Int"),
            ("(Int.min..<Int.max).count", "the range has more elements than an Int can count"),
        ]
        for (code, message) in cases {
            let error = failure(code)
            XCTAssertEqual(error?.kind, "OverflowError", code)
            XCTAssertEqual(error?.message, message, code)
            XCTAssertNotNil(error?.line, code)
        }
        XCTAssertEqual(evaluate("[Int.max, Int.min, Int.max - 1 + 1]"), "[9223372036854775807, -9223372036854775808, 9223372036854775807]")
        XCTAssertEqual(evaluate("[Double.infinity, -Double.infinity, 1e308 * 10, Double.nan == Double.nan]"), "[inf, -inf, inf, false]")
    }

    func testRangeAndStrideBoundsNeverOverflow() {
        XCTAssertEqual(evaluate("range(Int.min, Int.max, by: Int.max)"), "[-9223372036854775808, -1, 9223372036854775806]")
        XCTAssertEqual(evaluate("stride(from: Int.max - 1, to: Int.max, by: 5)"), "[9223372036854775806]")
        XCTAssertEqual(evaluate("stride(from: Int.min + 1, to: Int.min, by: -7)"), "[-9223372036854775807]")
        XCTAssertEqual(evaluate("range(-5)"), "0..<0")
        XCTAssertEqual(evaluate("(Int.max - 2...Int.max).map { $0 - Int.max }"), "[-2, -1, 0]")
        XCTAssertEqual(evaluate("(Int.min..<Int.max)[Int.max - 1]"), "-2")
        XCTAssertEqual(failure("[1, 2][0...Int.max]")?.message, "slice 0...9223372036854775807 is out of range for 2 elements")
        XCTAssertEqual(failure("\"abc\"[Int.max]")?.message, "index 9223372036854775807 is out of range for a string of 3 characters")
        XCTAssertEqual(failure("\"abc\"[1...Int.max]")?.message, "slice 1...9223372036854775807 is out of range for 3 characters")
        let stride = failure("stride(from: 0, to: Int.max, by: 1)")
        XCTAssertEqual(stride?.kind, "MemoryError")
        XCTAssertEqual(stride?.message, "the 9,223,372,036,854,775,807 integers from 0 to 9223372036854775807 by 1 would take more than 8 EB, "
                       + "more than the 2 GB a value may use; work on less at a time, or raise the limit with `%memory 4GB` if the machine has room")
        XCTAssertEqual(failure("stride(from: Int.max, to: Int.min, by: -1)")?.message.hasPrefix("more than 9,223,372,036,854,775,807 integers from"), true)
        XCTAssertEqual(failure("stride(from: 0, to: Int.min, by: -1)")?.kind, "MemoryError")
    }

    func testDistillCountsNameTheArgumentAndTheBound() {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let s = synthetic(train: 20, test: 2)"))
        let cases: [(String, String)] = [
            ("t5(size: \"tiny\", tokenizer: s, vocabulary: 9223372036854775807)",
             "`t5(vocabulary:)` must be between 16 and 100,000, got 9,223,372,036,854,775,807"),
            ("cot(s, shots: -9223372036854775807 - 1)", "`cot(shots:)` must be between 0 and 1,000, got -9,223,372,036,854,775,808"),
            ("program(errorRate: Double.nan)", "`program(errorRate:)` must be a number between 0.0 and 1.0, got nan"),
            ("gguf(\"none.gguf\", maxTokens: Int.max)", "`gguf(maxTokens:)` must be between 1 and 131,072, got 9,223,372,036,854,775,807"),
            ("gguf(\"none.gguf\", temperature: Double.infinity)", "`gguf(temperature:)` must be a number between 0.0 and 100.0, got inf"),
            ("openai(baseURL: \"http://x\", model: \"m\", timeout: 1e308)", "`openai(timeout:)` must be a number between 0.001 and 86400.0, got 1e+308"),
            ("sweep(s, steps: Int.max)", "`sweep(steps:)` must be between 1 and 100,000,000, got 9,223,372,036,854,775,807"),
            ("sweep(s, seeds: [1e300])", "`sweep(seeds:)` must be whole numbers from 0 to 9,223,372,036,854,775,807, got 1e+300"),
        ]
        for (code, message) in cases {
            let error = interpreter.error(code)
            XCTAssertEqual(error?.kind, "ValueError", code)
            XCTAssertEqual(error?.message, message, code)
        }
    }

    func testAHugeNameGetsNoSuggestionAndNoHugeTable() {
        let name = String(repeating: "a", count: 100_000)
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let \(name) = 1"))
        let started = Date()
        let error = interpreter.error(name + "b")
        XCTAssertEqual(error?.kind, "NameError")
        XCTAssertEqual(error?.message.hasSuffix("b` in scope"), true)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    // MARK: - Plots of extreme values

    func testPlotsOfExtremeValuesDraw() {
        let cases = [
            "plot([1e308, -1e308])",
            "plot([Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude])",
            "plot([Double.greatestFiniteMagnitude, Double.greatestFiniteMagnitude])",
            "plot([Double.leastNonzeroMagnitude, Double.leastNonzeroMagnitude])",
            "plot([5e-324, -5e-324, 0])",
            "plot([-0.0, 0.0])",
            "plot([Double.nan, Double.infinity, -Double.infinity, 1])",
            "plot([Double.nan])",
            "plot([[1e308, 1], [-1e308, 2], [0, 1e-300]])",
            "plot([\"a\": [Int.max, Int.min], \"b\": [1e-320, 1e300]])",
            "plot([[\"x\": 1e308, \"y\": -1e308], [\"x\": -1e308, \"y\": 1e308]], x: \"x\")",
        ]
        for code in cases {
            let interpreter = Interpreter()
            guard let svg = interpreter.result("\(code).svg") else { XCTFail(code); continue }
            XCTAssertTrue(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"), code)
            XCTAssertFalse(svg.contains("nan") || svg.contains("inf"), "\(code) drew a non-finite coordinate")
        }
        XCTAssertEqual(failure("plot(Int.min..<Int.max)")?.message,
                       "`plot` draws at most 1,000,000 points, got more than an Int can count; plot every n-th point or an average")
        XCTAssertEqual(failure("plot(0..<2000000)")?.message, "`plot` draws at most 1,000,000 points, got 2,000,000; plot every n-th point or an average")
    }

    func testTicksAreFiniteIncreasingAndCoverTheirRange() {
        var random = SplitMix64(state: 7)
        let extremes: [Double] = [0, -0.0, 1, -1, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, 1e300, 1e308,
                                  -1e308, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0.1, 123_456.789]
        for _ in 0..<2_000 {
            var low = random.pick(extremes) * (random.below(2) == 0 ? 1 : Double(random.below(1000)) / 1000)
            var high = random.pick(extremes)
            if low > high { swap(&low, &high) }
            let ticks = LinePlot.ticks(low, high)
            XCTAssertGreaterThanOrEqual(ticks.count, 2, "\(low) \(high)")
            XCTAssertTrue(ticks.allSatisfy(\.isFinite), "\(low) \(high): \(ticks)")
            XCTAssertTrue(zip(ticks, ticks.dropFirst()).allSatisfy { $0 < $1 }, "\(low) \(high): \(ticks)")
            XCTAssertLessThanOrEqual(ticks.first ?? .nan, low, "\(low) \(high): \(ticks)")
            XCTAssertGreaterThanOrEqual(ticks.last ?? .nan, high, "\(low) \(high): \(ticks)")
            let step = ticks[1] - ticks[0]
            XCTAssertFalse(LinePlot.label(ticks[0], step: step).isEmpty)
        }
    }
}
