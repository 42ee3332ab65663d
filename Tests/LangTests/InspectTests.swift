// Inspect: the doc of a builtin or member, or the type and value of a variable, at the cursor.
import Lang
import XCTest

final class InspectTests: XCTestCase {
    func testBuiltinDocUnderTheCursor() {
        let doc = Interpreter().inspect("let r = sqrt(2)", cursor: 10)
        XCTAssertEqual(doc?.plain, "sqrt(_ x: Double) -> Double\n\nThe square root of a non-negative number.")
    }

    func testBuiltinDocInsideTheCallParentheses() {
        let doc = Interpreter().inspect("round(3.14159, ", cursor: 15)
        XCTAssertTrue(doc?.plain.hasPrefix("round(_ x: Double, places: Int = 0) -> Double") ?? false)
    }

    func testVariableTypeAndValue() {
        let interpreter = Interpreter()
        _ = interpreter.execute("let scores = [0.5, 0.75]\nfunc f(x, y = 2) { x }")
        XCTAssertEqual(interpreter.inspect("scores", cursor: 3)?.plain, "scores: List = [0.5, 0.75]")
        XCTAssertEqual(interpreter.inspect("scores", cursor: 6)?.plain, "scores: List = [0.5, 0.75]")
        XCTAssertEqual(interpreter.inspect("f(1)", cursor: 1)?.plain, "f: Function\n\nfunc f(x, y = 2)")
    }

    func testMemberDoc() {
        let interpreter = Interpreter()
        _ = interpreter.execute("let xs = [1]\nlet r = [\"k\": 3]")
        XCTAssertTrue(interpreter.inspect("xs.map", cursor: 5)?.plain.hasPrefix("List.map(_ transform: Function) -> List\n\nA list of the results") ?? false)
        XCTAssertEqual(interpreter.inspect("r.k", cursor: 3)?.plain, "k: Int = 3")
        interpreter.setValue(.host(FakeDataset(name: "d", rows: [])), for: "d")
        XCTAssertEqual(interpreter.inspect("d.size", cursor: 4)?.plain, "Dataset.size\n\nThe number of rows.")
    }

    func testUnicodeCursor() {
        let interpreter = Interpreter()
        _ = interpreter.execute("let naïve = 1")
        let code = "\"😀\"; naïve"
        XCTAssertEqual(interpreter.inspect(code, cursor: 7)?.plain, "naïve: Int = 1")
    }

    func testNothingToInspect() {
        XCTAssertNil(Interpreter().inspect("1 + 2", cursor: 2))
        XCTAssertNil(Interpreter().inspect("unknownThing", cursor: 3))
        XCTAssertNil(Interpreter().inspect("", cursor: 0))
    }
}
