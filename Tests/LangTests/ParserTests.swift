// Parser: precedence, statements, closures and trailing closures, error positions and recovery.
import Lang
import XCTest

final class ParserTests: XCTestCase {
    func testSwiftPrecedence() {
        XCTAssertEqual(parsed("1 + 2 * 3 - 4"), "(- (+ 1 (* 2 3)) 4)")
        XCTAssertEqual(parsed("a || b && c == d + 1"), "(|| a (&& b (== c (+ d 1))))")
        XCTAssertEqual(parsed("0..<n + 1"), "(..< 0 (+ n 1))")
        XCTAssertEqual(parsed("a ?? b ?? c"), "(?? a (?? b c))")
        XCTAssertEqual(parsed("x > 0 ? -x : !y"), "(? (> x 0) (- x) (! y))")
        XCTAssertEqual(parsed("-3 * (1 + 2)"), "(* -3 (+ 1 2))")
    }

    func testPostfixChains() {
        XCTAssertEqual(parsed("a.b(1, c: 2)[0].d"), "(. (index (call (. a b) 1 c:2) 0) d)")
        XCTAssertEqual(parsed("xs\n  .map { $0 }\n  .count"), "(. (call (. xs map) (closure _ $0)) count)")
    }

    func testLiterals() {
        XCTAssertEqual(parsed("[1, \"a\", true, nil, 2.5]"), "(list 1 \"a\" true nil 2.5)")
        XCTAssertEqual(parsed("[\"a\": 1, \"b\": [2]]"), "(record \"a\":1 \"b\":(list 2))")
        XCTAssertEqual(parsed("[:]"), "(record)")
        XCTAssertEqual(parsed("[]"), "(list)")
        XCTAssertEqual(parsed("\"n = \\(n + 1)!\""), "(str \"n = \" (+ n 1) \"!\")")
    }

    func testClosuresAndTrailingClosures() {
        XCTAssertEqual(parsed("{ x, y in x + y }"), "(closure (x y) (+ x y))")
        XCTAssertEqual(parsed("{ (x) in x }"), "(closure (x) x)")
        XCTAssertEqual(parsed("xs.filter { $0 > 1 }"), "(call (. xs filter) (closure _ (> $0 1)))")
        XCTAssertEqual(parsed("xs.reduce(0) { $0 + $1 }"), "(call (. xs reduce) 0 (closure _ (+ $0 $1)))")
    }

    func testStatements() {
        XCTAssertEqual(parsed("let x = 1; var y\ny += x"), "(let x 1)\n(var y)\n(+= y x)")
        XCTAssertEqual(parsed("let n: Int = 2"), "(let n 2)")
        XCTAssertEqual(parsed("xs[0] = 1"), "(= (index xs 0) 1)")
        XCTAssertEqual(parsed("func f(x, y: Int = 2) -> Int { return x * y }"), "(func f (x y=2) { (return (* x y))})")
        XCTAssertEqual(parsed("func g(_ x: [String: Int]?) { }"), "(func g (x) {})")
        XCTAssertEqual(parsed("for x in xs { print(x) }"), "(for x xs { (call print x)})")
        XCTAssertEqual(parsed("for (i, x) in xs.enumerated() { }"), "(for (i x) (call (. xs enumerated)) {})")
        XCTAssertEqual(parsed("while i < 3 { i += 1; continue; break }"), "(while (< i 3) { (+= i 1) (continue) (break)})")
    }

    func testIfElseChainAndNoTrailingClosureInConditions() {
        XCTAssertEqual(parsed("if a { 1 } else if b { 2 }\nelse { 3 }"), "(if a { 1} { (if b { 2} { 3})})")
        XCTAssertEqual(parsed("if xs.isEmpty { f() }"), "(if (. xs isEmpty) { (call f)})")
    }

    func testErrorPositions() {
        let errors = Parser.parse("let x = 1\nlet y = (2 + )").errors
        XCTAssertEqual(errors.count, 1)
        XCTAssertEqual(errors.first?.kind, "SyntaxError")
        XCTAssertEqual(errors.first?.message, "expected an expression, found `)`")
        XCTAssertEqual(errors.first?.line, 2)
        XCTAssertEqual(errors.first?.column, 14)
    }

    func testRecoveryReportsEveryBrokenStatement() {
        let result = Parser.parse("let a = 1 +* 2\nlet b = 2\nprint(\"x\" 3)\nfunc (x) { }\nlet c = 3")
        XCTAssertEqual(result.errors.map { $0.line ?? 0 }, [1, 3, 4])
        XCTAssertEqual(result.errors.map(\.message), [
            "expected an expression, found `*`",
            "expected `,` or `)` in the argument list, found 3",
            "expected a name after `func`, found `(`",
        ])
        XCTAssertEqual(result.statements.map(\.description), ["(let b 2)", "(let c 3)"])
    }

    func testRecoveryInsideBlocks() {
        let result = Parser.parse("if x {\n  let = 1\n  print(2)\n}\nlet y = )")
        XCTAssertEqual(result.errors.map { $0.line ?? 0 }, [2, 5])
        XCTAssertEqual(result.statements.first?.description, "(if x { (call print 2)})")
    }

    func testStatementsNeedSeparators() {
        XCTAssertEqual(Parser.parse("let x = 1 let y = 2").errors.first?.message,
                       "expected a new line or `;` after the statement, found `let`")
    }

    func testNonAssociativeComparisonIsAnError() {
        XCTAssertEqual(Parser.parse("1 < 2 < 3").errors.first?.message,
                       "`<` cannot follow another operator of the same kind without parentheses")
    }

    func testInvalidAssignmentTarget() {
        XCTAssertEqual(Parser.parse("f() = 3").errors.first?.message,
                       "cannot assign to this expression; only to a variable, `x.field` or `x[i]`")
    }

    func testLetNeedsAValue() {
        XCTAssertEqual(Parser.parse("let x").errors.first?.message, "`let x` needs a value: `let x = ...`")
    }

    func testUnmatchedClosingBrace() {
        let result = Parser.parse("}\nlet x = 1")
        XCTAssertEqual(result.errors.first?.message, "unexpected `}` without a matching `{`")
        XCTAssertEqual(result.statements.count, 1)
    }

    func testDeepNestingIsBoundedWithAClearError() {
        let deep = String(repeating: "(", count: 5_000) + "1" + String(repeating: ")", count: 5_000)
        let errors = Parser.parse(deep).errors
        XCTAssertEqual(errors.first?.message, "code is nested too deeply (more than \(Parser.maximumNesting) levels)")
        let blocks = String(repeating: "if true {", count: 3_000) + String(repeating: "}", count: 3_000)
        XCTAssertFalse(Parser.parse(blocks).errors.isEmpty)
        let unary = String(repeating: "-", count: 10_000) + "1"
        XCTAssertFalse(Parser.parse(unary).errors.isEmpty)
    }

    func testLongFlatChainsAreNotNesting() {
        let sum = Array(repeating: "1", count: 1_000).joined(separator: " + ")
        XCTAssertEqual(evaluate(sum), "1000")
        let chain = "[1]" + String(repeating: ".map { $0 + 1 }", count: 100) + ".first"
        XCTAssertEqual(evaluate(chain), "101")
        let statements = Array(repeating: "x += 1", count: 2_000).joined(separator: "\n")
        XCTAssertEqual(evaluate("var x = 0\n" + statements + "\nx"), "2000")
    }

    func testInterpolationErrorsPointIntoTheString() {
        let errors = Parser.parse("let s = \"a \\(1 +) b\"").errors
        XCTAssertEqual(errors.first?.line, 1)
        XCTAssertEqual(errors.first?.column, 17)
    }
}
