// Members of the built-in types: list, string, record and range properties and methods, each a
// documented `Builtin` whose receiver arrives in `Arguments.receiver`, plus the list methods that
// change a `var` in place (`append`, `insert`, `removeLast`, `remove(at:)`).

import Foundation

/// A list method that changes its list in place; the evaluator routes `xs.append(...)` here when `xs` is a `var`.
struct MutatingListMethod {
    /// Name, parameters and documentation (its body is never called; `apply` does the work).
    let signature: Builtin
    let apply: (inout ValueList, Arguments, BuiltinContext) throws -> Value
}

func member(_ name: String, _ parameters: [Parameter] = [], returns: String, property: Bool = false, _ documentation: String,
                    _ body: @escaping (Value, Arguments, BuiltinContext) throws -> Value) -> (String, Builtin) {
    (name, Builtin(name, parameters, returns: returns, isProperty: property, documentation: documentation) { arguments, context in
        try body(try arguments.receiverValue(), arguments, context)
    })
}

/// The elements of a list, range, string or record, counting a step for each so huge ranges stay
/// interruptible, and refusing a range too big to hold as a list before making it.
func elements(of receiver: Value, _ context: BuiltinContext) throws -> [Value] {
    if case .list(let items) = receiver { return items.array }
    if case .range(let lower, let upper, let closed) = receiver {
        try context.reserve(elements: Value.rangeCount(lower: lower, upper: upper, closed: closed) ?? Int.max, for: "the range's \(lower)\(closed ? "..." : "..<")\(upper) elements")
    }
    var collected: [Value] = []
    try context.evaluator.iterate(receiver, at: nil) { element in
        try context.evaluator.tick()
        collected.append(element)
        return true
    }
    return collected
}

/// Checks for an interrupt every 4,096 steps, for loops that run no user code (and so no `tick`).
struct CancellationCheck {
    let context: BuiltinContext
    private var count = 0
    init(_ context: BuiltinContext) { self.context = context }
    mutating func step() throws {
        count &+= 1
        if count & 4095 == 0 { try context.checkCancelled() }
    }
}

private func truth(_ value: Value, from name: String) throws -> Bool {
    guard case .bool(let flag) = value else {
        throw CellError(.type, "the closure given to `\(name)` must return a Bool, got \(value.typeName)")
    }
    return flag
}

private func sortedValues(_ items: [Value], by order: Value?, _ context: BuiltinContext) throws -> [Value] {
    var check = CancellationCheck(context)
    return try mergeSorted(items) { left, right in
        try check.step()
        if let order { return try truth(try context.call(order, [left, right]), from: "sorted") }
        guard let comparison = Value.compare(left, right) else {
            throw CellError(.type, "cannot sort: \(left.typeName) and \(right.typeName) do not compare; pass `by: { $0 < $1 }`")
        }
        return comparison == .orderedAscending
    }
}

/// A stable bottom-up merge sort whose comparison may throw: an interrupt or a bad comparison
/// stops it at once (the standard library's sort cannot be stopped from inside).
func mergeSorted(_ items: [Value], by areInIncreasingOrder: (Value, Value) throws -> Bool) throws -> [Value] {
    var source = items, target = items
    var width = 1
    while width < source.count {
        var start = 0
        while start < source.count {
            let middle = min(start + width, source.count), end = min(start + 2 * width, source.count)
            var left = start, right = middle, out = start
            while left < middle && right < end {
                // Take from the right only when it is strictly smaller, which keeps equal elements in order.
                if try areInIncreasingOrder(source[right], source[left]) {
                    target[out] = source[right]; right += 1
                } else {
                    target[out] = source[left]; left += 1
                }
                out += 1
            }
            while left < middle { target[out] = source[left]; left += 1; out += 1 }
            while right < end { target[out] = source[right]; right += 1; out += 1 }
            start = end
        }
        swap(&source, &target)
        width *= 2
    }
    return source
}

/// Members shared by lists and ranges (a range acts as the list of its integers).
private let sequenceMembers: [(String, Builtin)] = [
    member("count", returns: "Int", property: true, "The number of elements.") { receiver, _, context in
        if case .range(let lower, let upper, let closed) = receiver {
            guard let count = Value.rangeCount(lower: lower, upper: upper, closed: closed) else {
                throw CellError(.overflow, "the range has more elements than an Int can count")
            }
            return .integer(count)
        }
        return .integer(try elements(of: receiver, context).count)
    },
    member("isEmpty", returns: "Bool", property: true, "True when there are no elements.") { receiver, _, context in
        if case .range(let lower, let upper, let closed) = receiver { return .bool(!closed && lower == upper) }
        return .bool(try elements(of: receiver, context).isEmpty)
    },
    member("first", returns: "Any", property: true, "The first element, or nil when empty.") { receiver, _, context in
        if case .range(let lower, let upper, let closed) = receiver { return closed || lower < upper ? .integer(lower) : .null }
        return try elements(of: receiver, context).first ?? .null
    },
    member("last", returns: "Any", property: true, "The last element, or nil when empty.") { receiver, _, context in
        if case .range(let lower, let upper, let closed) = receiver { return closed ? .integer(upper) : (lower < upper ? .integer(upper - 1) : .null) }
        return try elements(of: receiver, context).last ?? .null
    },
    member("map", [Parameter("transform", "Function")], returns: "List",
           "A list of the results of calling `transform` on each element.\n\nExample: `[1, 2, 3].map { $0 * 2 }` is `[2, 4, 6]`.") { receiver, arguments, context in
        let transform = try arguments.function("transform")
        let items = try elements(of: receiver, context)
        var result = try ListBuilder(context, "the result of `map`", expectedCount: items.count)
        for item in items { try result.append(try context.call(transform, [item])) }
        return result.list
    },
    member("filter", [Parameter("isIncluded", "Function")], returns: "List",
           "The elements for which `isIncluded` returns true.\n\nExample: `[1, 2, 3].filter { $0 > 1 }` is `[2, 3]`.") { receiver, arguments, context in
        let predicate = try arguments.function("isIncluded")
        var result = try ListBuilder(context, "the result of `filter`")
        for item in try elements(of: receiver, context) where try truth(try context.call(predicate, [item]), from: "filter") {
            try result.append(item)
        }
        return result.list
    },
    member("reduce", [Parameter("initial"), Parameter("combine", "Function")], returns: "Any",
           "Combines the elements from `initial` with `combine(accumulated, element)`.\n\nExample: `[1, 2, 3].reduce(0) { $0 + $1 }` is `6`.") { receiver, arguments, context in
        let combine = try arguments.function("combine")
        return try elements(of: receiver, context).reduce(arguments["initial"]) { try context.call(combine, [$0, $1]) }
    },
    member("sorted", [Parameter("by", "Function", labeled: true, default: .null)], returns: "List",
           "The elements in increasing order, or in the order `by(a, b)` (true when a comes first).\n\nExample: `[3, 1, 2].sorted()` is `[1, 2, 3]`; `xs.sorted { $0 > $1 }` sorts descending.") { receiver, arguments, context in
        let order: Value? = { if case .null = arguments["by"] { return nil } else { return arguments["by"] } }()
        return .list(try sortedValues(try elements(of: receiver, context), by: order, context))
    },
    member("contains", [Parameter("element")], returns: "Bool",
           "True when an element equals `element` (or, given a closure, satisfies it).") { receiver, arguments, context in
        if case .range(let lower, let upper, let closed) = receiver, case .integer(let value) = arguments["element"] {
            return .bool(value >= lower && (closed ? value <= upper : value < upper))
        }
        if case .function = arguments["element"] {
            let predicate = arguments["element"]
            return .bool(try elements(of: receiver, context).contains { try truth(try context.call(predicate, [$0]), from: "contains") })
        }
        var check = CancellationCheck(context)
        let wanted = arguments["element"]
        return .bool(try elements(of: receiver, context).contains { try check.step(); return $0 == wanted })
    },
    member("joined", [Parameter("separator", "String", labeled: true, default: .string(""))], returns: "String",
           "The elements as text, joined with `separator`.\n\nExample: `[\"a\", \"b\"].joined(separator: \", \")` is `\"a, b\"`.") { receiver, arguments, context in
        let separator = try arguments.string("separator")
        var text = ""
        var check = CancellationCheck(context)
        for (index, item) in try elements(of: receiver, context).enumerated() {
            try check.step()
            let piece = (index == 0 ? "" : separator) + renderPlain(item)
            try context.reserve(bytes: saturatingAdd(text.utf8.count, piece.utf8.count), for: "the joined string")
            text += piece
        }
        return .string(text)
    },
    member("reversed", returns: "List", "The elements in reverse order.") { receiver, _, context in
        .list(try elements(of: receiver, context).reversed())
    },
    member("enumerated", returns: "List", "Records `[\"offset\": i, \"element\": x]` for each element, in order.") { receiver, _, context in
        let items = try elements(of: receiver, context)
        var result = try ListBuilder(context, "the result of `enumerated`", expectedCount: items.count)
        for (offset, element) in items.enumerated() {
            try result.append(.record(Record([("offset", .integer(offset)), ("element", element)])))
        }
        return result.list
    },
]

let listMembers: [String: Builtin] = Dictionary(sequenceMembers, uniquingKeysWith: { first, _ in first })

let rangeMembers: [String: Builtin] = Dictionary(sequenceMembers + [
    member("lowerBound", returns: "Int", property: true, "The first value of the range.") { receiver, _, _ in
        if case .range(let lower, _, _) = receiver { return .integer(lower) }
        return .null
    },
    member("upperBound", returns: "Int", property: true, "The upper bound (included only in `a...b`).") { receiver, _, _ in
        if case .range(_, let upper, _) = receiver { return .integer(upper) }
        return .null
    },
], uniquingKeysWith: { first, _ in first })

let recordMembers: [String: Builtin] = Dictionary([
    member("keys", returns: "List", property: true, "The keys, in insertion order.") { receiver, _, _ in
        guard case .record(let record) = receiver else { return .list([]) }
        return .list(record.keys.map(Value.string))
    },
    member("values", returns: "List", property: true, "The values, in key order.") { receiver, _, _ in
        guard case .record(let record) = receiver else { return .list([]) }
        return .list(record.values)
    },
    member("count", returns: "Int", property: true, "The number of keys.") { receiver, _, _ in
        guard case .record(let record) = receiver else { return .integer(0) }
        return .integer(record.count)
    },
    member("isEmpty", returns: "Bool", property: true, "True when the record has no keys.") { receiver, _, _ in
        guard case .record(let record) = receiver else { return .bool(true) }
        return .bool(record.count == 0)
    },
], uniquingKeysWith: { first, _ in first })

private func mutating(_ name: String, _ parameters: [Parameter], returns: String, _ documentation: String,
                      _ apply: @escaping (inout ValueList, Arguments, BuiltinContext) throws -> Value) -> (String, MutatingListMethod) {
    let signature = Builtin(name, parameters, returns: returns, documentation: documentation + "\n\nChanges the list in place; the list must be a `var`.") { _, _ in
        throw CellError(.type, "`\(name)` changes its list in place; call it on a `var`, as in `xs.\(name)(...)`")
    }
    return (name, MutatingListMethod(signature: signature, apply: apply))
}

/// Throws before `element` joins `items` when the list would then pass the memory or nesting limit.
private func checkGrowth(_ items: ValueList, adding element: Value, _ context: BuiltinContext) throws {
    if element.nestingDepth + 1 > ValueLimits.maximumNesting { try context.check(.list([element]), "the list") }
    try context.reserve(bytes: saturatingAdd(saturatingAdd(items.storage.footprint, element.footprint), Value.slotBytes), for: "the list")
}

let mutatingListMethods: [String: MutatingListMethod] = Dictionary([
    mutating("append", [Parameter("element")], returns: "Nil", "Adds `element` at the end of the list.") { items, arguments, context in
        try checkGrowth(items, adding: arguments["element"], context)
        items.append(arguments["element"]); return .null
    },
    mutating("insert", [Parameter("element"), Parameter("at", "Int", labeled: true)], returns: "Nil", "Inserts `element` before index `at`.") { items, arguments, context in
        let index = try arguments.integer("at")
        guard index >= 0, index <= items.count else { throw CellError(.index, "insert index \(index) is out of range for a list of \(items.count) elements") }
        try checkGrowth(items, adding: arguments["element"], context)
        items.insert(arguments["element"], at: index); return .null
    },
    mutating("removeLast", [], returns: "Any", "Removes and returns the last element.") { items, _, _ in
        guard let last = items.popLast() else { throw CellError(.index, "removeLast() on an empty list") }
        return last
    },
    mutating("remove", [Parameter("at", "Int", labeled: true)], returns: "Any", "Removes and returns the element at index `at`.") { items, arguments, _ in
        let index = try arguments.integer("at")
        guard items.indices.contains(index) else { throw CellError(.index, "index \(index) is out of range for a list of \(items.count) elements") }
        return items.remove(at: index)
    },
], uniquingKeysWith: { first, _ in first })

/// The built-in members of a value's type, for evaluation, completion and inspect.
func builtinMembers(of value: Value) -> [String: Builtin] {
    switch value {
    case .list: return listMembers.merging(mutatingListMethods.mapValues(\.signature)) { first, _ in first }
    case .range: return rangeMembers
    case .string: return stringMembers
    case .record: return recordMembers
    default: return [:]
    }
}
