// Helpers shared by the Lang tests: run a cell and pick out its result, streams or error.
import Lang
import XCTest

extension Interpreter {
    /// The `text/plain` result of the cell, or nil when it has none (failing the test on an error).
    func result(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        var result: String?
        for output in execute(code) {
            switch output {
            case .result(let bundle): result = bundle.plain
            case .error(let error): XCTFail("unexpected error: \(error.traceback.joined(separator: "\n"))", file: file, line: line)
            default: break
            }
        }
        return result
    }

    /// Everything the cell wrote to `stream`.
    func streamText(_ code: String, _ stream: StreamName = .stdout) -> String {
        execute(code).compactMap { output -> String? in
            if case .stream(let name, let text) = output, name == stream { return text }
            return nil
        }.joined()
    }

    /// The cell's error, or nil when it ran cleanly.
    func error(_ code: String) -> CellError? {
        for output in execute(code) { if case .error(let error) = output { return error } }
        return nil
    }
}

/// The result of a cell run in a fresh interpreter.
func evaluate(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
    Interpreter().result(code, file: file, line: line)
}

/// The error of a cell run in a fresh interpreter.
func failure(_ code: String) -> CellError? { Interpreter().error(code) }

/// The S-expression of each statement of `code`, joined by newlines; fails on syntax errors.
func parsed(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    let result = Parser.parse(code)
    XCTAssertEqual(result.errors.map(\.message), [], file: file, line: line)
    return result.statements.map(\.description).joined(separator: "\n")
}
