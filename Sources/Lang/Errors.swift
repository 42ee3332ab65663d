// Error kinds, constructors for typed errors, traceback rendering (message, source line, caret)
// and the "did you mean" suggestion for misspelled names.

/// The classes of error the language raises. Builtins from later layers throw these too.
public enum ErrorKind: String, CaseIterable, Sendable {
    case syntax = "SyntaxError"
    case name = "NameError"
    case type = "TypeError"
    case value = "ValueError"
    case index = "IndexError"
    case key = "KeyError"
    case zeroDivision = "ZeroDivisionError"
    case overflow = "OverflowError"
    case recursion = "RecursionError"
    /// A value would take more memory, or nest deeper, than the session allows.
    case memory = "MemoryError"
    case assertion = "AssertionError"
    case input = "InputError"
    case magic = "MagicError"
    case runtime = "RuntimeError"
    case interrupted = "Interrupted"
    case stepLimit = "StepLimitExceeded"
}

extension CellError {
    /// A typed error without a position; the evaluator adds the position of the code that raised it.
    public init(_ kind: ErrorKind, _ message: String) {
        self.init(kind: kind.rawValue, message: message)
    }

    /// The error with a position and a traceback rendered against `source`.
    func located(at position: SourcePosition?, source: String?) -> CellError {
        var located = self
        if located.line == nil, let position {
            located.line = position.line
            located.column = position.column
        }
        if let source { located.traceback = CellError.traceback(for: [located], source: source) }
        return located
    }

    /// A traceback shows at most this many errors, then how many more there are.
    static let maximumShownErrors = 10
    /// Source lines longer than this show only the part around the column, between ellipses.
    static let shownLineWidth = 120

    /// Lines for one or more errors: `Kind: message`, `  at line L, column C:`, the source line and a caret.
    static func traceback(for errors: [CellError], source: String) -> [String] {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        var rendered: [String] = []
        for error in errors.prefix(maximumShownErrors) {
            rendered.append("\(error.kind): \(error.message)")
            guard let line = error.line, let column = error.column, line >= 1, line <= lines.count else { continue }
            let (text, caret) = window(lines[line - 1], column: column)
            rendered.append("  at line \(line), column \(column):")
            rendered.append("    " + text)
            rendered.append("    " + String(repeating: " ", count: caret) + "^")
        }
        if errors.count > maximumShownErrors { rendered.append("... and \(errors.count - maximumShownErrors) more errors") }
        return rendered
    }

    /// The part of a source line around `column` (tabs shown as spaces) and the caret's offset in it.
    private static func window(_ line: Substring, column: Int) -> (text: String, caret: Int) {
        func shown<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
            String(String.UnicodeScalarView(scalars.map { $0 == "\t" ? " " : $0 }))
        }
        let caret = max(0, column - 1)
        let count = line.unicodeScalars.count
        guard count > shownLineWidth else { return (shown(line.unicodeScalars), caret) }
        let start = max(0, min(caret - shownLineWidth / 2, count - shownLineWidth))
        let end = min(count, start + shownLineWidth)
        let text = (start > 0 ? "…" : "") + shown(line.unicodeScalars.dropFirst(start).prefix(end - start)) + (end < count ? "…" : "")
        return (text, caret - start + (start > 0 ? 1 : 0))
    }
}

/// Names longer than this get no suggestion: the edit distance's table grows with the product of the lengths.
let maximumSuggestedNameLength = 64

/// The candidate closest to `name` by edit distance, if it is close enough to be a likely typo.
func nearestName(to name: String, among candidates: [String]) -> String? {
    let length = name.count
    guard length <= maximumSuggestedNameLength else { return nil }
    let limit = max(1, length / 3)
    var best: (name: String, distance: Int)?
    for candidate in candidates where candidate != name && !candidate.hasPrefix("$") && abs(candidate.count - length) <= limit {
        let distance = editDistance(name.lowercased(), candidate.lowercased())
        if distance <= limit, distance < (best?.distance ?? Int.max) {
            best = (candidate, distance)
        }
    }
    return best?.name
}

/// Edit distance over characters, counting an adjacent swap (`pirnt` → `print`) as one edit.
func editDistance(_ a: String, _ b: String) -> Int {
    let left = Array(a), right = Array(b)
    if left.isEmpty { return right.count }
    if right.isEmpty { return left.count }
    let width = right.count + 1
    var table = [Int](repeating: 0, count: (left.count + 1) * width)
    for i in 0...left.count { table[i * width] = i }
    for j in 0...right.count { table[j] = j }
    for i in 1...left.count {
        for j in 1...right.count {
            let cost = left[i - 1] == right[j - 1] ? 0 : 1
            var best = min(table[(i - 1) * width + j] + 1, table[i * width + j - 1] + 1, table[(i - 1) * width + j - 1] + cost)
            if i > 1, j > 1, left[i - 1] == right[j - 2], left[i - 2] == right[j - 1] {
                best = min(best, table[(i - 2) * width + j - 2] + 1)
            }
            table[i * width + j] = best
        }
    }
    return table[left.count * width + right.count]
}
