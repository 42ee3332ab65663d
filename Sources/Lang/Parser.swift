// The parser's statement half: blocks, bindings, functions, control flow, and error recovery.
// A syntax error abandons only its own statement: the parser skips to the next statement
// boundary and goes on, so one run reports every syntax error in the cell.

/// The statements of a cell and every syntax error found in it (lexer errors included).
public struct ParseResult: Sendable {
    /// The statements that parsed; broken ones are left out.
    public var statements: [Statement]
    /// Every syntax error, in source order.
    public var errors: [CellError]
}

/// Thrown inside the parser to abandon the current statement.
struct ParseFailure: Error { let error: CellError }

/// A recursive-descent parser with Swift's operator precedence.
public struct Parser {
    /// Deeper nesting than this (brackets, blocks, operators) is a syntax error, not a stack overflow.
    public static let maximumNesting = 128
    /// A longer run of binary operators (`1 + 1 + ...`) is a syntax error: its tree would be this deep.
    public static let maximumOperatorChain = 5_000
    /// The parser stops after this many syntax errors; the first ones say what is wrong.
    public static let maximumErrors = 100

    var tokens: [Token]
    var index = 0
    var errors: [CellError] = []
    var depth = 0
    /// False while parsing an `if`/`while`/`for` header, where `{` opens the body, not a closure.
    var allowsTrailingClosure = true
    /// Asked at each statement and each level of nesting; yes stops the parse with an `Interrupted` error.
    var isCancelled: () -> Bool = { false }
    /// Set when parsing stops early (interrupted, or too many errors): every loop then unwinds.
    var stopped = false

    /// Parses a cell (or part of one that starts at `origin`). `isCancelled` is asked as it goes;
    /// when it says yes, parsing stops with an `Interrupted` error.
    public static func parse(_ source: String, origin: SourcePosition = SourcePosition(line: 1, column: 1, offset: 0),
                             isCancelled: @escaping () -> Bool = { false }) -> ParseResult {
        let lexed = Lexer.tokenize(source, origin: origin, isCancelled: isCancelled)
        var parser = Parser(tokens: lexed.tokens)
        parser.errors = lexed.errors
        parser.isCancelled = isCancelled
        parser.stopped = lexed.interrupted
        let statements = parser.stopped ? [] : parser.parseStatements(insideBraces: false)
        let errors = parser.errors.sorted { ($0.line ?? 0, $0.column ?? 0) < ($1.line ?? 0, $1.column ?? 0) }
        return ParseResult(statements: statements, errors: deduplicated(errors))
    }

    init(tokens: [Token]) {
        self.tokens = tokens.isEmpty ? [Token(kind: .end, start: SourcePosition(line: 1, column: 1, offset: 0), end: SourcePosition(line: 1, column: 1, offset: 0))] : tokens
    }

    private static func deduplicated(_ errors: [CellError]) -> [CellError] {
        var seen = Set<String>()
        return errors.filter { seen.insert("\($0.line ?? 0):\($0.column ?? 0)").inserted }
    }

    // MARK: - Token access

    var current: Token { tokens[min(index, tokens.count - 1)] }

    func peekToken(_ ahead: Int) -> Token { tokens[min(index + ahead, tokens.count - 1)] }

    var isAtEnd: Bool { current.kind == .end }

    mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    func failure(_ message: String, at token: Token? = nil) -> ParseFailure {
        let at = token ?? current
        return ParseFailure(error: CellError(kind: "SyntaxError", message: message, line: at.start.line, column: at.start.column))
    }

    mutating func expectSymbol(_ symbol: String, _ context: String) throws {
        guard current.isSymbol(symbol) else {
            throw failure("expected `\(symbol)` \(context), found \(current.displayText)")
        }
        advance()
    }

    mutating func expectIdentifier(_ context: String) throws -> String {
        guard let name = current.identifierName else {
            throw failure("expected a name \(context), found \(current.displayText)")
        }
        advance()
        return name
    }

    mutating func skipNewlines() {
        while current.kind == .newline { advance() }
    }

    /// Throws `Interrupted` when the cell has been interrupted (and stops the parse).
    mutating func checkCancellation() throws {
        guard !stopped else { throw ParseFailure(error: CellError(kind: ErrorKind.interrupted.rawValue, message: "parsing stopped")) }
        if isCancelled() {
            stopped = true
            throw ParseFailure(error: CellError(kind: ErrorKind.interrupted.rawValue, message: "the cell was interrupted while it was being parsed",
                                                line: current.start.line, column: current.start.column))
        }
    }

    /// Counts one level of nesting; throws past `maximumNesting` so hostile input cannot overflow the stack.
    mutating func enterNesting() throws {
        try checkCancellation()
        depth += 1
        if depth > Parser.maximumNesting {
            throw failure("code is nested too deeply (more than \(Parser.maximumNesting) levels)")
        }
    }

    // MARK: - Statements

    mutating func parseStatements(insideBraces: Bool) -> [Statement] {
        var statements: [Statement] = []
        while !stopped {
            while current.kind == .newline || current.isSymbol(";") { advance() }
            if isAtEnd { break }
            if current.isSymbol("}") {
                if insideBraces { break }
                errors.append(failure("unexpected `}` without a matching `{`").error)
                advance()
                continue
            }
            let savedDepth = depth
            do {
                try checkCancellation()
                statements.append(try parseStatement())
                guard current.kind == .newline || current.isSymbol(";") || current.isSymbol("}") || isAtEnd else {
                    throw failure("expected a new line or `;` after the statement, found \(current.displayText)")
                }
            } catch let failure as ParseFailure {
                if failure.error.line != nil { errors.append(failure.error) }
                if errors.count >= Parser.maximumErrors { stopped = true }
                if stopped { break }
                depth = savedDepth
                allowsTrailingClosure = true
                synchronize()
            } catch {
                synchronize()
            }
        }
        return statements
    }

    /// Skips to the end of the broken statement: a newline or `;` outside any braces, or a `}` that closes the block.
    private mutating func synchronize() {
        var braces = 0
        while !isAtEnd {
            if braces == 0 && (current.kind == .newline || current.isSymbol(";")) { return }
            if current.isSymbol("{") { braces += 1 }
            if current.isSymbol("}") {
                if braces == 0 { return }
                braces -= 1
            }
            advance()
        }
    }

    mutating func parseBlock(_ context: String) throws -> [Statement] {
        try enterNesting()
        defer { depth -= 1 }
        try expectSymbol("{", context)
        let saved = allowsTrailingClosure
        allowsTrailingClosure = true
        defer { allowsTrailingClosure = saved }
        let body = parseStatements(insideBraces: true)
        try expectSymbol("}", "to close the block")
        return body
    }

    mutating func parseStatement() throws -> Statement {
        let start = current
        let position = start.start
        if case .keyword(let keyword) = start.kind {
            switch keyword {
            case .let, .var:
                advance()
                let name = try expectIdentifier("after `\(keyword.rawValue)`")
                if current.isSymbol(":") { advance(); try skipType() }
                var value: Expression?
                if current.isSymbol("=") {
                    advance()
                    skipNewlines()
                    value = try parseExpression()
                } else if keyword == .let {
                    throw failure("`let \(name)` needs a value: `let \(name) = ...`")
                }
                return Statement(.binding(isConstant: keyword == .let, name: name, value: value), at: position)
            case .func: return try parseFunction()
            case .if: return try parseIf()
            case .while:
                advance()
                let condition = try parseHeaderExpression()
                return Statement(.whileLoop(condition, try parseBlock("to start the `while` body")), at: position)
            case .for:
                advance()
                var names: [String] = []
                if current.isSymbol("(") {
                    advance()
                    repeat {
                        if current.isSymbol(",") { advance() }
                        names.append(try expectIdentifier("in the loop pattern"))
                    } while current.isSymbol(",")
                    try expectSymbol(")", "to close the loop pattern")
                } else {
                    names = [try expectIdentifier("for the loop variable after `for`")]
                }
                guard current.isKeyword(.in) else { throw failure("expected `in` after `for \(names.joined(separator: ", "))`, found \(current.displayText)") }
                advance()
                let sequence = try parseHeaderExpression()
                return Statement(.forIn(names, sequence, try parseBlock("to start the `for` body")), at: position)
            case .return:
                advance()
                if current.kind == .newline || current.isSymbol(";") || current.isSymbol("}") || isAtEnd {
                    return Statement(.returnValue(nil), at: position)
                }
                return Statement(.returnValue(try parseExpression()), at: position)
            case .break: advance(); return Statement(.breakLoop, at: position)
            case .continue: advance(); return Statement(.continueLoop, at: position)
            default: break
            }
        }
        let expression = try parseExpression()
        if case .symbol(let symbol) = current.kind, ["=", "+=", "-=", "*=", "/=", "%="].contains(symbol) {
            switch expression.kind {
            case .identifier, .member, .index: break
            default: throw failure("cannot assign to this expression; only to a variable, `x.field` or `x[i]`", at: start)
            }
            advance()
            skipNewlines()
            let value = try parseExpression()
            let compound = symbol == "=" ? nil : String(symbol.dropLast())
            return Statement(.assignment(expression, compoundOperator: compound, value), at: position)
        }
        return Statement(.expression(expression), at: position)
    }

    /// An `if`/`while`/`for` header, where a `{` opens the body rather than a trailing closure.
    private mutating func parseHeaderExpression() throws -> Expression {
        let saved = allowsTrailingClosure
        allowsTrailingClosure = false
        defer { allowsTrailingClosure = saved }
        return try parseExpression()
    }

    private mutating func parseIf() throws -> Statement {
        let position = current.start
        try enterNesting()
        defer { depth -= 1 }
        advance()
        let condition = try parseHeaderExpression()
        let then = try parseBlock("to start the `if` body")
        var lookahead = 0
        while peekToken(lookahead).kind == .newline { lookahead += 1 }
        guard peekToken(lookahead).isKeyword(.else) else {
            return Statement(.ifElse(condition, then, nil), at: position)
        }
        for _ in 0...lookahead { advance() }
        if current.isKeyword(.if) {
            return Statement(.ifElse(condition, then, [try parseIf()]), at: position)
        }
        return Statement(.ifElse(condition, then, try parseBlock("to start the `else` body")), at: position)
    }

    private mutating func parseFunction() throws -> Statement {
        let position = current.start
        advance()
        let name = try expectIdentifier("after `func`")
        try expectSymbol("(", "after the function name")
        var parameters: [ParameterDeclaration] = []
        while !current.isSymbol(")") {
            var parameterName = try expectIdentifier("for a parameter")
            if let internalName = current.identifierName {  // `_ x` or `label x`: the second name is used inside.
                parameterName = internalName
                advance()
            }
            if parameters.contains(where: { $0.name == parameterName }) {
                throw failure("parameter `\(parameterName)` appears twice in `\(name)`")
            }
            if current.isSymbol(":") { advance(); try skipType() }
            var defaultValue: Expression?
            if current.isSymbol("=") { advance(); defaultValue = try parseExpression() }
            parameters.append(ParameterDeclaration(name: parameterName, defaultValue: defaultValue))
            if current.isSymbol(",") { advance() } else if !current.isSymbol(")") {
                throw failure("expected `,` or `)` in the parameters of `\(name)`, found \(current.displayText)")
            }
        }
        advance()
        if current.isSymbol("->") { advance(); try skipType() }
        let body = try parseBlock("to start the body of `\(name)`")
        return Statement(.function(FunctionDeclaration(name: name, parameters: parameters, body: body)), at: position)
    }

    /// Type annotations are accepted for readability and not checked: `Int`, `[String]`, `[String: Int]?`.
    private mutating func skipType() throws {
        try enterNesting()
        defer { depth -= 1 }
        if current.isSymbol("[") {
            advance()
            try skipType()
            if current.isSymbol(":") { advance(); try skipType() }
            try expectSymbol("]", "to close the type")
        } else {
            _ = try expectIdentifier("for a type")
        }
        while current.isSymbol("?") || current.isSymbol("!") { advance() }
    }
}
