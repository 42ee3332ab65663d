// First-fit packing: order inside rows, first fit across rows, several dimensions at once,
// deterministic results, and errors that name the example that cannot be packed.

import NN
import XCTest

final class PackingTests: XCTestCase {
    func testOneDimensionFillsTheFirstRowThatFits() throws {
        // 5+3 fill row 0 to 8; 4 opens row 1; 2 goes back to row 0 (10); 6 fits row 1 (10); 1 opens row 2.
        let rows = try Packing.firstFit([[5], [3], [4], [2], [6], [1]], capacity: 10)
        XCTAssertEqual(rows, [[0, 1, 3], [2, 4], [5]])
    }

    func testEveryDimensionMustFit() throws {
        // Example 1 fits row 0 by source (4+5) but not by target (6+5).
        let rows = try Packing.firstFit([[4, 6], [5, 5], [3, 2], [1, 1]], capacity: 10)
        XCTAssertEqual(rows, [[0, 2, 3], [1]])
        XCTAssertEqual(try Packing.firstFit([[10, 10], [1, 0]], capacity: 10), [[0], [1]])
        XCTAssertEqual(try Packing.firstFit([[10, 9], [0, 1]], capacity: 10), [[0, 1]])
    }

    func testRowsHoldIncreasingIndicesAndCoverEveryExampleOnce() throws {
        let lengths = (0..<200).map { [($0 * 37) % 30 + 1, ($0 * 11) % 20 + 1] }   // scattered, 1...30 and 1...20
        let rows = try Packing.firstFit(lengths, capacity: 48)
        XCTAssertEqual(rows.flatMap { $0 }.sorted(), Array(0..<200))
        for row in rows {
            XCTAssertEqual(row, row.sorted())
            for d in 0..<2 { XCTAssertLessThanOrEqual(row.reduce(0) { $0 + lengths[$1][d] }, 48) }
        }
        XCTAssertEqual(try Packing.firstFit(lengths, capacity: 48), rows, "deterministic")
        XCTAssertLessThan(rows.count, 200 / 2)
    }

    func testEmptyInputGivesNoRows() throws {
        XCTAssertEqual(try Packing.firstFit([], capacity: 4), [])
    }

    func testErrorsNameTheExample() {
        XCTAssertThrowsError(try Packing.firstFit([[3], [12], [2]], capacity: 10)) { error in
            XCTAssertEqual(error as? PackingError, .exampleTooLong(index: 1, lengths: [12], capacity: 10))
            XCTAssertEqual("\(error)", "example 1 has 12 tokens, more than the pack length 10; raise the pack length or shorten the example")
        }
        XCTAssertThrowsError(try Packing.firstFit([[3, 4], [2, 11]], capacity: 10)) { error in
            XCTAssertEqual(error as? PackingError, .exampleTooLong(index: 1, lengths: [2, 11], capacity: 10))
            XCTAssertTrue("\(error)".contains("lengths [2, 11]"))
        }
        XCTAssertThrowsError(try Packing.firstFit([[1]], capacity: 0)) { error in
            XCTAssertEqual(error as? PackingError, .invalidCapacity(0))
        }
        XCTAssertThrowsError(try Packing.firstFit([[1, 2], [3]], capacity: 5)) { error in
            XCTAssertEqual(error as? PackingError, .invalidLengths(index: 1, lengths: [3], expectedDimensions: 2))
        }
        XCTAssertThrowsError(try Packing.firstFit([[1], [-2]], capacity: 5))
    }

    func testFirstFitDecreasingPlacesLongExamplesFirstAndNamesTheCallersIndex() throws {
        // In the given order first fit needs 3 rows (2+2 | 8 | 8); longest first needs 2 (8+2 | 8+2).
        let lengths = [[2], [2], [8], [8]]
        XCTAssertEqual(try Packing.firstFit(lengths, capacity: 10), [[0, 1], [2], [3]])
        XCTAssertEqual(try Packing.firstFitDecreasing(lengths, capacities: [10]), [[0, 2], [1, 3]])
        // Per-dimension capacities: targets (second dimension) get shorter rows.
        let pairs = [[6, 2], [5, 3], [4, 3], [3, 1]]
        let rows = try Packing.firstFitDecreasing(pairs, capacities: [10, 4])
        XCTAssertEqual(rows, [[0, 3], [1], [2]], "[4, 3] fits no row's 4 target tokens")
        for row in rows {
            XCTAssertLessThanOrEqual(row.reduce(0) { $0 + pairs[$1][0] }, 10)
            XCTAssertLessThanOrEqual(row.reduce(0) { $0 + pairs[$1][1] }, 4)
        }
        XCTAssertThrowsError(try Packing.firstFitDecreasing([[1], [9], [12]], capacities: [10])) {
            XCTAssertEqual($0 as? PackingError, .exampleTooLong(index: 2, lengths: [12], capacity: 10))
        }
    }
}
