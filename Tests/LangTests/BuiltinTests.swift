// Builtins: output and display, input, sleep with interrupt, numbers and conversions, and the
// public registry that later layers use to add builtins and host objects.
import Foundation
import Lang
import XCTest

final class BuiltinTests: XCTestCase {
    func testPrintAndEprint() {
        let interpreter = Interpreter()
        XCTAssertEqual(interpreter.streamText("print(1, \"a\", [\"b\"], 2.5)"), "1 a [\"b\"] 2.5\n")
        XCTAssertEqual(interpreter.streamText("print(\"a\", \"b\", separator: \"-\", terminator: \"!\")"), "a-b!")
        XCTAssertEqual(interpreter.streamText("print(\"oops\", to: \"stderr\")", .stderr), "oops\n")
        XCTAssertEqual(interpreter.streamText("eprint(\"bad\")", .stderr), "bad\n")
        XCTAssertEqual(interpreter.error("print(1, to: \"disk\")")?.message, "`print(to:)` must be \"stdout\" or \"stderr\", got \"disk\"")
    }

    func testDisplayUpdateAndClear() {
        let outputs = Interpreter().execute("display(\"a\")\ndisplay(1, id: \"p\")\nupdateDisplay(\"p\", 2)\nclearOutput(wait: true)")
        XCTAssertEqual(outputs, [
            .display(MimeBundle(plain: "a"), displayID: nil),
            .display(MimeBundle(plain: "1"), displayID: "p"),
            .updateDisplay(MimeBundle(plain: "2"), displayID: "p"),
            .clear(wait: true),
        ])
    }

    func testHTMLValue() {
        let outputs = Interpreter().execute("html(\"<b>x</b>\")")
        XCTAssertEqual(outputs, [.result(MimeBundle(plain: "<b>x</b>", extra: ["text/html": "<b>x</b>"]))])
    }

    func testTableRendersEscapedHTML() {
        let outputs = Interpreter().execute("table([[\"name\": \"<a&b>\", \"n\": 1], [\"name\": \"c\", \"extra\": true]])")
        guard case .result(let bundle) = outputs.first else { return XCTFail("expected a result") }
        let html = bundle.data["text/html"] ?? ""
        XCTAssertTrue(html.contains("<th>name</th><th>n</th><th>extra</th>"), html)
        XCTAssertTrue(html.contains("<td>&lt;a&amp;b&gt;</td><td>1</td><td></td>"), html)
        XCTAssertEqual(bundle.plain, "name   n  extra\n-----  -  -----\n<a&b>  1\nc         true")
        XCTAssertEqual(failure("table([1])")?.message, "`table` expects a list of records such as `[[\"a\": 1]]`, found Int")
    }

    func testInputUsesTheProviderOrFailsClearly() {
        let interpreter = Interpreter()
        XCTAssertEqual(interpreter.error("input(\"name? \")")?.kind, "InputError")
        var prompts: [String] = []
        interpreter.input = { prompt, password in
            prompts.append("\(prompt)|\(password)")
            return "Ada"
        }
        XCTAssertEqual(interpreter.result("\"hi \" + input(\"name? \")"), "hi Ada")
        XCTAssertEqual(interpreter.result("input(\"pw\", password: true)"), "Ada")
        XCTAssertEqual(prompts, ["name? |false", "pw|true"])
    }

    func testSleepIsInterruptible() {
        let interpreter = Interpreter()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { interpreter.interrupt() }
        let start = Date()
        let error = interpreter.error("sleep(30)")
        XCTAssertEqual(error?.kind, "Interrupted")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertEqual(interpreter.result("1 + 1"), "2")  // The session stays usable.
    }

    func testInfiniteLoopIsInterruptible() {
        let interpreter = Interpreter()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { interpreter.interrupt() }
        let error = interpreter.error("var i = 0\nwhile true { i += 1 }")
        XCTAssertEqual(error?.kind, "Interrupted")
        XCTAssertEqual(error?.message, "the cell was interrupted")
        XCTAssertEqual(error?.line, 2)
    }

    func testStepBudget() {
        let interpreter = Interpreter()
        interpreter.maximumSteps = 1_000
        XCTAssertEqual(interpreter.error("while true { }")?.kind, "StepLimitExceeded")
        XCTAssertEqual(interpreter.result("(1...10).reduce(0) { $0 + $1 }"), "55")
    }

    func testNumbersAndConversions() {
        XCTAssertEqual(evaluate("len([1, 2]) + count(\"abc\") + len([\"a\": 1]) + len(0..<4)"), "10")
        XCTAssertEqual(evaluate("range(3)"), "0..<3")
        XCTAssertEqual(evaluate("range(2, 5)"), "2..<5")
        XCTAssertEqual(evaluate("range(2, 10, by: 3)"), "[2, 5, 8]")
        XCTAssertEqual(evaluate("stride(from: 10, to: 0, by: -5)"), "[10, 5]")
        XCTAssertEqual(evaluate("[min(3, 1, 2), max([4, 9, 2]), min(0..<5)]"), "[1, 9, 0]")
        XCTAssertEqual(evaluate("[sum([1, 2, 3]), sum(1, 2.5)]"), "[6, 3.5]")
        XCTAssertEqual(evaluate("[abs(-3), abs(-2.5)]"), "[3, 2.5]")
        XCTAssertEqual(evaluate("[round(2.345, places: 2), round(2.5), round(-2.5)]"), "[2.35, 3.0, -3.0]")
        XCTAssertEqual(evaluate("sqrt(16)"), "4.0")
        XCTAssertEqual(evaluate("pow(2, 10)"), "1024.0")
        XCTAssertEqual(evaluate("str(42) + \"!\""), "42!")
        XCTAssertEqual(evaluate("[int(\"42\"), int(3.9), int(true), int(-3.9)]"), "[42, 3, 1, -3]")
        XCTAssertEqual(evaluate("double(\"2.5\") + double(1)"), "3.5")
        XCTAssertEqual(evaluate("[type(of: 1), type(of: 1.0), type(of: \"\"), type(of: [:]), type(of: nil), type(of: print), type(1..<2)]"),
                       "[\"Int\", \"Double\", \"String\", \"Record\", \"Nil\", \"Function\", \"Range\"]")
        XCTAssertEqual(failure("sqrt(-1)")?.message, "sqrt of a negative number (-1.0)")
        XCTAssertEqual(failure("int(\"x1\")")?.message, "\"x1\" is not an integer")
        XCTAssertEqual(failure("max([])")?.message, "`max` of an empty list")
        XCTAssertEqual(failure("len(5)")?.message, "`len` needs a List, String, Record or Range, got Int")
        XCTAssertEqual(failure("int(1e300)")?.kind, "OverflowError")
        XCTAssertEqual(failure("abs(-9223372036854775807 - 1)")?.kind, "OverflowError")
    }

    func testAssert() {
        XCTAssertNil(evaluate("assert(1 < 2)"))
        let error = failure("assert(1 > 2, \"math broke\")")
        XCTAssertEqual(error?.kind, "AssertionError")
        XCTAssertEqual(error?.message, "math broke")
        XCTAssertEqual(failure("assert(false)")?.message, "assertion failed")
    }

    func testArgumentBindingErrorsShowUsage() {
        XCTAssertEqual(failure("round()")?.message,
                       "missing argument `x` in call to `round`; usage: round(_ x: Double, places: Int = 0) -> Double")
        XCTAssertEqual(failure("round(1, places: 2, digits: 3)")?.message,
                       "`round` has no parameter `digits`; its parameters are `x`, `places`")
        XCTAssertEqual(failure("sqrt(\"4\")")?.message, "`sqrt` expects `x` to be a number, got String \"4\"")
    }

    func testBuiltinsAreValues() {
        XCTAssertEqual(evaluate("let p = print\np"), "<builtin print>")
        XCTAssertEqual(evaluate("let f = [1, 2].map\nf { $0 + 1 }"), "[2, 3]")
        XCTAssertEqual(evaluate("[\"a\", \"b\"].map(str)"), "[\"a\", \"b\"]")
    }
}
