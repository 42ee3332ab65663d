// Tracebacks: the message, the offending source line and a caret under the column; every
// syntax error of a cell in one report.
import Lang
import XCTest

final class ErrorRenderingTests: XCTestCase {
    func testTracebackHasMessageLineAndCaret() {
        let error = failure("let total = 3\nprint(totl + 1)")
        XCTAssertEqual(error?.traceback, [
            "NameError: cannot find `totl` in scope; did you mean `total`?",
            "  at line 2, column 7:",
            "    print(totl + 1)",
            "          ^",
        ])
    }

    func testAllSyntaxErrorsAreReportedTogether() {
        let outputs = Interpreter().execute("let a = (1 +\n)\nlet b = 2 2\nprint(b")
        XCTAssertEqual(outputs.count, 1)
        guard case .error(let error) = outputs.first else { return XCTFail("expected an error") }
        XCTAssertEqual(error.kind, "SyntaxError")
        XCTAssertEqual(error.message, "expected an expression, found `)` (and 2 more errors)")
        XCTAssertEqual(error.line, 2)
        XCTAssertEqual(error.column, 1)
        XCTAssertEqual(error.traceback, [
            "SyntaxError: expected an expression, found `)`",
            "  at line 2, column 1:",
            "    )",
            "    ^",
            "SyntaxError: expected a new line or `;` after the statement, found 2",
            "  at line 3, column 11:",
            "    let b = 2 2",
            "              ^",
            "SyntaxError: expected `,` or `)` in the argument list, found end of cell",
            "  at line 4, column 8:",
            "    print(b",
            "           ^",
        ])
    }

    func testSyntaxErrorsStopTheWholeCell() {
        XCTAssertEqual(Interpreter().streamText("print(1)\nlet = 2"), "")
    }

    func testSyntaxErrorsAPI() {
        let errors = Interpreter().syntaxErrors("let = 1\nlet y = 2\n1 +* 2")
        XCTAssertEqual(errors.map { $0.line ?? 0 }, [1, 3])
    }

    func testErrorKindsAreTyped() {
        XCTAssertEqual(failure("[1][5]")?.kind, ErrorKind.index.rawValue)
        XCTAssertEqual(CellError(.value, "bad").kind, "ValueError")
        XCTAssertEqual(CellError(.value, "bad").traceback, ["ValueError: bad"])
    }
}
