// Rich display: text/plain in Swift's description style, HTML tables for lists of records.
import Lang
import XCTest

final class RenderTests: XCTestCase {
    func testPlainTextLikeSwift() {
        XCTAssertEqual(evaluate("\"top level\""), "top level")
        XCTAssertEqual(evaluate("[\"a\", 1, 2.0, true, nil, [\"k\": \"v\"]]"), "[\"a\", 1, 2.0, true, nil, [\"k\": \"v\"]]")
        XCTAssertEqual(evaluate("[:]"), "[:]")
        XCTAssertEqual(evaluate("0.1 + 0.2"), "0.30000000000000004")
        XCTAssertEqual(evaluate("1e20"), "1e+20")
        XCTAssertEqual(evaluate("\"tab\\tquote\\\"\""), "tab\tquote\"")
        XCTAssertEqual(evaluate("[\"tab\\tquote\\\"\"]"), "[\"tab\\tquote\\\"\"]")
        XCTAssertEqual(evaluate("func f(a, b = 1) { a }\nf"), "<func f(a, b = 1)>")
        XCTAssertEqual(evaluate("{ x in x }"), "<func closure(x)>")
        XCTAssertEqual(evaluate("1...3"), "1...3")
    }

    func testLongListsAreShortened() {
        XCTAssertEqual(evaluate("(0..<150).map { $0 }")?.hasSuffix("99, ... 50 more]"), true)
    }

    func testDeeplyNestedValuesAreCutShort() {
        let text = evaluate("var x = []\nfor _ in 0..<500 { x = [x] }\nx") ?? ""
        XCTAssertTrue(text.hasPrefix(String(repeating: "[", count: 64) + "[…]"), text)
        XCTAssertEqual(text.count, 64 * 2 + 3)
    }

    func testListOfRecordsAlsoRendersHTML() {
        let outputs = Interpreter().execute("[[\"name\": \"a<b\", \"score\": 1.5], [\"name\": \"c\", \"score\": 2]]")
        guard case .result(let bundle) = outputs.first else { return XCTFail("expected a result") }
        XCTAssertEqual(bundle.plain, "[[\"name\": \"a<b\", \"score\": 1.5], [\"name\": \"c\", \"score\": 2]]")
        XCTAssertEqual(bundle.data["text/html"], """
            <table>
            <thead><tr><th>name</th><th>score</th></tr></thead>
            <tbody>
            <tr><td>a&lt;b</td><td>1.5</td></tr>
            <tr><td>c</td><td>2</td></tr>
            </tbody>
            </table>
            """)
    }

    func testPlainListsHaveNoHTML() {
        let outputs = Interpreter().execute("[1, 2]")
        XCTAssertEqual(outputs, [.result(MimeBundle(plain: "[1, 2]"))])
    }

    func testTableMembers() {
        let interpreter = Interpreter()
        XCTAssertEqual(interpreter.result("let t = table([[\"a\": 1], [\"b\": 2]])\nt.columns"), "[\"a\", \"b\"]")
        XCTAssertEqual(interpreter.result("t.count"), "2")
        XCTAssertEqual(interpreter.result("t[1].b"), "2")
        XCTAssertEqual(interpreter.result("t.rows.map { $0.keys.count }"), "[1, 1]")
    }

    func testEscapeHTML() {
        XCTAssertEqual(escapeHTML("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;")
    }
}
