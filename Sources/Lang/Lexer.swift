// The lexer: source text → tokens. It never stops at the first problem; it records a syntax
// error, skips the bad character and goes on, so the parser can report every error in a cell.

/// The result of lexing a cell.
public struct LexResult: Sendable {
    /// The tokens, ending with `.end`.
    public var tokens: [Token]
    /// Syntax errors found while lexing (bad characters, unterminated strings, huge literals).
    public var errors: [CellError]
    /// True when the cell ends inside a string literal (more input could complete it).
    public var endsInsideString: Bool
    /// True when the cell ends inside a `/* */` comment.
    public var endsInsideComment: Bool
    /// True when lexing stopped early because `isCancelled` said so (the errors say it, too).
    public var interrupted: Bool = false
}

/// Turns a cell's text into tokens. Newlines inside `(...)` and `[...]` are dropped, so calls and
/// lists may span lines; inside `{...}` they separate statements.
public struct Lexer {
    /// A cell with more tokens than this is an error: data that big belongs in a file, and its
    /// syntax tree alone would take gigabytes.
    public static let maximumTokens = 2_000_000
    /// Errors after this many are not collected; the first ones say what is wrong.
    public static let maximumErrors = 100

    private let scalars: [Unicode.Scalar]
    private let isCancelled: () -> Bool
    private var interrupted = false
    private var index = 0
    private var line = 1
    private var column = 1
    private var bracketStack: [Unicode.Scalar] = []
    private var tokens: [Token] = []
    private var errors: [CellError] = []
    private var endsInsideString = false
    private var endsInsideComment = false
    private let origin: SourcePosition

    /// Lexes `source`; `origin` is where the text starts in its cell (for interpolations and magics).
    /// `isCancelled` is asked every 4,096 characters; when it says yes, lexing stops with an `Interrupted` error.
    public static func tokenize(_ source: String, origin: SourcePosition = SourcePosition(line: 1, column: 1, offset: 0),
                                isCancelled: @escaping () -> Bool = { false }) -> LexResult {
        var lexer = Lexer(source: source, origin: origin, isCancelled: isCancelled)
        lexer.run()
        return LexResult(tokens: lexer.tokens, errors: lexer.errors,
                         endsInsideString: lexer.endsInsideString, endsInsideComment: lexer.endsInsideComment, interrupted: lexer.interrupted)
    }

    private init(source: String, origin: SourcePosition, isCancelled: @escaping () -> Bool) {
        scalars = Array(source.unicodeScalars)
        self.isCancelled = isCancelled
        self.origin = origin
        line = origin.line
        column = origin.column
    }

    private var position: SourcePosition {
        SourcePosition(line: line, column: column, offset: origin.offset + index)
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        let at = index + ahead
        return at < scalars.count ? scalars[at] : nil
    }

    private mutating func advance() {
        guard let scalar = peek() else { return }
        index += 1
        if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
    }

    private mutating func fail(_ message: @autoclosure () -> String, at start: SourcePosition) {
        guard errors.count < Lexer.maximumErrors else { return }
        errors.append(CellError(kind: "SyntaxError", message: message(), line: start.line, column: start.column))
    }

    private mutating func add(_ kind: TokenKind, from start: SourcePosition) {
        tokens.append(Token(kind: kind, start: start, end: position))
    }

    private mutating func run() {
        var nextCheck = 0
        while let scalar = peek() {
            if index >= nextCheck {
                nextCheck = index + 4096
                if isCancelled() {
                    interrupted = true
                    errors.append(CellError(kind: ErrorKind.interrupted.rawValue, message: "the cell was interrupted while it was being read",
                                            line: line, column: column))
                    break
                }
            }
            if tokens.count >= Lexer.maximumTokens {
                errors.append(CellError(kind: ErrorKind.syntax.rawValue, message: "the cell has more than \(groupedDigits(Lexer.maximumTokens)) tokens; "
                                        + "load data that big from a file (e.g. with `jsonl(...)`) instead of writing it in a cell", line: line, column: column))
                break
            }
            let start = position
            if scalar == "\n" {
                advance()
                let insideBrackets = bracketStack.last.map { $0 == "(" || $0 == "[" } ?? false
                if !insideBrackets { add(.newline, from: start) }
            } else if scalar == " " || scalar == "\t" || scalar == "\r" {
                advance()
            } else if scalar == "/" && peek(1) == "/" {
                while let next = peek(), next != "\n" { advance() }
            } else if scalar == "/" && peek(1) == "*" {
                skipBlockComment(start: start)
            } else if isASCIIDigit(scalar) {
                lexNumber(start: start)
            } else if isIdentifierStart(scalar) {
                lexIdentifier(start: start)
            } else if scalar == "$" {
                lexShorthand(start: start)
            } else if scalar == "\"" {
                lexString(start: start)
            } else {
                lexSymbol(start: start)
            }
        }
        tokens.append(Token(kind: .end, start: position, end: position))
    }

    private mutating func skipBlockComment(start: SourcePosition) {
        advance(); advance()
        var depth = 1  // Swift's block comments nest.
        while depth > 0 {
            guard let scalar = peek() else {
                endsInsideComment = true
                fail("unterminated `/*` comment", at: start)
                return
            }
            if scalar == "/" && peek(1) == "*" { depth += 1; advance() } else if scalar == "*" && peek(1) == "/" { depth -= 1; advance() }
            advance()
        }
    }

    private mutating func lexNumber(start: SourcePosition) {
        var text = ""
        var isDouble = false
        func takeDigits(_ lexer: inout Lexer, _ text: inout String) {
            while let next = lexer.peek(), isASCIIDigit(next) || next == "_" {
                if next != "_" { text.unicodeScalars.append(next) }
                lexer.advance()
            }
        }
        takeDigits(&self, &text)
        // A `.` is a decimal point only before a digit, so `1..<5` and `1...3` stay ranges.
        if peek() == ".", let after = peek(1), isASCIIDigit(after) {
            isDouble = true
            text.append("."); advance()
            takeDigits(&self, &text)
        }
        if let e = peek(), e == "e" || e == "E" {
            var lookahead = 1
            if let sign = peek(1), sign == "+" || sign == "-" { lookahead = 2 }
            if let digit = peek(lookahead), isASCIIDigit(digit) {
                isDouble = true
                text.append("e")
                advance()
                if lookahead == 2, let sign = peek() { text.unicodeScalars.append(sign); advance() }
                takeDigits(&self, &text)
            }
        }
        if let next = peek(), isIdentifierStart(next) {
            fail("a number cannot be followed directly by `\(next)`", at: position)
        }
        if isDouble {
            add(.double(Double(text) ?? 0), from: start)
        } else if let value = Int(text) {
            add(.integer(value), from: start)
        } else {
            fail("integer literal \(text) does not fit in 64 bits", at: start)
            add(.integer(0), from: start)
        }
    }

    private mutating func lexIdentifier(start: SourcePosition) {
        var name = ""
        while let next = peek(), isIdentifierPart(next) {
            name.unicodeScalars.append(next)
            advance()
        }
        if let keyword = Keyword(rawValue: name) {
            add(.keyword(keyword), from: start)
        } else {
            add(.identifier(name), from: start)
        }
    }

    private mutating func lexShorthand(start: SourcePosition) {
        advance()
        var digits = ""
        while let next = peek(), isASCIIDigit(next) { digits.unicodeScalars.append(next); advance() }
        if let number = Int(digits), number < 100 {
            add(.shorthandArgument(number), from: start)
        } else {
            fail("`$` must be followed by a parameter number, as in `$0`", at: start)
        }
    }

    private mutating func lexString(start: SourcePosition) {
        advance()
        var segments: [StringSegment] = []
        var text = ""
        while true {
            guard let scalar = peek(), scalar != "\n" else {
                if peek() == nil { endsInsideString = true }
                fail("unterminated string literal", at: start)
                break
            }
            if scalar == "\"" { advance(); break }
            if scalar != "\\" { text.unicodeScalars.append(scalar); advance(); continue }
            let escapeStart = position
            advance()
            guard let escaped = peek() else { continue }
            advance()
            switch escaped {
            case "n": text.append("\n")
            case "t": text.append("\t")
            case "r": text.append("\r")
            case "0": text.append("\0")
            case "\"": text.append("\"")
            case "'": text.append("'")
            case "\\": text.append("\\")
            case "u": text += lexUnicodeEscape(start: escapeStart)
            case "(":
                if !text.isEmpty { segments.append(.text(text)); text = "" }
                if let code = lexInterpolation(start: escapeStart) { segments.append(code) }
            default: fail("unknown escape sequence `\\\(escaped)`", at: escapeStart)
            }
        }
        if !text.isEmpty || segments.isEmpty { segments.append(.text(text)) }
        add(.string(segments), from: start)
    }

    private mutating func lexUnicodeEscape(start: SourcePosition) -> String {
        guard peek() == "{" else { fail("expected `{` after `\\u`", at: start); return "" }
        advance()
        var hex = ""
        while let next = peek(), next != "}", next != "\"", next != "\n", hex.count < 9 {
            hex.unicodeScalars.append(next); advance()
        }
        guard peek() == "}" else { fail("unterminated `\\u{...}` escape", at: start); return "" }
        advance()
        guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
            fail("`\\u{\(hex)}` is not a valid Unicode scalar", at: start); return ""
        }
        return String(Character(scalar))
    }

    /// Reads the code of `\( ... )` up to its matching parenthesis, skipping nested strings.
    private mutating func lexInterpolation(start: SourcePosition) -> StringSegment? {
        let codeStart = position
        var code = ""
        var depth = 1
        var inString = false
        while let scalar = peek(), scalar != "\n" {
            if inString {
                if scalar == "\\" { code.unicodeScalars.append(scalar); advance(); if let n = peek(), n != "\n" { code.unicodeScalars.append(n); advance() }; continue }
                if scalar == "\"" { inString = false }
            } else if scalar == "\"" {
                inString = true
            } else if scalar == "(" {
                depth += 1
            } else if scalar == ")" {
                depth -= 1
                if depth == 0 { advance(); return .interpolation(code, codeStart) }
            }
            code.unicodeScalars.append(scalar)
            advance()
        }
        if peek() == nil { endsInsideString = true }
        fail("unterminated `\\(` interpolation in string literal", at: start)
        return nil
    }

    private mutating func lexSymbol(start: SourcePosition) {
        let candidates = peek().flatMap { symbolsByFirstScalar[$0] } ?? []
        for (symbol, scalars) in candidates where matches(scalars) {
            for _ in scalars { advance() }
            trackBrackets(symbol)
            add(.symbol(symbol), from: start)
            return
        }
        let scalar = peek()
        fail("unexpected character `\(scalar.map { String(Character($0)) } ?? "")`", at: start)
        advance()
    }

    private func matches(_ symbol: [Unicode.Scalar]) -> Bool {
        var offset = 0
        for scalar in symbol {
            guard peek(offset) == scalar else { return false }
            offset += 1
        }
        return true
    }

    private mutating func trackBrackets(_ symbol: String) {
        switch symbol {
        case "(", "[", "{": if let s = symbol.unicodeScalars.first { bracketStack.append(s) }
        case ")": if bracketStack.last == "(" { bracketStack.removeLast() }
        case "]": if bracketStack.last == "[" { bracketStack.removeLast() }
        case "}": if bracketStack.last == "{" { bracketStack.removeLast() }
        default: break
        }
    }
}

/// The symbol table as scalars, by first scalar (longest first), so matching tries only the few
/// symbols that can match and does not walk strings.
private let symbolsByFirstScalar: [Unicode.Scalar: [(String, [Unicode.Scalar])]] = Dictionary(
    grouping: symbolTable.map { ($0, Array($0.unicodeScalars)) }, by: { $0.1[0] })

func isASCIIDigit(_ scalar: Unicode.Scalar) -> Bool { scalar >= "0" && scalar <= "9" }

func isIdentifierStart(_ scalar: Unicode.Scalar) -> Bool {
    // ASCII first: the Unicode property lookup is slow, and nearly every character is ASCII.
    if scalar.isASCII { return scalar == "_" || (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") }
    return scalar.properties.isAlphabetic || (scalar.properties.isEmoji && scalar.value > 0xFF)
}

func isIdentifierPart(_ scalar: Unicode.Scalar) -> Bool {
    isIdentifierStart(scalar) || isASCIIDigit(scalar)
}
