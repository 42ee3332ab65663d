// The in-memory history: tail, range, glob search with unique and n, and the reply shapes.

import Jupyter
import XCTest

final class HistoryTests: XCTestCase {
    func filled() -> History {
        let history = History()
        for (line, input) in ["a = 1", "print(a)", "a = 1", "b = 2", "a + b"].enumerated() {
            history.append(line: line + 1, input: input, output: input == "a + b" ? "3" : nil)
        }
        return history
    }

    func testTailAndRange() {
        let history = filled()
        XCTAssertEqual(history.tail(2).map(\.input), ["b = 2", "a + b"])
        XCTAssertEqual(history.range(session: 0, start: 2, stop: 4).map(\.line), [2, 3])
        XCTAssertEqual(history.range(session: 1, start: 4, stop: nil).map(\.line), [4, 5])
        XCTAssertEqual(history.range(session: 7, start: 1, stop: nil), [])
    }

    func testSearchGlobUniqueAndN() {
        let history = filled()
        XCTAssertEqual(history.search("a*", n: nil, unique: false).map(\.line), [1, 3, 5])
        XCTAssertEqual(history.search("a = ?", n: nil, unique: true).map(\.line), [3])
        XCTAssertEqual(history.search("*", n: 2, unique: false).map(\.line), [4, 5])
        XCTAssertEqual(history.search("A*", n: nil, unique: false), [])
        XCTAssertEqual(history.search("[ab] = *", n: nil, unique: true).map(\.input), ["a = 1", "b = 2"])
    }
}
