// Tokens of the cell language and the positions they carry. Positions count Unicode scalars,
// the unit that Jupyter's cursor offsets use, so a caret lines up with what the user typed.

/// A place in a cell's source: 1-based line and column, and the 0-based scalar offset.
public struct SourcePosition: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var offset: Int
    public init(line: Int, column: Int, offset: Int) {
        self.line = line; self.column = column; self.offset = offset
    }
    public var description: String { "\(line):\(column)" }
}

/// The reserved words of the language.
public enum Keyword: String, CaseIterable, Sendable {
    case `let`, `var`, `func`, `return`, `if`, `else`, `for`, `in`, `while`, `break`, `continue`
    case `true`, `false`, `nil`
}

/// A piece of a string literal: plain text, or the source of a `\(...)` interpolation.
public enum StringSegment: Equatable, Sendable {
    case text(String)
    /// The code between `\(` and `)`, and where that code starts in the cell.
    case interpolation(String, SourcePosition)
}

/// What a token is.
public enum TokenKind: Equatable, Sendable {
    case integer(Int)
    case double(Double)
    case string([StringSegment])
    case identifier(String)
    /// `$0`, `$1`, ...: a closure's implicit parameters.
    case shorthandArgument(Int)
    case keyword(Keyword)
    /// An operator or punctuation mark, e.g. `+`, `..<`, `(`, `,`.
    case symbol(String)
    /// A line break outside parentheses and brackets; it ends a statement.
    case newline
    /// The end of the cell; always the last token.
    case end
}

/// One token and where it starts and ends (the end is exclusive).
public struct Token: Equatable, Sendable {
    public var kind: TokenKind
    public var start: SourcePosition
    public var end: SourcePosition
    public init(kind: TokenKind, start: SourcePosition, end: SourcePosition) {
        self.kind = kind; self.start = start; self.end = end
    }

    /// True when this token is the symbol `text`.
    func isSymbol(_ text: String) -> Bool {
        if case .symbol(let s) = kind { return s == text }
        return false
    }

    /// True when this token is the keyword `word`.
    func isKeyword(_ word: Keyword) -> Bool {
        if case .keyword(let k) = kind { return k == word }
        return false
    }

    /// The identifier's name, if this is an identifier.
    var identifierName: String? {
        if case .identifier(let name) = kind { return name }
        return nil
    }

    /// How the token reads in an error message.
    var displayText: String {
        switch kind {
        case .integer(let value): return "\(value)"
        case .double(let value): return "\(value)"
        case .string: return "string literal"
        case .identifier(let name): return "`\(name)`"
        case .shorthandArgument(let index): return "`$\(index)`"
        case .keyword(let keyword): return "`\(keyword.rawValue)`"
        case .symbol(let symbol): return "`\(symbol)`"
        case .newline: return "end of line"
        case .end: return "end of cell"
        }
    }
}

/// Symbols, longest first so that the lexer matches `..<` before `..` and `==` before `=`.
let symbolTable: [String] = [
    "...", "..<", "==", "!=", "<=", ">=", "&&", "||", "??", "->", "+=", "-=", "*=", "/=", "%=",
    "+", "-", "*", "/", "%", "=", "<", ">", "!", "?", "(", ")", "[", "]", "{", "}", ",", ":",
    ";", ".",
]
