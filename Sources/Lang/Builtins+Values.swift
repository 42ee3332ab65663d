// Builtins for numbers, conversions and collections: len/count, range/stride, min/max/sum,
// abs/round/sqrt/pow, str/int/double.

import Foundation

private func collectionCount(_ value: Value, _ context: BuiltinContext, name: String) throws -> Int {
    switch value {
    case .list(let items): return items.count
    case .string(let text): return try characterCount(text, context)
    case .record(let record): return record.count
    case .range(let lower, let upper, let closed):
        guard let count = Value.rangeCount(lower: lower, upper: upper, closed: closed) else {
            throw CellError(.overflow, "the range has more elements than an Int can count")
        }
        return count
    case .host(let object):
        if let elements = object.elements { return elements.count }
        fallthrough
    default:
        throw CellError(.type, "`\(name)` needs a List, String, Record or Range, got \(value.typeName)")
    }
}

/// The items of a variadic call, or the elements of its single list argument (`max([1, 2])` or `max(1, 2)`).
private func items(_ arguments: Arguments, _ context: BuiltinContext) throws -> [Value] {
    let items = try arguments.list("items")
    if items.count == 1 {
        switch items[0] {
        case .list, .range: return try elements(of: items[0], context)
        default: break
        }
    }
    return items
}

private func extreme(_ arguments: Arguments, _ context: BuiltinContext, wanted: ComparisonResult) throws -> Value {
    let values = try items(arguments, context)
    guard var best = values.first else { throw CellError(.value, "`\(arguments.callee)` of an empty list") }
    for value in values.dropFirst() {
        guard let order = Value.compare(value, best) else {
            throw CellError(.type, "`\(arguments.callee)` cannot compare \(value.typeName) and \(best.typeName)")
        }
        if order == wanted { best = value }
    }
    return best
}

private let variadicItems = [Parameter("items", variadic: true)]

let valueBuiltins: [Builtin] = [
    Builtin("len", [Parameter("collection")], returns: "Int", documentation: """
        The number of elements of a list, characters of a string, keys of a record or values of a range.

        The same as `collection.count`.
        """) { arguments, context in
        .integer(try collectionCount(arguments["collection"], context, name: "len"))
    },
    Builtin("count", [Parameter("collection")], returns: "Int", documentation: """
        The number of elements of a list, characters of a string, keys of a record or values of a range.

        The same as `len(collection)` and `collection.count`.
        """) { arguments, context in
        .integer(try collectionCount(arguments["collection"], context, name: "count"))
    },
    Builtin("range", [Parameter("start", "Int"), Parameter("end", "Int", default: .null), Parameter("by", "Int", labeled: true, default: .integer(1))],
            returns: "Range", documentation: """
        The integers from `start` up to, not including, `end`; `range(n)` counts from 0.

        `range(5)` is `0..<5`; `range(2, 10, by: 3)` is the list `[2, 5, 8]`.
        """) { arguments, context in
        var start = try arguments.integer("start")
        var end: Int
        if case .null = arguments["end"] { end = start; start = 0 } else { end = try arguments.integer("end") }
        let step = try arguments.integer("by")
        guard step != 0 else { throw CellError(.value, "`range` step `by:` must not be zero") }
        if step == 1 { return .range(lower: start, upper: max(start, end), closed: false) }
        return try strideList(from: start, to: end, by: step, context)
    },
    Builtin("stride", [Parameter("from", "Int", labeled: true), Parameter("to", "Int", labeled: true), Parameter("by", "Int", labeled: true)],
            returns: "List", documentation: """
        The integers from `from` toward `to` (not included) in steps of `by`, as a list.

        Example: `stride(from: 10, to: 0, by: -5)` is `[10, 5]`.
        """) { arguments, context in
        let step = try arguments.integer("by")
        guard step != 0 else { throw CellError(.value, "`stride` step `by:` must not be zero") }
        return try strideList(from: try arguments.integer("from"), to: try arguments.integer("to"), by: step, context)
    },
    Builtin("min", variadicItems, returns: "Any", documentation: """
        The smallest of the arguments, or of the single list given.

        `min(3, 1, 2)` and `min([3, 1, 2])` are both `1`.
        """) { arguments, context in try extreme(arguments, context, wanted: .orderedAscending) },
    Builtin("max", variadicItems, returns: "Any", documentation: """
        The largest of the arguments, or of the single list given.

        `max(3, 1, 2)` and `max([3, 1, 2])` are both `3`.
        """) { arguments, context in try extreme(arguments, context, wanted: .orderedDescending) },
    Builtin("sum", variadicItems, returns: "Any", documentation: """
        The sum of the numbers given, or of the single list given; Int unless a Double is present.

        Example: `sum([1, 2, 3])` is `6`.
        """) { arguments, context in
        var total = Value.integer(0)
        for value in try items(arguments, context) {
            total = try context.evaluator.applyBinary("+", total, value, at: SourcePosition(line: 0, column: 0, offset: 0))
        }
        return total
    },
    Builtin("abs", [Parameter("x", "Double")], returns: "Double", documentation: """
        The absolute value of a number; an Int stays an Int.
        """) { arguments, _ in
        switch arguments["x"] {
        case .integer(let value):
            guard value != Int.min else { throw CellError(.overflow, "abs(\(value)) overflows Int") }
            return .integer(abs(value))
        default: return .double(abs(try arguments.double("x")))
        }
    },
    Builtin("round", [Parameter("x", "Double"), Parameter("places", "Int", labeled: true, default: .integer(0))], returns: "Double", documentation: """
        Rounds a number to `places` decimal places (half away from zero).

        Example: `round(2.345, places: 2)` is `2.35`; `round(2.5)` is `3.0`.
        """) { arguments, _ in
        let value = try arguments.double("x")
        let places = try arguments.integer("places")
        guard (0...15).contains(places) else { throw CellError(.value, "`round` places must be between 0 and 15, got \(places)") }
        let scale = pow(10.0, Double(places))
        return .double((value * scale).rounded(.toNearestOrAwayFromZero) / scale)
    },
    Builtin("sqrt", [Parameter("x", "Double")], returns: "Double", documentation: """
        The square root of a non-negative number.
        """) { arguments, _ in
        let value = try arguments.double("x")
        guard value >= 0 else { throw CellError(.value, "sqrt of a negative number (\(formatDouble(value)))") }
        return .double(value.squareRoot())
    },
    Builtin("pow", [Parameter("base", "Double"), Parameter("exponent", "Double")], returns: "Double", documentation: """
        `base` raised to the power `exponent`, as a Double.
        """) { arguments, _ in
        .double(pow(try arguments.double("base"), try arguments.double("exponent")))
    },
    Builtin("str", [Parameter("value")], returns: "String", documentation: """
        The value as text, the way `print` shows it.

        Example: `str(42) + "!"` is `"42!"`.
        """) { arguments, _ in .string(renderPlain(arguments["value"])) },
    Builtin("int", [Parameter("value")], returns: "Int", documentation: """
        Converts a Double (dropping the fraction), a Bool or a numeric String to an Int.

        Example: `int("42")` is `42`; `int(3.9)` is `3`.
        """) { arguments, _ in
        switch arguments["value"] {
        case .integer(let value): return .integer(value)
        case .bool(let flag): return .integer(flag ? 1 : 0)
        case .double(let value):
            guard value.isFinite, value >= -9.2e18, value <= 9.2e18 else { throw CellError(.overflow, "\(formatDouble(value)) does not fit in an Int") }
            return .integer(Int(value))
        case .string(let text):
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else { throw CellError(.value, "\(text.debugDescription) is not an integer") }
            return .integer(value)
        case let other: throw CellError(.type, "cannot convert \(other.typeName) to Int")
        }
    },
    Builtin("double", [Parameter("value")], returns: "Double", documentation: """
        Converts an Int or a numeric String to a Double.

        Example: `double("2.5")` is `2.5`.
        """) { arguments, _ in
        switch arguments["value"] {
        case .integer(let value): return .double(Double(value))
        case .double(let value): return .double(value)
        case .string(let text):
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)) else { throw CellError(.value, "\(text.debugDescription) is not a number") }
            return .double(value)
        case let other: throw CellError(.type, "cannot convert \(other.typeName) to Double")
        }
    },
]

/// How many integers `stride(from: start, to: end, by: step)` has, exactly; nil when more than an Int counts.
func strideCount(from start: Int, to end: Int, by step: Int) -> Int? {
    guard step > 0 ? end > start : end < start else { return 0 }
    // The wrapping difference, read unsigned, is the true distance: it lies in 1..<2^64.
    let distance = UInt(bitPattern: step > 0 ? end &- start : start &- end)
    let (quotient, remainder) = distance.quotientAndRemainder(dividingBy: step.magnitude)
    let count = quotient + (remainder == 0 ? 0 : 1)
    return count <= UInt(Int.max) ? Int(count) : nil
}

/// The integers from `start` toward `end` (not included) in steps of `step`, as a list. The count
/// is worked out before anything is made, and no step can overflow, whatever the bounds.
private func strideList(from start: Int, to end: Int, by step: Int, _ context: BuiltinContext) throws -> Value {
    let count = strideCount(from: start, to: end, by: step)
    let counted = count.map { "the \(groupedDigits($0))" } ?? "more than \(groupedDigits(Int.max))"
    try context.reserve(elements: count ?? Int.max, for: "\(counted) integers from \(start) to \(end) by \(step)")
    var items: [Value] = []
    items.reserveCapacity(count ?? 0)
    var current = start
    var check = CancellationCheck(context)
    while step > 0 ? current < end : current > end {
        try check.step()
        items.append(.integer(current))
        let (next, overflow) = current.addingReportingOverflow(step)
        if overflow { break }
        current = next
    }
    return .list(items)
}

// MARK: - Int and Double

/// `Int` and `Double` as values, for their limits: `Int.max`, `Int.min`, `Double.infinity`, `Double.nan`, ...
final class NumberTypeObject: HostObject {
    let typeName: String
    private let constants: [String: (Value, String)]

    init(_ name: String, _ constants: [String: (Value, String)]) {
        typeName = name
        self.constants = constants
    }

    var memberNames: [String] { constants.keys.sorted() }
    func member(_ name: String, context: BuiltinContext) throws -> Value? { constants[name]?.0 }
    func documentation(ofMember name: String) -> String? { constants[name]?.1 }
    func render() -> MimeBundle { MimeBundle(plain: typeName) }
}

/// Names that are values rather than functions: `Int` and `Double`.
let builtinConstants: [String: Value] = [
    "Int": .host(NumberTypeObject("Int", [
        "max": (.integer(Int.max), "The largest Int, 9223372036854775807; one more overflows."),
        "min": (.integer(Int.min), "The smallest Int, -9223372036854775808."),
    ])),
    "Double": .host(NumberTypeObject("Double", [
        "infinity": (.double(.infinity), "Positive infinity."),
        "nan": (.double(.nan), "Not a number: compares unequal to everything, itself included."),
        "pi": (.double(.pi), "π, 3.141592653589793."),
        "greatestFiniteMagnitude": (.double(.greatestFiniteMagnitude), "The largest finite Double, about 1.8e308."),
        "leastNonzeroMagnitude": (.double(.leastNonzeroMagnitude), "The smallest positive Double, about 5e-324."),
    ])),
]
