// The syntax tree the parser builds and the evaluator walks. Every node keeps the position of
// its first token, so runtime errors can point at the code that raised them.
// `description` prints a node as an S-expression, which keeps parser tests short and exact.

/// An expression node and where it is: its first token, except that an operator expression is
/// placed at its operator, a member access at the member's name and a subscript at its `[`, which is
/// where a caret under an error helps most.
public struct Expression: Sendable, CustomStringConvertible {
    public var kind: ExpressionKind
    public var position: SourcePosition
    public init(_ kind: ExpressionKind, at position: SourcePosition) {
        self.kind = kind; self.position = position
    }
}

/// A piece of an interpolated string: literal text or an embedded expression.
public enum StringPart: Sendable {
    case text(String)
    case expression(Expression)
}

/// One argument in a call: `value` or `label: value`.
public struct CallArgument: Sendable {
    public var label: String?
    public var value: Expression
}

/// One `key: value` entry of a record literal.
public struct RecordEntry: Sendable {
    public var key: Expression
    public var value: Expression
}

/// A closure literal `{ x, y in ... }` or `{ $0 * 2 }` (then `parameters` is nil).
public final class ClosureLiteral: Sendable {
    public let parameters: [String]?
    public let body: [Statement]
    public init(parameters: [String]?, body: [Statement]) {
        self.parameters = parameters; self.body = body
    }
}

/// A parameter of a user function: `x` or `x = default`; a type annotation is allowed and ignored.
public struct ParameterDeclaration: Sendable {
    public var name: String
    public var defaultValue: Expression?
}

/// `func name(parameters) { body }`.
public final class FunctionDeclaration: Sendable {
    public let name: String
    public let parameters: [ParameterDeclaration]
    public let body: [Statement]
    public init(name: String, parameters: [ParameterDeclaration], body: [Statement]) {
        self.name = name; self.parameters = parameters; self.body = body
    }
}

/// The kinds of expression.
public indirect enum ExpressionKind: Sendable {
    case integer(Int)
    case double(Double)
    case string([StringPart])
    case bool(Bool)
    case nilLiteral
    case identifier(String)
    case shorthandArgument(Int)
    case list([Expression])
    case record([RecordEntry])
    /// `-x`, `!x`, `+x`.
    case unary(String, Expression)
    /// Arithmetic, comparison, logic, `??` and the range operators `..<` and `...`.
    case binary(String, Expression, Expression)
    case ternary(Expression, Expression, Expression)
    case call(Expression, [CallArgument])
    case member(Expression, String)
    case index(Expression, Expression)
    case closure(ClosureLiteral)
}

/// A statement node and where it starts.
public struct Statement: Sendable, CustomStringConvertible {
    public var kind: StatementKind
    public var position: SourcePosition
    public init(_ kind: StatementKind, at position: SourcePosition) {
        self.kind = kind; self.position = position
    }
}

/// The kinds of statement.
public indirect enum StatementKind: Sendable {
    case expression(Expression)
    /// `let name = value` (constant) or `var name = value`; a `var` may omit the value (nil).
    case binding(isConstant: Bool, name: String, value: Expression?)
    /// `target = value`, or a compound form such as `+=` (the operator is `+`).
    case assignment(Expression, compoundOperator: String?, Expression)
    case function(FunctionDeclaration)
    case ifElse(Expression, [Statement], [Statement]?)
    /// `for x in xs { }`, or `for (i, x) in xs.enumerated() { }`, which unpacks each element (a record's values or a list's items).
    case forIn([String], Expression, [Statement])
    case whileLoop(Expression, [Statement])
    case returnValue(Expression?)
    case breakLoop
    case continueLoop
}

// MARK: - S-expression rendering

extension Expression {
    public var description: String {
        switch kind {
        case .integer(let value): return "\(value)"
        case .double(let value): return "\(value)"
        case .string(let parts):
            let inner = parts.map { part -> String in
                switch part {
                case .text(let text): return text.debugDescription
                case .expression(let expression): return expression.description
                }
            }
            return parts.count == 1 && inner[0].hasPrefix("\"") ? inner[0] : "(str \(inner.joined(separator: " ")))"
        case .bool(let value): return "\(value)"
        case .nilLiteral: return "nil"
        case .identifier(let name): return name
        case .shorthandArgument(let index): return "$\(index)"
        case .list(let items): return "(list\(items.map { " \($0)" }.joined()))"
        case .record(let entries): return "(record\(entries.map { " \($0.key):\($0.value)" }.joined()))"
        case .unary(let op, let operand): return "(\(op) \(operand))"
        case .binary(let op, let left, let right): return "(\(op) \(left) \(right))"
        case .ternary(let condition, let then, let otherwise): return "(? \(condition) \(then) \(otherwise))"
        case .call(let callee, let arguments):
            let rendered = arguments.map { argument in
                argument.label.map { " \($0):\(argument.value)" } ?? " \(argument.value)"
            }
            return "(call \(callee)\(rendered.joined()))"
        case .member(let base, let name): return "(. \(base) \(name))"
        case .index(let base, let index): return "(index \(base) \(index))"
        case .closure(let closure):
            let parameters = closure.parameters.map { "(\($0.joined(separator: " ")))" } ?? "_"
            return "(closure \(parameters)\(closure.body.map { " \($0)" }.joined()))"
        }
    }
}

extension Statement {
    public var description: String {
        func block(_ statements: [Statement]) -> String { "{\(statements.map { " \($0)" }.joined())}" }
        switch kind {
        case .expression(let expression): return expression.description
        case .binding(let isConstant, let name, let value):
            return "(\(isConstant ? "let" : "var") \(name)\(value.map { " \($0)" } ?? ""))"
        case .assignment(let target, let op, let value): return "(\(op ?? "")= \(target) \(value))"
        case .function(let declaration):
            let parameters = declaration.parameters.map { p in p.defaultValue.map { "\(p.name)=\($0)" } ?? p.name }
            return "(func \(declaration.name) (\(parameters.joined(separator: " "))) \(block(declaration.body)))"
        case .ifElse(let condition, let then, let otherwise):
            return "(if \(condition) \(block(then))\(otherwise.map { " " + block($0) } ?? ""))"
        case .forIn(let names, let sequence, let body):
            let pattern = names.count == 1 ? names[0] : "(\(names.joined(separator: " ")))"
            return "(for \(pattern) \(sequence) \(block(body)))"
        case .whileLoop(let condition, let body): return "(while \(condition) \(block(body)))"
        case .returnValue(let value): return "(return\(value.map { " \($0)" } ?? ""))"
        case .breakLoop: return "(break)"
        case .continueLoop: return "(continue)"
        }
    }
}
