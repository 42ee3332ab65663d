// The interpreter: one session's bindings, and the four entry points the kernel calls.
// PLACEHOLDER surface only; the language implementation replaces the bodies, not the signatures.

import Foundation

public final class Interpreter {
    /// Where `input("prompt")` gets its line from. Nil means input is not available.
    public var input: InputProvider?

    public init() {}

    /// Runs a cell, calling `emit` for each output as it happens, on the calling thread.
    @discardableResult
    public func execute(_ code: String, emit: (Output) -> Void) -> ExecutionStatus {
        let e = CellError(kind: "NotImplemented", message: "the language is not built yet")
        emit(.error(e))
        return .error(e)
    }

    /// Runs a cell and collects its outputs.
    public func execute(_ code: String) -> [Output] {
        var out: [Output] = []
        execute(code) { out.append($0) }
        return out
    }

    /// Evaluates one expression without side effects on the history (Jupyter's `user_expressions`).
    public func evaluateExpression(_ code: String) -> Result<MimeBundle, CellError> {
        .failure(CellError(kind: "NotImplemented", message: "the language is not built yet"))
    }

    /// Completion at `cursor` (a Unicode scalar offset into `code`).
    public func complete(_ code: String, cursor: Int) -> Completion {
        Completion(matches: [], cursorStart: cursor, cursorEnd: cursor)
    }

    /// Documentation for the name under or before `cursor`, or nil when there is none.
    public func inspect(_ code: String, cursor: Int) -> MimeBundle? { nil }

    /// Whether `code` is ready to run.
    public func isComplete(_ code: String) -> Completeness { .complete }

    /// Asks the running cell to stop at its next check. Safe to call from any thread.
    public func interrupt() {}
}
