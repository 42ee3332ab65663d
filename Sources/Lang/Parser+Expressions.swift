// The parser's expression half: precedence climbing over Swift's operator table, then prefix
// operators, postfix calls/members/subscripts/trailing closures, and primary expressions.

/// Swift's binary precedence groups, lowest first (ternary and assignment are handled apart).
enum BinaryPrecedence {
    static let table: [String: Int] = [
        "||": 1, "&&": 2,
        "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
        "??": 4, "..<": 5, "...": 5,
        "+": 6, "-": 6, "*": 7, "/": 7, "%": 7,
    ]
    static let rightAssociative: Set<String> = ["??"]
    static let nonAssociative: Set<Int> = [3, 5]
}

extension Parser {
    /// Parses one expression from source text (used for `\(...)` interpolations and `%time expr`).
    static func parseExpression(_ source: String, origin: SourcePosition, depth: Int, isCancelled: @escaping () -> Bool = { false }) -> (Expression?, [CellError]) {
        let lexed = Lexer.tokenize(source, origin: origin, isCancelled: isCancelled)
        var parser = Parser(tokens: lexed.tokens)
        parser.depth = depth
        parser.errors = lexed.errors
        parser.isCancelled = isCancelled
        parser.stopped = lexed.interrupted
        do {
            let expression = try parser.parseExpression()
            if !parser.isAtEnd {
                throw parser.failure("unexpected \(parser.current.displayText) in interpolation")
            }
            return (expression, parser.errors)
        } catch let failure as ParseFailure {
            return (nil, parser.errors + [failure.error])
        } catch {
            return (nil, parser.errors)
        }
    }

    mutating func parseExpression() throws -> Expression {
        try enterNesting()
        defer { depth -= 1 }
        let condition = try parseBinary(minimumPrecedence: 1)
        guard current.isSymbol("?") else { return condition }
        advance()
        skipNewlines()
        let then = try parseExpression()
        skipNewlines()
        try expectSymbol(":", "in the `? :` conditional")
        skipNewlines()
        let otherwise = try parseExpression()
        return Expression(.ternary(condition, then, otherwise), at: condition.position)
    }

    private mutating func parseBinary(minimumPrecedence: Int) throws -> Expression {
        var left = try parseUnary()
        var lastNonAssociative: Int?
        var operators = 0
        while case .symbol(let op) = current.kind, let precedence = BinaryPrecedence.table[op], precedence >= minimumPrecedence {
            operators += 1
            if operators > Parser.maximumOperatorChain {
                throw failure("expression has more than \(Parser.maximumOperatorChain) operators in a row; split it up")
            }
            if let last = lastNonAssociative, last == precedence {
                throw failure("`\(op)` cannot follow another operator of the same kind without parentheses")
            }
            let operatorToken = current
            advance()
            skipNewlines()
            try enterNesting()
            defer { depth -= 1 }
            let nextMinimum = BinaryPrecedence.rightAssociative.contains(op) ? precedence : precedence + 1
            let right = try parseBinary(minimumPrecedence: nextMinimum)
            left = Expression(.binary(op, left, right), at: operatorToken.start)
            lastNonAssociative = BinaryPrecedence.nonAssociative.contains(precedence) ? precedence : nil
        }
        return left
    }

    private mutating func parseUnary() throws -> Expression {
        if case .symbol(let op) = current.kind, op == "-" || op == "!" || op == "+" {
            let position = current.start
            advance()
            try enterNesting()
            defer { depth -= 1 }
            let operand = try parseUnary()
            if op == "-", case .integer(let value) = operand.kind { return Expression(.integer(-value), at: position) }
            if op == "-", case .double(let value) = operand.kind { return Expression(.double(-value), at: position) }
            return Expression(.unary(op, operand), at: position)
        }
        return try parsePostfix(try parsePrimary())
    }

    private mutating func parsePostfix(_ base: Expression) throws -> Expression {
        var expression = base
        var links = 0
        while true {
            links += 1
            if links > Parser.maximumNesting * 4 { throw failure("expression chain is too long") }
            if current.isSymbol("(") {
                advance()
                let arguments = try parseArguments(closing: ")")
                expression = Expression(.call(expression, arguments), at: expression.position)
            } else if current.isSymbol("[") {
                let position = current.start
                advance()
                skipNewlines()
                let index = try withTrailingClosures { try $0.parseExpression() }
                try expectSymbol("]", "to close the subscript")
                expression = Expression(.index(expression, index), at: position)
            } else if current.isSymbol(".") || (current.kind == .newline && nextNonNewlineIsDot()) {
                skipNewlines()
                advance()
                let namePosition = current.start  // Errors about a member point at its name.
                let name = try expectIdentifier("after `.`")
                expression = Expression(.member(expression, name), at: namePosition)
            } else if current.isSymbol("{") && allowsTrailingClosure {
                let closure = try parseClosure()
                let argument = CallArgument(label: nil, value: closure)
                if case .call(let callee, let arguments) = expression.kind {
                    expression = Expression(.call(callee, arguments + [argument]), at: expression.position)
                } else {
                    expression = Expression(.call(expression, [argument]), at: expression.position)
                }
            } else {
                return expression
            }
        }
    }

    private func nextNonNewlineIsDot() -> Bool {
        var ahead = 0
        while peekToken(ahead).kind == .newline { ahead += 1 }
        return peekToken(ahead).isSymbol(".")
    }

    private mutating func withTrailingClosures<T>(_ body: (inout Parser) throws -> T) rethrows -> T {
        let saved = allowsTrailingClosure
        allowsTrailingClosure = true
        defer { allowsTrailingClosure = saved }
        return try body(&self)
    }

    private mutating func parseArguments(closing: String) throws -> [CallArgument] {
        try enterNesting()
        defer { depth -= 1 }
        var arguments: [CallArgument] = []
        try withTrailingClosures { parser in
            while !parser.current.isSymbol(closing) {
                var label: String?
                if let name = parser.current.identifierName, parser.peekToken(1).isSymbol(":") {
                    label = name
                    parser.advance(); parser.advance()
                }
                arguments.append(CallArgument(label: label, value: try parser.parseExpression()))
                if parser.current.isSymbol(",") { parser.advance() } else if !parser.current.isSymbol(closing) {
                    throw parser.failure("expected `,` or `\(closing)` in the argument list, found \(parser.current.displayText)")
                }
            }
            parser.advance()
        }
        return arguments
    }

    private mutating func parsePrimary() throws -> Expression {
        let token = current
        let position = token.start
        switch token.kind {
        case .integer(let value): advance(); return Expression(.integer(value), at: position)
        case .double(let value): advance(); return Expression(.double(value), at: position)
        case .string(let segments): advance(); return try parseString(segments, at: position)
        case .identifier(let name): advance(); return Expression(.identifier(name), at: position)
        case .shorthandArgument(let number): advance(); return Expression(.shorthandArgument(number), at: position)
        case .keyword(.true): advance(); return Expression(.bool(true), at: position)
        case .keyword(.false): advance(); return Expression(.bool(false), at: position)
        case .keyword(.nil): advance(); return Expression(.nilLiteral, at: position)
        case .symbol("("):
            advance()
            try enterNesting()
            defer { depth -= 1 }
            let inner = try withTrailingClosures { try $0.parseExpression() }
            try expectSymbol(")", "to close `(`")
            return inner
        case .symbol("["): return try parseCollection()
        case .symbol("{"): return try parseClosure()
        case .keyword(let keyword):
            throw failure("`\(keyword.rawValue)` cannot be used here; expected an expression")
        case .newline, .end:
            throw failure("expected an expression, found \(token.displayText)")
        default:
            throw failure("expected an expression, found \(token.displayText)")
        }
    }

    private mutating func parseString(_ segments: [StringSegment], at position: SourcePosition) throws -> Expression {
        var parts: [StringPart] = []
        for segment in segments {
            switch segment {
            case .text(let text): parts.append(.text(text))
            case .interpolation(let code, let origin):
                let (expression, nestedErrors) = Parser.parseExpression(code, origin: origin, depth: depth + 1, isCancelled: isCancelled)
                errors += nestedErrors
                if let expression { parts.append(.expression(expression)) } else if nestedErrors.isEmpty {
                    throw failure("empty `\\()` interpolation")
                }
            }
        }
        return Expression(.string(parts), at: position)
    }

    /// `[a, b]`, `[]`, `["k": v]` or `[:]`.
    private mutating func parseCollection() throws -> Expression {
        let position = current.start
        try enterNesting()
        defer { depth -= 1 }
        advance()
        return try withTrailingClosures { parser in
            if parser.current.isSymbol(":") && parser.peekToken(1).isSymbol("]") {
                parser.advance(); parser.advance()
                return Expression(.record([]), at: position)
            }
            var items: [Expression] = []
            var entries: [RecordEntry] = []
            while !parser.current.isSymbol("]") {
                let first = try parser.parseExpression()
                if parser.current.isSymbol(":") {
                    guard items.isEmpty else { throw parser.failure("a list cannot mix in `key: value` entries") }
                    parser.advance()
                    entries.append(RecordEntry(key: first, value: try parser.parseExpression()))
                } else {
                    guard entries.isEmpty else { throw parser.failure("expected `:` and a value in the record literal") }
                    items.append(first)
                }
                if parser.current.isSymbol(",") { parser.advance() } else if !parser.current.isSymbol("]") {
                    throw parser.failure("expected `,` or `]` in the literal, found \(parser.current.displayText)")
                }
            }
            parser.advance()
            return entries.isEmpty ? Expression(.list(items), at: position) : Expression(.record(entries), at: position)
        }
    }

    /// `{ x, y in body }`, `{ (x, y) in body }` or `{ body using $0 }`.
    mutating func parseClosure() throws -> Expression {
        let position = current.start
        try enterNesting()
        defer { depth -= 1 }
        try expectSymbol("{", "to start a closure")
        let parameters = closureParameters()
        let saved = allowsTrailingClosure
        allowsTrailingClosure = true
        defer { allowsTrailingClosure = saved }
        let body = parseStatements(insideBraces: true)
        try expectSymbol("}", "to close the closure")
        return Expression(.closure(ClosureLiteral(parameters: parameters, body: body)), at: position)
    }

    /// Reads `x, y in` or `(x, y) in` at the start of a closure, or returns nil and consumes nothing.
    private mutating func closureParameters() -> [String]? {
        var ahead = 0
        while peekToken(ahead).kind == .newline { ahead += 1 }
        let parenthesized = peekToken(ahead).isSymbol("(")
        if parenthesized { ahead += 1 }
        var names: [String] = []
        while let name = peekToken(ahead).identifierName {
            names.append(name)
            ahead += 1
            if peekToken(ahead).isSymbol(":"), peekToken(ahead + 1).identifierName != nil { ahead += 2 }
            guard peekToken(ahead).isSymbol(",") else { break }
            ahead += 1
        }
        if parenthesized {
            guard peekToken(ahead).isSymbol(")") else { return nil }
            ahead += 1
        }
        guard peekToken(ahead).isKeyword(.in), !names.isEmpty || parenthesized else { return nil }
        for _ in 0...ahead { advance() }
        return names
    }
}
