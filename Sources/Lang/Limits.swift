// The bounds that keep one cell from taking the kernel down: how much memory a value may take,
// how deep values may nest, and how far an argument that counts or sizes something may go.
// Each is checked before the work or the allocation it bounds, with an error that names the
// value and the limit.

import Foundation

/// The memory and nesting bounds of one session's values.
public struct ValueLimits: Sendable {
    /// The default for `memory`: 2 GiB, or `STEPWISE_MEMORY_LIMIT` (e.g. `512MB`, `4GB`) when set.
    public static let defaultMemory: Int = {
        if let text = ProcessInfo.processInfo.environment["STEPWISE_MEMORY_LIMIT"], let bytes = parseByteCount(text) { return bytes }
        return 2 << 30
    }()
    /// Lists and records nest at most this deep. Far beyond real data, and low enough that
    /// comparing or freeing such a value never comes near the end of a thread's stack.
    public static let maximumNesting = 1_000
    /// The fewest bytes `%memory` accepts: less would refuse ordinary work.
    public static let minimumMemory = 1 << 20

    /// The most bytes (see `Value.footprint`) one value may take.
    public var memory: Int = ValueLimits.defaultMemory

    /// Throws when `value` nests too deeply or takes too much memory; `what` names it ("the list").
    func check(_ value: Value, _ what: @autoclosure () -> String) throws {
        if value.nestingDepth > ValueLimits.maximumNesting {
            throw CellError(.memory, "\(what()) would nest \(groupedDigits(value.nestingDepth)) lists or records deep, more than the limit of \(groupedDigits(ValueLimits.maximumNesting))")
        }
        try reserve(bytes: value.footprint - Value.slotBytes, for: what())  // Its contents: the slot it sits in is the container's.
    }

    /// Throws when `bytes` more than the limit would be needed for `what`.
    func reserve(bytes: Int, for what: @autoclosure () -> String) throws {
        guard bytes > memory else { return }
        let size = bytes == Int.max ? "more than \(formatByteCount(bytes))" : "about \(formatByteCount(bytes))"
        throw CellError(.memory, "\(what()) would take \(size), more than the \(formatByteCount(memory)) a value may use; "
                        + "work on less at a time, or raise the limit with `%memory 4GB` if the machine has room")
    }

    /// The process's resident memory when these limits were made (the session's start): the
    /// backstop counts from it, so what the process held before the session (another session's
    /// leftovers in a test process, the runtime's own pages) is not charged to this one.
    public var baseline: Int = residentBytes() ?? 0

    /// The most memory the whole process may hold while cells run: the baseline, twice a value's
    /// limit, and 1 GiB. It catches what no single value shows, such as a million closures made in a loop.
    var processBackstop: Int { saturatingAdd(baseline, saturatingAdd(saturatingAdd(memory, memory), 1 << 30)) }

    /// Throws when the process's resident memory has passed `processBackstop`.
    func checkProcess() throws {
        guard let resident = residentBytes(), resident > processBackstop else { return }
        throw CellError(.memory, "the kernel is using \(formatByteCount(resident)) of memory, more than the \(formatByteCount(processBackstop)) it may use "
                        + "with values limited to \(formatByteCount(memory)); free some variables (or restart the kernel), or raise the limit with `%memory`")
    }

    /// Throws when a list of `count` elements (`count` may be huge or negative) would pass the limit.
    func reserve(elements count: Int, for what: @autoclosure () -> String) throws {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: Value.slotBytes)
        try reserve(bytes: overflow ? Int.max : bytes, for: what())
    }
}

/// The process's resident memory in bytes, from /proc/self/statm; nil where that does not exist.
func residentBytes() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .ascii) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Bytes as a person reads them: `512 bytes`, `1.5 KB`, `2 GB` (powers of 1024).
func formatByteCount(_ bytes: Int) -> String {
    if bytes == Int.max { return "8 EB" }
    let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"]
    var value = Double(bytes), unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    if unit == 0 { return "\(bytes) bytes" }
    var text = String(format: "%.1f", value)
    if text.hasSuffix(".0") { text.removeLast(2) }
    return "\(text) \(units[unit])"
}

/// Parses `2GB`, `512 MB`, `1.5g`, `4096` (bytes) into bytes; nil when it is not a size or is too large.
public func parseByteCount(_ text: String) -> Int? {
    let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
    let number = trimmed.prefix { $0.isNumber || $0 == "." }
    let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces)
    let kilo = 1024.0
    let scales: [String: Double] = ["": 1, "b": 1, "bytes": 1, "k": kilo, "kb": kilo, "m": pow(kilo, 2), "mb": pow(kilo, 2),
                                    "g": pow(kilo, 3), "gb": pow(kilo, 3), "t": pow(kilo, 4), "tb": pow(kilo, 4)]
    guard let value = Double(number), value.isFinite, value >= 0, let scale = scales[unit] else { return nil }
    let bytes = value * scale
    guard bytes < 9e18 else { return nil }
    return Int(bytes)
}

/// The `%memory` magic: `%memory 4GB` sets how much memory one value may take; `%memory` alone shows it.
func memoryMagic(for interpreter: Interpreter) -> (documentation: String, handler: MagicHandler) {
    ("%memory size: sets how much memory one value may take (e.g. `%memory 4GB`; the default is \(formatByteCount(ValueLimits.defaultMemory))); `%memory` alone shows it.",
     { [unowned interpreter] argument, context in
        if !argument.isEmpty {
            guard let bytes = parseByteCount(argument), bytes >= ValueLimits.minimumMemory else {
                throw CellError(.magic, "`%memory` needs a size of at least 1 MB, as in `%memory 4GB` or `%memory 512MB`; got `\(argument)`")
            }
            interpreter.memoryLimit = bytes
        }
        context.emit(.stream(.stdout, "memory = \(formatByteCount(interpreter.memoryLimit)) per value\n"))
    })
}

// MARK: - Arguments that count or size something

extension Arguments {
    /// The argument as an Int within `range`; a ValueError naming the argument, its value and the bounds otherwise.
    public func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int {
        let value = try integer(name)
        guard range.contains(value) else {
            throw CellError(.value, "`\(callee)(\(name):)` must be between \(groupedDigits(range.lowerBound)) and \(groupedDigits(range.upperBound)), got \(groupedDigits(value))")
        }
        return value
    }

    /// The argument as a finite Double within `range`; a ValueError naming the argument, its value and the bounds otherwise.
    public func double(_ name: String, in range: ClosedRange<Double>) throws -> Double {
        let value = try double(name)
        guard value.isFinite, range.contains(value) else {
            throw CellError(.value, "`\(callee)(\(name):)` must be a number between \(formatDouble(range.lowerBound)) and \(formatDouble(range.upperBound)), got \(formatDouble(value))")
        }
        return value
    }
}

/// `1000000` as `1,000,000`, so that limits in messages read at a glance.
func groupedDigits(_ number: Int) -> String {
    let digits = String(number.magnitude)
    var grouped = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
        grouped.append(digit)
    }
    return number < 0 ? "-" + grouped : grouped
}

// MARK: - Building big results

/// Collects a builtin's results into a list, checking the memory limit and interrupts as it
/// grows, so that a huge result stops with an error before it is made rather than after.
public struct ListBuilder {
    private let context: BuiltinContext
    private let what: String
    /// The elements so far.
    public private(set) var items: [Value] = []
    private var footprint = 0

    /// A builder for `what` ("the result of `map`"); with `expectedCount`, refuses at once when that many elements would not fit.
    public init(_ context: BuiltinContext, _ what: String, expectedCount: Int = 0) throws {
        self.context = context
        self.what = what
        try context.reserve(elements: expectedCount, for: what)
        items.reserveCapacity(min(max(0, expectedCount), 1 << 20))
    }

    /// Adds `value`; throws `MemoryError` past the limit and `Interrupted` when the cell is interrupted.
    public mutating func append(_ value: Value) throws {
        footprint = saturatingAdd(footprint, value.footprint)
        if items.count % 1024 == 0 { try context.checkCancelled() }
        try context.reserve(bytes: footprint, for: what)
        items.append(value)
    }

    /// The list built so far.
    public var list: Value { .list(items) }
}
