// Completion: variables, builtins, keywords, members after `.`, magics; scalar-offset cursors.
import Lang
import XCTest

final class CompletionTests: XCTestCase {
    func testVariablesBuiltinsAndKeywords() {
        let interpreter = Interpreter()
        _ = interpreter.execute("let total = 1\nvar totem = 2")
        let completion = interpreter.complete("print(to", cursor: 8)
        XCTAssertEqual(completion.matches, ["total", "totem"])
        XCTAssertEqual(completion.cursorStart, 6)
        XCTAssertEqual(completion.cursorEnd, 8)
        XCTAssertEqual(interpreter.complete("pri", cursor: 3).matches, ["print"])
        XCTAssertEqual(interpreter.complete("whi", cursor: 3).matches, ["while"])
        XCTAssertTrue(interpreter.complete("", cursor: 0).matches.contains("sqrt"))
    }

    func testMembersAfterDotByType() {
        let interpreter = Interpreter()
        _ = interpreter.execute("let xs = [1, 2]\nlet s = \"hi\"\nlet r = [\"alpha\": 1, \"beta\": [\"gamma\": 2]]")
        XCTAssertEqual(interpreter.complete("xs.so", cursor: 5).matches, ["sorted"])
        XCTAssertEqual(interpreter.complete("xs.ap", cursor: 5).matches, ["append"])
        let listMembers = interpreter.complete("xs.", cursor: 3)
        XCTAssertTrue(listMembers.matches.contains("map") && listMembers.matches.contains("count"))
        XCTAssertEqual(listMembers.cursorStart, 3)
        XCTAssertEqual(interpreter.complete("s.up", cursor: 4).matches, ["uppercased"])
        XCTAssertEqual(interpreter.complete("r.", cursor: 2).matches, ["alpha", "beta", "count", "isEmpty", "keys", "values"])
        XCTAssertEqual(interpreter.complete("r.beta.g", cursor: 8).matches, ["gamma"])
        XCTAssertEqual(interpreter.complete("\"x\".has", cursor: 7).matches, ["hasPrefix", "hasSuffix"])
        XCTAssertEqual(interpreter.complete("nothing.", cursor: 8).matches, [])
    }

    func testHostObjectMembers() {
        let interpreter = Interpreter()
        interpreter.setValue(.host(FakeDataset(name: "d", rows: [])), for: "d")
        XCTAssertEqual(interpreter.complete("d.s", cursor: 3).matches, ["sample", "size"])
    }

    func testCursorCountsUnicodeScalars() {
        let interpreter = Interpreter()
        _ = interpreter.execute("let café = 1\nlet 😀 = 2")
        let code = "let s = \"😀é\"; caf"
        let cursor = code.unicodeScalars.count
        XCTAssertEqual(cursor, 17)
        let completion = interpreter.complete(code, cursor: cursor)
        XCTAssertEqual(completion.matches, ["café"])
        XCTAssertEqual(completion.cursorStart, 14)
        XCTAssertEqual(completion.cursorEnd, 17)
        let middle = interpreter.complete("\"😀\" + caf + 1", cursor: 9)
        XCTAssertEqual(middle.matches, ["café"])
        XCTAssertEqual(middle.cursorStart, 6)
    }

    func testMagicNames() {
        XCTAssertEqual(Interpreter().complete("%se", cursor: 3).matches, ["seed"])
    }

    func testCursorOutOfRangeIsClamped() {
        let completion = Interpreter().complete("pri", cursor: 99)
        XCTAssertEqual(completion.matches, ["print"])
        XCTAssertEqual(Interpreter().complete("pri", cursor: -5).matches.count > 10, true)
    }
}
