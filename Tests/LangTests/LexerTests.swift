// Lexer: token kinds, positions in Unicode scalars, string segments, comments, and lexical errors.
import Lang
import XCTest

final class LexerTests: XCTestCase {
    private func kinds(_ source: String) -> [TokenKind] { Lexer.tokenize(source).tokens.map(\.kind) }

    func testNumbersIdentifiersAndSymbols() {
        XCTAssertEqual(kinds("let x = 1_000 + 2.5e3"), [
            .keyword(.let), .identifier("x"), .symbol("="), .integer(1000), .symbol("+"), .double(2500), .end,
        ])
    }

    func testRangeOperatorsAreNotDecimalPoints() {
        XCTAssertEqual(kinds("1..<5"), [.integer(1), .symbol("..<"), .integer(5), .end])
        XCTAssertEqual(kinds("1...3"), [.integer(1), .symbol("..."), .integer(3), .end])
        XCTAssertEqual(kinds("xs.count"), [.identifier("xs"), .symbol("."), .identifier("count"), .end])
    }

    func testLongestSymbolWins() {
        XCTAssertEqual(kinds("a == b != c <= d >= e && f || g ?? h -> i += 1"), [
            .identifier("a"), .symbol("=="), .identifier("b"), .symbol("!="), .identifier("c"), .symbol("<="),
            .identifier("d"), .symbol(">="), .identifier("e"), .symbol("&&"), .identifier("f"), .symbol("||"),
            .identifier("g"), .symbol("??"), .identifier("h"), .symbol("->"), .identifier("i"), .symbol("+="), .integer(1), .end,
        ])
    }

    func testShorthandArguments() {
        XCTAssertEqual(kinds("$0 + $12"), [.shorthandArgument(0), .symbol("+"), .shorthandArgument(12), .end])
    }

    func testStringEscapesAndInterpolation() {
        let tokens = Lexer.tokenize(#""a\n\"b\" \(x + 1) \u{1F600}""#).tokens
        guard case .string(let segments) = tokens.first?.kind else { return XCTFail("expected a string") }
        XCTAssertEqual(segments.count, 3)
        XCTAssertEqual(segments.first, .text("a\n\"b\" "))
        if case .interpolation(let code, let position) = segments[1] {
            XCTAssertEqual(code, "x + 1")
            XCTAssertEqual(position.column, 13)
        } else {
            XCTFail("expected an interpolation")
        }
        XCTAssertEqual(segments.last, .text(" 😀"))
    }

    func testInterpolationWithNestedParenthesesAndStrings() {
        let tokens = Lexer.tokenize(#""v: \(f("(", (1)))!""#).tokens
        guard case .string(let segments) = tokens.first?.kind else { return XCTFail("expected a string") }
        XCTAssertEqual(segments.count, 3)
        if case .interpolation(let code, _) = segments[1] { XCTAssertEqual(code, #"f("(", (1))"#) } else { XCTFail() }
    }

    func testCommentsAreSkippedAndBlockCommentsNest() {
        XCTAssertEqual(kinds("1 // one\n/* a /* b */ c */ 2"), [.integer(1), .newline, .integer(2), .end])
    }

    func testNewlinesInsideParenthesesAndBracketsAreDropped() {
        XCTAssertEqual(kinds("f(1,\n2)\n[3,\n4]"), [
            .identifier("f"), .symbol("("), .integer(1), .symbol(","), .integer(2), .symbol(")"), .newline,
            .symbol("["), .integer(3), .symbol(","), .integer(4), .symbol("]"), .end,
        ])
        XCTAssertEqual(kinds("{\n1\n}"), [.symbol("{"), .newline, .integer(1), .newline, .symbol("}"), .end])
    }

    func testPositionsCountUnicodeScalars() {
        let tokens = Lexer.tokenize("let é = \"😀\"\n  x").tokens
        XCTAssertEqual(tokens[1].start.column, 5)
        XCTAssertEqual(tokens[3].start.column, 9)
        XCTAssertEqual(tokens[3].end.column, 12)  // The emoji is one scalar wide.
        let x = tokens[5]
        XCTAssertEqual(x.kind, .identifier("x"))
        XCTAssertEqual(x.start.line, 2)
        XCTAssertEqual(x.start.column, 3)
        XCTAssertEqual(x.start.offset, 14)
    }

    func testUnicodeIdentifiers() {
        XCTAssertEqual(kinds("naïve_π2"), [.identifier("naïve_π2"), .end])
    }

    func testErrorsAreCollectedAndLexingContinues() {
        let result = Lexer.tokenize("a @ b\n\"open\nc # d")
        XCTAssertEqual(result.errors.map(\.message), [
            "unexpected character `@`", "unterminated string literal", "unexpected character `#`",
        ])
        XCTAssertEqual(result.errors.map { $0.line ?? 0 }, [1, 2, 3])
        XCTAssertEqual(result.errors.map { $0.column ?? 0 }, [3, 1, 3])
        XCTAssertTrue(result.tokens.contains(.init(kind: .identifier("d"), start: .init(line: 3, column: 5, offset: 16), end: .init(line: 3, column: 6, offset: 17))))
        XCTAssertFalse(result.endsInsideString)
    }

    func testUnterminatedStringAtEndIsReported() {
        let result = Lexer.tokenize("print(\"abc")
        XCTAssertTrue(result.endsInsideString)
        XCTAssertEqual(result.errors.first?.kind, "SyntaxError")
    }

    func testIntegerLiteralOverflowIsAnError() {
        let result = Lexer.tokenize("99999999999999999999")
        XCTAssertEqual(result.errors.first?.message, "integer literal 99999999999999999999 does not fit in 64 bits")
    }

    func testBadEscapeIsAnError() {
        XCTAssertEqual(Lexer.tokenize(#""\q""#).errors.first?.message, "unknown escape sequence `\\q`")
        XCTAssertEqual(Lexer.tokenize(#""\u{110000}""#).errors.first?.message, "`\\u{110000}` is not a valid Unicode scalar")
    }

    func testUnterminatedBlockComment() {
        let result = Lexer.tokenize("1 /* never closed")
        XCTAssertTrue(result.endsInsideComment)
        XCTAssertEqual(result.errors.first?.message, "unterminated `/*` comment")
    }
}
