// Is-complete: complete statements, incomplete brackets/braces/strings/operators with an indent,
// and invalid code.
import Foundation
import Lang
import XCTest

final class IsCompleteTests: XCTestCase {
    private let interpreter = Interpreter()

    func testComplete() {
        XCTAssertEqual(interpreter.isComplete("let x = 1"), .complete)
        XCTAssertEqual(interpreter.isComplete("func f(x) {\n  return x\n}"), .complete)
        XCTAssertEqual(interpreter.isComplete("%time\nprint(1)"), .complete)
        XCTAssertEqual(interpreter.isComplete(""), .complete)
    }

    func testIncompleteBracketsWithIndent() {
        XCTAssertEqual(interpreter.isComplete("func f(x) {"), .incomplete(indent: "    "))
        XCTAssertEqual(interpreter.isComplete("if a {\n  for x in xs {"), .incomplete(indent: "        "))
        XCTAssertEqual(interpreter.isComplete("print(1,"), .incomplete(indent: "    "))
        XCTAssertEqual(interpreter.isComplete("let xs = [1,\n 2"), .incomplete(indent: "    "))
    }

    func testIncompleteStringsCommentsAndOperators() {
        XCTAssertEqual(interpreter.isComplete("let s = \"abc"), .incomplete(indent: ""))
        XCTAssertEqual(interpreter.isComplete("/* still"), .incomplete(indent: ""))
        XCTAssertEqual(interpreter.isComplete("let x = 1 +"), .incomplete(indent: ""))
        XCTAssertEqual(interpreter.isComplete("let x ="), .incomplete(indent: ""))
    }

    func testHugeOperatorChainIsSafeOnASmallStack() {
        let chain = Array(repeating: "1", count: 20_000).joined(separator: "+")
        var answer: Completeness?
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [interpreter] in
            answer = interpreter.isComplete(chain)
            done.signal()
        }
        thread.stackSize = 256 << 10  // Smaller than a dispatch queue thread's.
        thread.start()
        XCTAssertEqual(done.wait(timeout: .now() + 120), .success)
        XCTAssertEqual(answer, .invalid)
        XCTAssertEqual(Interpreter().error(chain)?.message, "expression has more than 5000 operators in a row; split it up")
    }

    func testInvalid() {
        XCTAssertEqual(interpreter.isComplete("let x = )"), .invalid)
        XCTAssertEqual(interpreter.isComplete("f(]"), .invalid)
        XCTAssertEqual(interpreter.isComplete("let = 3"), .invalid)
        XCTAssertEqual(interpreter.isComplete("a @ b"), .invalid)
        XCTAssertEqual(interpreter.isComplete("}"), .invalid)
    }
}
