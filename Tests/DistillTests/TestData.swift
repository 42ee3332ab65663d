// Where the tests find the released datasets (../shared/datasets from the package root, or
// $STEPWISE_DATA), and temporary files for the malformed-input tests.
import Foundation
import XCTest

enum TestData {
    /// The datasets folder: $STEPWISE_DATA, else ../shared/datasets next to the package root.
    static var root: String {
        if let custom = ProcessInfo.processInfo.environment["STEPWISE_DATA"], !custom.isEmpty { return custom }
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/datasets").path
    }

    /// A task's folder, or a skip when the datasets are not on this machine.
    static func folder(_ task: String) throws -> String {
        let path = URL(fileURLWithPath: root).appendingPathComponent(task).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("datasets not found at \(root); set STEPWISE_DATA")
        }
        return path
    }
}

/// A fresh temporary folder, removed when the test case ends.
final class TemporaryFolder {
    let path: String

    init() throws {
        path = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("distill-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = URL(fileURLWithPath: path).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Asserts that an expression throws exactly the given error.
func XCTAssertThrowsError<E: Error & Equatable, T>(_ expression: @autoclosure () throws -> T, equals expected: E,
                                                   file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        XCTAssertEqual(error as? E, expected, "\(error)", file: file, line: line)
    }
}
