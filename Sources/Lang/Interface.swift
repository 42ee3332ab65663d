// The interpreter's public surface: what the kernel, the REPL and `stepwise run` call, and the
// typed outputs a cell produces. Nothing here knows about sockets or Jupyter messages.

/// A MIME bundle: `text/plain` always, plus richer forms (`text/html`, `image/svg+xml`, ...).
public struct MimeBundle: Equatable, Sendable {
    /// MIME type → representation. `text/plain` is always present.
    public var data: [String: String]
    public init(plain: String, extra: [String: String] = [:]) {
        var d = extra
        d["text/plain"] = plain
        data = d
    }
    public var plain: String { data["text/plain"] ?? "" }
}

/// Which standard stream a `stream` output goes to.
public enum StreamName: String, Sendable { case stdout, stderr }

/// An error raised while parsing or running a cell, with its position in the cell's source.
public struct CellError: Error, Equatable, Sendable {
    /// A short class of error, e.g. `SyntaxError`, `NameError`, `TypeError`, `Interrupted`.
    public var kind: String
    /// What went wrong, in words a person can act on.
    public var message: String
    /// 1-based line and column in the cell, when the error has a position.
    public var line: Int?
    public var column: Int?
    /// Rendered lines: the message, the offending source line and a caret under the column.
    public var traceback: [String]
    public init(kind: String, message: String, line: Int? = nil, column: Int? = nil, traceback: [String] = []) {
        self.kind = kind; self.message = message; self.line = line; self.column = column
        self.traceback = traceback.isEmpty ? ["\(kind): \(message)"] : traceback
    }
}

/// One output of a running cell, in the order it happened.
public enum Output: Equatable, Sendable {
    /// Text written by `print` (stdout) or warnings (stderr).
    case stream(StreamName, String)
    /// A rich display; with an id it can be updated later (progress bars, live plots).
    case display(MimeBundle, displayID: String?)
    /// Replace an earlier display, found by its id.
    case updateDisplay(MimeBundle, displayID: String)
    /// Clear the cell's output area; `wait` clears when the next output arrives.
    case clear(wait: Bool)
    /// The value of the cell's last expression.
    case result(MimeBundle)
    /// Help text for the pager (from `%help name`).
    case pager(MimeBundle)
    /// The cell failed; nothing after this is emitted for the cell.
    case error(CellError)
}

/// How a cell's execution ended.
public enum ExecutionStatus: Equatable, Sendable {
    case ok
    case error(CellError)
}

/// Whether a block of code is ready to run (Jupyter's `is_complete`).
public enum Completeness: Equatable, Sendable {
    case complete
    /// More input is needed; `indent` is a suggested indent for the next line.
    case incomplete(indent: String)
    case invalid
}

/// Completion candidates for the text in `cursorStart ..< cursorEnd` (Unicode scalar offsets).
public struct Completion: Equatable, Sendable {
    public var matches: [String]
    public var cursorStart: Int
    public var cursorEnd: Int
    public init(matches: [String], cursorStart: Int, cursorEnd: Int) {
        self.matches = matches; self.cursorStart = cursorStart; self.cursorEnd = cursorEnd
    }
}

/// Reads a line of input for the `input("prompt")` builtin; the kernel routes it to stdin.
/// Returns nil when no input can be had (the frontend does not allow stdin).
public typealias InputProvider = (_ prompt: String, _ password: Bool) -> String?
