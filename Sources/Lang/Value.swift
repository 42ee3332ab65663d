// Runtime values: numbers, strings, booleans, nil, lists, records, ranges, functions, and the
// opaque host objects (datasets, models, runs) that later layers plug in through `HostObject`.
// Lists and records keep their elements in ValueStorage.swift.

import Foundation

/// A value in the cell language. Lists and records have value semantics, as in Swift.
public enum Value {
    case integer(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case null
    case list(ValueList)
    case record(Record)
    /// `lower..<upper` (half-open) or `lower...upper` (closed).
    case range(lower: Int, upper: Int, closed: Bool)
    case function(FunctionValue)
    case host(HostObject)

    /// The type name users see in `type(of:)`, `%who` and error messages.
    public var typeName: String {
        switch self {
        case .integer: return "Int"
        case .double: return "Double"
        case .string: return "String"
        case .bool: return "Bool"
        case .null: return "Nil"
        case .list: return "List"
        case .record: return "Record"
        case .range: return "Range"
        case .function: return "Function"
        case .host(let object): return object.typeName
        }
    }

    /// The value as a `Double` when it is a number.
    public var numberValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }
}

/// Something a function value can be: a registered builtin or a user function/closure.
public enum FunctionValue {
    // Boxed, so that a `Value` stays three words wide and a list of a million numbers stays small.
    indirect case builtin(Builtin)
    case user(UserFunction)

    /// The function's name as shown in messages (`closure` for anonymous ones).
    public var name: String {
        switch self {
        case .builtin(let builtin): return builtin.name
        case .user(let function): return function.name
        }
    }
}

/// A function written in the cell language (`func f(x) {...}` or a closure), with the scope it captured.
public final class UserFunction {
    let name: String
    /// Declared parameters; nil for closures that use `$0`, `$1`, ...
    let parameters: [ParameterDeclaration]?
    let body: [Statement]
    let isClosure: Bool
    let scope: Scope

    init(name: String, parameters: [ParameterDeclaration]?, body: [Statement], isClosure: Bool, scope: Scope) {
        self.name = name; self.parameters = parameters; self.body = body; self.isClosure = isClosure; self.scope = scope
    }

    /// `f(x, y = 2)` or `{ $0... }`.
    public var signature: String {
        guard let parameters else { return "{ $0, ... }" }
        let rendered = parameters.map { parameter in
            parameter.defaultValue.map { "\(parameter.name) = \($0)" } ?? parameter.name
        }
        return "\(isClosure ? "closure" : name)(\(rendered.joined(separator: ", ")))"
    }
}

/// An opaque object from a later layer (a dataset, a model, a training run).
///
/// The language reaches it only through this protocol: named members (properties and methods,
/// methods as `.function(.builtin(...))` values), optional subscripting and iteration, and a
/// rendering for the notebook. Every requirement except `typeName` has a default.
public protocol HostObject: AnyObject {
    /// The type name users see, e.g. `Dataset`.
    var typeName: String { get }
    /// Member names offered by completion after `object.`.
    var memberNames: [String] { get }
    /// The member `name`: a property's value or a method as a function value; nil when there is none.
    func member(_ name: String, context: BuiltinContext) throws -> Value?
    /// `object[index]`; nil when the object cannot be subscripted with that index.
    func subscriptValue(_ index: Value, context: BuiltinContext) throws -> Value?
    /// The elements `for x in object` visits; nil when the object is not iterable.
    var elements: [Value]? { get }
    /// How the object shows in a notebook: `text/plain` and, if it likes, `text/html` or SVG.
    func render() -> MimeBundle
    /// How many lists and records nest inside the object (0 when it holds no language values).
    var nestingDepth: Int { get }
    /// About how many bytes of language values the object holds (see `Value.footprint`).
    var footprint: Int { get }
    /// The doc comment of member `name`, for inspect and completion; nil when undocumented.
    func documentation(ofMember name: String) -> String?
}

extension HostObject {
    public var memberNames: [String] { [] }
    public func member(_ name: String, context: BuiltinContext) throws -> Value? { nil }
    public func subscriptValue(_ index: Value, context: BuiltinContext) throws -> Value? { nil }
    public var elements: [Value]? { nil }
    public func render() -> MimeBundle { MimeBundle(plain: "<\(typeName)>") }
    public var nestingDepth: Int { 0 }
    public var footprint: Int { 0 }
    public func documentation(ofMember name: String) -> String? { nil }
}

extension Value: CustomStringConvertible {
    /// The value as it prints inside a list (strings quoted).
    public var description: String { renderPlain(self, nested: true) }
}

// MARK: - Equality and ordering

extension Value: Equatable {
    public static func == (left: Value, right: Value) -> Bool {
        switch (left, right) {
        case (.integer(let a), .integer(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.integer(let a), .double(let b)), (.double(let b), .integer(let a)): return Double(a) == b
        case (.string(let a), .string(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        case (.list(let a), .list(let b)): return a == b
        case (.record(let a), .record(let b)): return a == b
        case (.range(let a, let b, let c), .range(let d, let e, let f)): return a == d && b == e && c == f
        case (.function(let a), .function(let b)):
            switch (a, b) {
            case (.builtin(let x), .builtin(let y)): return x.name == y.name
            case (.user(let x), .user(let y)): return x === y
            default: return false
            }
        case (.host(let a), .host(let b)): return a === b
        default: return false
        }
    }
}

extension Value {
    /// Orders numbers, strings, booleans and lists (element by element); nil for values that do not compare.
    static func compare(_ left: Value, _ right: Value) -> ComparisonResult? {
        switch (left, right) {
        case (.integer(let a), .integer(let b)): return a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
        case (.string(let a), .string(let b)): return a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
        case (.bool(let a), .bool(let b)): return a == b ? .orderedSame : (!a ? .orderedAscending : .orderedDescending)
        case (.list(let a), .list(let b)):
            for (x, y) in zip(a, b) {
                guard let order = compare(x, y) else { return nil }
                if order != .orderedSame { return order }
            }
            return a.count < b.count ? .orderedAscending : a.count > b.count ? .orderedDescending : .orderedSame
        default:
            guard let a = left.numberValue, let b = right.numberValue, !a.isNaN, !b.isNaN else { return nil }
            return a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
        }
    }

    /// The number of elements of a range, or nil when it does not fit in an `Int`.
    static func rangeCount(lower: Int, upper: Int, closed: Bool) -> Int? {
        let (difference, overflow) = upper.subtractingReportingOverflow(lower)
        if overflow { return nil }
        if !closed { return max(0, difference) }
        let (count, overflowClosed) = difference.addingReportingOverflow(1)
        return overflowClosed ? nil : max(0, count)
    }
}
