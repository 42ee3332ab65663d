// Magics: %time (rest of cell or one line), %who, %help, %seed, and unknown magics.
import Lang
import XCTest

final class MagicTests: XCTestCase {
    func testTimeTheRestOfTheCell() {
        let outputs = Interpreter().execute("let a = 1\n%time\nprint(a)\na + 1")
        XCTAssertEqual(outputs.count, 3)
        XCTAssertEqual(outputs[0], .stream(.stdout, "1\n"))
        guard case .stream(.stdout, let timing) = outputs[1] else { return XCTFail("expected the timing") }
        XCTAssertTrue(timing.hasPrefix("Wall time: "), timing)
        XCTAssertEqual(outputs[2], .result(MimeBundle(plain: "2")))
    }

    func testTimeOneExpression() {
        let interpreter = Interpreter()
        let outputs = interpreter.execute("%time sleep(0.02)")
        guard case .stream(.stdout, let timing) = outputs.first else { return XCTFail("expected the timing") }
        XCTAssertTrue(timing.hasSuffix(" ms\n"), timing)
        XCTAssertEqual(interpreter.result("%time 6 * 7"), "42")
    }

    func testTimeKeepsPositionsForErrors() {
        let error = failure("%time 1 + nope")
        XCTAssertEqual(error?.kind, "NameError")
        XCTAssertEqual(error?.line, 1)
        XCTAssertEqual(error?.column, 11)
        XCTAssertEqual(error?.traceback.last, "              ^")
    }

    func testWhoListsVariablesWithTypes() {
        let interpreter = Interpreter()
        XCTAssertEqual(interpreter.streamText("%who"), "No variables are defined.\n")
        XCTAssertEqual(interpreter.streamText("let name = \"svamp\"\nvar xs = [1, 2]\nfunc f(x) { x }\n%who"),
                       "f: Function = <func f(x)>\nname: String = \"svamp\"\nxs: List = [1, 2]\n")
    }

    func testHelpShowsTheBuiltinDocInThePager() {
        let outputs = Interpreter().execute("%help sqrt")
        XCTAssertEqual(outputs, [.pager(MimeBundle(plain: "sqrt(_ x: Double) -> Double\n\nThe square root of a non-negative number."))])
        guard case .pager(let members) = Interpreter().execute("%help List.map").first else { return XCTFail() }
        XCTAssertTrue(members.plain.hasPrefix("List.map(_ transform: Function) -> List"), members.plain)
        guard case .pager(let all) = Interpreter().execute("%help").first else { return XCTFail() }
        XCTAssertTrue(all.plain.contains("print: Writes the items as text to the cell's output."))
        let error = failure("%help prnt")
        XCTAssertEqual(error?.message, "no documentation for `prnt`; did you mean `print`?")
    }

    func testSeed() {
        let interpreter = Interpreter()
        XCTAssertEqual(interpreter.streamText("%seed 42"), "seed = 42\n")
        XCTAssertEqual(interpreter.seed, 42)
        XCTAssertEqual(interpreter.streamText("%seed"), "seed = 42\n")
        let error = interpreter.error("%seed -1")
        XCTAssertEqual(error?.kind, "MagicError")
        XCTAssertEqual(error?.message, "`%seed` needs a non-negative integer, as in `%seed 42`; got `-1`")
    }

    func testUnknownMagicIsAClearErrorAndNothingRuns() {
        let outputs = Interpreter().execute("print(1)\n%bogus 3")
        XCTAssertEqual(outputs.count, 1)
        guard case .error(let error) = outputs.first else { return XCTFail() }
        XCTAssertEqual(error.kind, "MagicError")
        XCTAssertEqual(error.message, "unknown magic `%bogus`; the magics are %help, %memory, %seed, %threads, %time, %who")
        XCTAssertEqual(error.line, 2)
    }

    func testMagicsBetweenCodeKeepLineNumbers() {
        let error = failure("let a = 1\n%who\nlet b = a +\n")
        XCTAssertEqual(error?.kind, "SyntaxError")
        XCTAssertEqual(error?.line, 4)
        let runtime = failure("%seed 1\n\nundefined")
        XCTAssertEqual(runtime?.line, 3)
    }
}
