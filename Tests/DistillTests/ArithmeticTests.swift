// The safe arithmetic evaluator: precedence, unary minus, errors for division by zero and garbage,
// Python's `and`/`or` in the paper-compatible dialect, and the compact equation style.
import Distill
import XCTest

final class ArithmeticTests: XCTestCase {
    private func value(_ text: String, _ dialect: EquationDialect = .strict) -> Double? {
        Arithmetic.value(of: text, dialect: dialect)
    }

    func testPrecedenceAndParentheses() {
        XCTAssertEqual(value("2 + 3 * 4"), 14)
        XCTAssertEqual(value("(2 + 3) * 4"), 20)
        XCTAssertEqual(value("20 - 6 - 4"), 10, "left associative")
        XCTAssertEqual(value("24 / 4 / 2"), 3)
        XCTAssertEqual(value("( ( 12.0 + 7.0 ) * 3.0 )"), 57)
        XCTAssertEqual(value("492/12"), 41)
        XCTAssertEqual(value("1.5 * 2"), 3)
    }

    func testUnaryMinus() {
        XCTAssertEqual(value("-3 + 5"), 2)
        XCTAssertEqual(value("45 - (-1)"), 46)
        XCTAssertEqual(value("--4"), 4)
        XCTAssertEqual(value("-(2 * 3) * 2"), -12)
        XCTAssertEqual(value("2 * -3"), -6)
    }

    func testErrorsAreValuesNotCrashes() {
        XCTAssertEqual(Arithmetic.evaluate("5 / (3 - 3)"), .failure(.divisionByZero))
        XCTAssertEqual(Arithmetic.evaluate(""), .failure(.empty))
        XCTAssertEqual(Arithmetic.evaluate("(23 + x)"), .failure(.unexpectedCharacter("x", offset: 6)))
        XCTAssertEqual(Arithmetic.evaluate("(14, 21)"), .failure(.unexpectedCharacter(",", offset: 3)))
        XCTAssertEqual(Arithmetic.evaluate("(1 + 2"), .failure(.missingClosingParenthesis(offset: 0)))
        XCTAssertEqual(Arithmetic.evaluate("1 + 2)"), .failure(.unexpectedToken(")", offset: 5)))
        XCTAssertEqual(Arithmetic.evaluate("3 +"), .failure(.unexpectedEnd))
        XCTAssertEqual(Arithmetic.evaluate("* 3"), .failure(.unexpectedToken("*", offset: 0)))
        XCTAssertEqual(Arithmetic.evaluate("1.2.3"), .failure(.unexpectedToken("1.2.3", offset: 0)))
        XCTAssertEqual(Arithmetic.evaluate("__import__('os')"), .failure(.unexpectedCharacter("_", offset: 0)))
        XCTAssertEqual(Arithmetic.evaluate(String(repeating: "(", count: 5000) + "1"), .failure(.tooDeeplyNested))
        XCTAssertEqual(Arithmetic.evaluate(String(repeating: "9", count: 400) + " * 10"), .failure(.notFinite))
    }

    func testPythonDialectReadsAndOr() {
        XCTAssertNil(value("(29/2) and (30/2)"))
        XCTAssertEqual(value("(29/2) and (30/2)", .python), 15)
        XCTAssertEqual(value("0 and 5", .python), 0)
        XCTAssertEqual(value("0 or 5", .python), 5)
        XCTAssertEqual(value("2 or 5 and 7", .python), 2, "and binds tighter than or")
        XCTAssertNil(value("(23 + x)", .python))
        XCTAssertNil(value("2 nand 3", .python))
    }

    func testSameValueWithTolerance() {
        XCTAssertTrue(Arithmetic.sameValue("(28 * 24) / 16", "( ( 28.0 * 24.0 ) / 16.0 )"))
        XCTAssertTrue(Arithmetic.sameValue("(1 / 3) * 3", "1"))
        XCTAssertFalse(Arithmetic.sameValue("(10 - 3)", "( 10.0 + 3.0 )"))
        XCTAssertFalse(Arithmetic.sameValue("garbage", "garbage"))
        XCTAssertTrue(Arithmetic.agree(1_000_000, 1_000_000.5))
        XCTAssertFalse(Arithmetic.agree(0.5, 0.51))
    }

    func testCompactAndFormat() {
        XCTAssertEqual(Arithmetic.compact("( ( 12.0 + 7.0 ) * 3.0 )"), "((12 + 7) * 3)")
        XCTAssertEqual(Arithmetic.compact("( 45 - ( -1 ) )"), "(45 - (-1))")
        XCTAssertEqual(Arithmetic.compact("( 2.50 / 5 )"), "(2.5 / 5)")
        XCTAssertEqual(Arithmetic.format(57), "57")
        XCTAssertEqual(Arithmetic.format(4.75), "4.75")
        XCTAssertEqual(Arithmetic.format(-3), "-3")
        XCTAssertEqual(Arithmetic.format(1.0 / 3.0), "0.333333")
    }
}
