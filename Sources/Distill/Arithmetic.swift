// A small, safe arithmetic evaluator for equation labels (SVAMP and the synthetic task):
// a recursive-descent parser over numbers, + - * /, parentheses and unary minus. It never
// executes model output; garbage and division by zero give an error value, not a crash.
// The `python` dialect adds `and`/`or` with Python's semantics, because the paper's metric ran
// Python's `eval`: `(29/2) and (30/2)` is 15 there, and the released accuracies count it.

/// Why an equation has no value.
public enum ArithmeticError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case unexpectedCharacter(Character, offset: Int)
    case unexpectedToken(String, offset: Int)
    case unexpectedEnd
    case missingClosingParenthesis(offset: Int)
    case divisionByZero
    case tooDeeplyNested
    case notFinite

    public var description: String {
        switch self {
        case .empty: return "empty equation"
        case .unexpectedCharacter(let character, let offset): return "unexpected \"\(character)\" at offset \(offset)"
        case .unexpectedToken(let token, let offset): return "unexpected \"\(token)\" at offset \(offset)"
        case .unexpectedEnd: return "the equation ends too early"
        case .missingClosingParenthesis(let offset): return "the \"(\" at offset \(offset) is never closed"
        case .divisionByZero: return "division by zero"
        case .tooDeeplyNested: return "nested too deeply"
        case .notFinite: return "the value is not finite"
        }
    }
}

/// Which equations the evaluator accepts.
public enum EquationDialect: Sendable {
    /// Numbers, `+ - * /`, parentheses and unary minus.
    case strict
    /// Also `a and b` (b when a is nonzero, else a) and `a or b` (a when nonzero, else b), at the
    /// lowest precedence, as Python's `eval` reads them; the released accuracies need this.
    case python
}

/// Safe evaluation and formatting of arithmetic equations.
public enum Arithmetic {
    /// Evaluates an equation such as `( ( 12 + 7 ) * 3 )` or `-(4 - 10) / 2`.
    /// - Parameters:
    ///   - equation: Numbers, `+ - * /`, parentheses, unary minus and spaces; nothing else.
    ///   - dialect: `.strict` (the default) or `.python`, which adds `and` and `or`.
    /// - Returns: The value, or why there is none.
    public static func evaluate(_ equation: String, dialect: EquationDialect = .strict) -> Result<Double, ArithmeticError> {
        do {
            var parser = Parser(tokens: try tokenize(equation, words: dialect == .python))
            guard !parser.tokens.isEmpty else { return .failure(.empty) }
            let value = try parser.disjunction(depth: 0)
            if let extra = parser.peek {
                throw ArithmeticError.unexpectedToken(extra.text, offset: extra.offset)
            }
            guard value.isFinite else { return .failure(.notFinite) }
            return .success(value)
        } catch let error as ArithmeticError {
            return .failure(error)
        } catch {
            return .failure(.empty)
        }
    }

    /// The value of an equation, or nil when it has none.
    /// - Parameters:
    ///   - equation: The equation's text.
    ///   - dialect: `.strict` (the default) or `.python`.
    public static func value(of equation: String, dialect: EquationDialect = .strict) -> Double? {
        try? evaluate(equation, dialect: dialect).get()
    }

    /// Whether two values agree within a relative tolerance (absolute near zero).
    /// - Parameters:
    ///   - a: One value.
    ///   - b: The other.
    ///   - relativeTolerance: The allowed difference as a share of the larger magnitude (at least 1).
    public static func agree(_ a: Double, _ b: Double, relativeTolerance: Double = 1e-6) -> Bool {
        abs(a - b) <= relativeTolerance * max(1, max(abs(a), abs(b)))
    }

    /// Whether two equations have the same value; false when either has none.
    /// - Parameters:
    ///   - predicted: The predicted equation.
    ///   - gold: The gold equation.
    ///   - relativeTolerance: See `agree`.
    ///   - dialect: `.strict` (the default) or `.python`.
    public static func sameValue(_ predicted: String, _ gold: String, relativeTolerance: Double = 1e-6,
                                 dialect: EquationDialect = .strict) -> Bool {
        guard let p = value(of: predicted, dialect: dialect), let g = value(of: gold, dialect: dialect) else {
            return false
        }
        return agree(p, g, relativeTolerance: relativeTolerance)
    }

    /// A number as a person writes it: `57`, `4.75`, `-3` (at most 6 decimals).
    /// - Parameters:
    ///   - value: The number.
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        var text = String(Double((value * 1e6).rounded() / 1e6))
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    /// An equation in the teacher's compact style: `( ( 12.0 + 7.0 ) * 3.0 )` → `((12 + 7) * 3)`.
    /// Text that does not tokenize is returned unchanged.
    /// - Parameters:
    ///   - equation: The equation.
    public static func compact(_ equation: String) -> String {
        guard let tokens = try? tokenize(equation) else { return equation }
        var result = ""
        var previous: Token.Kind?
        for token in tokens {
            let unary = token.kind == .minus && (previous == nil || previous == .open || previous?.isOperator == true)
            switch token.kind {
            case .number:
                var text = token.text
                if text.contains(".") {
                    while text.hasSuffix("0") { text.removeLast() }
                    if text.hasSuffix(".") { text.removeLast() }
                }
                result += text
            case .open: result += "("
            case .close: result += ")"
            case .plus, .minus, .times, .divide, .and, .or:
                result += unary ? "-" : " \(token.text) "
            }
            previous = unary ? .open : token.kind
        }
        return result
    }

    // MARK: - Tokens and parser

    struct Token {
        enum Kind: Equatable {
            case number, plus, minus, times, divide, open, close, and, or
            var isOperator: Bool { self == .plus || self == .minus || self == .times || self == .divide }
        }
        let kind: Kind
        let text: String
        let offset: Int
        var number: Double = 0
    }

    static func tokenize(_ text: String, words: Bool = false) throws -> [Token] {
        let characters = Array(text)
        var tokens: [Token] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let symbols: [Character: Token.Kind] = ["+": .plus, "-": .minus, "*": .times, "/": .divide,
                                                    "(": .open, ")": .close]
            if character == " " || character == "\t" || character == "\n" {
                index += 1
            } else if let kind = symbols[character] {
                tokens.append(Token(kind: kind, text: String(character), offset: index))
                index += 1
            } else if character.isASCII && (character.isNumber || character == ".") {
                let start = index
                while index < characters.count, characters[index].isASCII,
                      characters[index].isNumber || characters[index] == "." { index += 1 }
                let literal = String(characters[start..<index])
                guard let value = Double(literal), literal.filter({ $0 == "." }).count <= 1 else {
                    throw ArithmeticError.unexpectedToken(literal, offset: start)
                }
                tokens.append(Token(kind: .number, text: literal, offset: start, number: value))
            } else if words, character.isLetter {
                let start = index
                while index < characters.count, characters[index].isLetter { index += 1 }
                let word = String(characters[start..<index])
                switch word {
                case "and": tokens.append(Token(kind: .and, text: word, offset: start))
                case "or": tokens.append(Token(kind: .or, text: word, offset: start))
                default: throw ArithmeticError.unexpectedToken(word, offset: start)
                }
            } else {
                throw ArithmeticError.unexpectedCharacter(character, offset: index)
            }
        }
        return tokens
    }

    /// disjunction := conjunction ('or' conjunction)* ; conjunction := expression ('and' expression)* ;
    /// expression := term (('+' | '-') term)* ; term := unary (('*' | '/') unary)* ;
    /// unary := '-' unary | '+' unary | primary ; primary := number | '(' expression ')'
    struct Parser {
        let tokens: [Token]
        var position = 0
        static let maximumDepth = 200

        init(tokens: [Token]) { self.tokens = tokens }

        var peek: Token? { position < tokens.count ? tokens[position] : nil }

        mutating func disjunction(depth: Int) throws -> Double {
            var value = try conjunction(depth: depth)
            while let token = peek, token.kind == .or {
                position += 1
                let right = try conjunction(depth: depth)
                value = value != 0 ? value : right
            }
            return value
        }

        mutating func conjunction(depth: Int) throws -> Double {
            var value = try expression(depth: depth)
            while let token = peek, token.kind == .and {
                position += 1
                let right = try expression(depth: depth)
                value = value == 0 ? value : right
            }
            return value
        }

        mutating func expression(depth: Int) throws -> Double {
            var value = try term(depth: depth)
            while let token = peek, token.kind == .plus || token.kind == .minus {
                position += 1
                let right = try term(depth: depth)
                value = token.kind == .plus ? value + right : value - right
            }
            return value
        }

        mutating func term(depth: Int) throws -> Double {
            var value = try unary(depth: depth)
            while let token = peek, token.kind == .times || token.kind == .divide {
                position += 1
                let right = try unary(depth: depth)
                if token.kind == .times {
                    value *= right
                } else {
                    guard right != 0 else { throw ArithmeticError.divisionByZero }
                    value /= right
                }
            }
            return value
        }

        mutating func unary(depth: Int) throws -> Double {
            guard depth < Parser.maximumDepth else { throw ArithmeticError.tooDeeplyNested }
            guard let token = peek else { throw ArithmeticError.unexpectedEnd }
            switch token.kind {
            case .minus:
                position += 1
                return -(try unary(depth: depth + 1))
            case .plus:
                position += 1
                return try unary(depth: depth + 1)
            case .number:
                position += 1
                return token.number
            case .open:
                position += 1
                let value = try disjunction(depth: depth + 1)
                guard let close = peek, close.kind == .close else {
                    throw ArithmeticError.missingClosingParenthesis(offset: token.offset)
                }
                position += 1
                return value
            case .times, .divide, .close, .and, .or:
                throw ArithmeticError.unexpectedToken(token.text, offset: token.offset)
            }
        }
    }
}
