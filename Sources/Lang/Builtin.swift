// The builtin registry: every builtin function (and every member of a built-in type) is a
// `Builtin` with a name, a signature, a doc comment and a Swift body. Later layers add their own
// (task, train, evaluate, ...) with `Interpreter.register` or `BuiltinRegistry.addToEveryInterpreter`.

import Foundation

/// One parameter of a builtin: `x`, `label: value = default`, or variadic `items...`.
public struct Parameter {
    /// The parameter name, which is also its label when passed by name.
    public var name: String
    /// Shown with its label in the signature (`separator: String`); any parameter may still be passed by name.
    public var labeled: Bool
    /// The value used when the argument is left out; nil makes the parameter required.
    public var defaultValue: Value?
    /// Collects every remaining unlabeled argument into a list.
    public var variadic: Bool
    /// A type hint for the signature, e.g. `Int` or `Any`.
    public var type: String

    /// A parameter; see the properties for the meaning of each argument.
    public init(_ name: String, _ type: String = "Any", labeled: Bool = false, default defaultValue: Value? = nil, variadic: Bool = false) {
        self.name = name; self.type = type; self.labeled = labeled; self.defaultValue = defaultValue; self.variadic = variadic
    }
}

/// The arguments of one builtin call, bound to parameter names, with typed accessors.
public struct Arguments {
    /// Values by parameter name; defaults are filled in. A variadic parameter holds a list.
    public var values: [String: Value]
    /// The value before the `.` for members of built-in types (`xs` in `xs.map`); nil for plain calls.
    public var receiver: Value?
    /// The builtin's name, for error messages.
    public var callee: String

    /// Arguments already bound by name (the evaluator builds these; tests and host code may too).
    public init(values: [String: Value], receiver: Value? = nil, callee: String) {
        self.values = values; self.receiver = receiver; self.callee = callee
    }

    /// The argument `name`, or nil (`.null`) when absent.
    public subscript(name: String) -> Value { values[name] ?? .null }

    private func mismatch(_ name: String, _ expected: String) -> CellError {
        CellError(.type, "`\(callee)` expects `\(name)` to be \(expected), got \(self[name].typeName) \(renderPlain(self[name], nested: true, limit: 40))")
    }

    /// The argument as an `Int` (a whole Double is accepted); a `TypeError` otherwise.
    public func integer(_ name: String) throws -> Int {
        switch self[name] {
        case .integer(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9e18: return Int(value)
        default: throw mismatch(name, "an Int")
        }
    }

    /// The argument as a `Double` (an Int is converted); a `TypeError` otherwise.
    public func double(_ name: String) throws -> Double {
        guard let value = self[name].numberValue else { throw mismatch(name, "a number") }
        return value
    }

    /// The argument as a `String`; a `TypeError` otherwise.
    public func string(_ name: String) throws -> String {
        guard case .string(let value) = self[name] else { throw mismatch(name, "a String") }
        return value
    }

    /// The argument as a `Bool`; a `TypeError` otherwise.
    public func bool(_ name: String) throws -> Bool {
        guard case .bool(let value) = self[name] else { throw mismatch(name, "a Bool") }
        return value
    }

    /// The argument as a list; a `TypeError` otherwise.
    public func list(_ name: String) throws -> [Value] {
        guard case .list(let value) = self[name] else { throw mismatch(name, "a List") }
        return value.array
    }

    /// The argument as a function value (closures, user functions, builtins).
    public func function(_ name: String) throws -> Value {
        guard case .function = self[name] else { throw mismatch(name, "a function such as `{ $0 * 2 }`") }
        return self[name]
    }

    /// The receiver of a member call.
    public func receiverValue() throws -> Value {
        guard let receiver else { throw CellError(.type, "`\(callee)` must be called on a value") }
        return receiver
    }
}

/// A function the language can call, with the doc comment that `%help`, inspect and completion show.
public struct Builtin {
    /// The name the language calls it by.
    public let name: String
    /// Parameters in order; arguments bind by label, then by position, then defaults.
    public let parameters: [Parameter]
    /// The doc comment: a one-line summary, a blank line, then details and examples.
    public let documentation: String
    /// A property (`xs.count`) is read without parentheses; its body gets no arguments.
    public let isProperty: Bool
    /// The type of the result, for the signature (`Int`, `List`, `Nil`, ...).
    public let returns: String
    /// The Swift implementation. Throw `CellError(.value, "...")` (or another kind) for bad input.
    public let body: (Arguments, BuiltinContext) throws -> Value

    /// A builtin named `name`; `documentation` starts with a one-line summary.
    public init(_ name: String, _ parameters: [Parameter] = [], returns: String = "Any", isProperty: Bool = false,
                documentation: String, body: @escaping (Arguments, BuiltinContext) throws -> Value) {
        self.name = name; self.parameters = parameters; self.returns = returns
        self.isProperty = isProperty; self.documentation = documentation; self.body = body
    }

    /// The first line of the documentation.
    public var summary: String {
        documentation.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
    }

    /// `round(_ x: Double, places: Int = 0) -> Double`.
    public var signature: String {
        if isProperty { return "\(name): \(returns)" }
        let rendered = parameters.map { parameter -> String in
            var text = parameter.labeled ? "\(parameter.name): " : "_ \(parameter.name): "
            text += parameter.type + (parameter.variadic ? "..." : "")
            if let defaultValue = parameter.defaultValue { text += " = \(renderPlain(defaultValue, nested: true))" }
            return text
        }
        return "\(name)(\(rendered.joined(separator: ", "))) -> \(returns)"
    }

    /// The signature followed by the documentation, as `%help` and inspect show it.
    public var help: String { "\(signature)\n\n\(documentation)" }

    /// The same builtin with `receiver` fixed, as `xs.map` evaluates to.
    func bound(to receiver: Value) -> Builtin {
        let original = body
        return Builtin(name, parameters, returns: returns, isProperty: isProperty, documentation: documentation) { arguments, context in
            var withReceiver = arguments
            withReceiver.receiver = receiver
            return try original(withReceiver, context)
        }
    }
}

/// All builtins of one interpreter, by name.
public final class BuiltinRegistry {
    private(set) var builtins: [String: Builtin] = [:]

    /// An empty registry; `BuiltinRegistry.standard()` has the standard builtins.
    public init() {}

    /// Adds or replaces a builtin.
    public func register(_ builtin: Builtin) { builtins[builtin.name] = builtin }

    /// Adds or replaces several builtins.
    public func register(_ builtins: [Builtin]) { builtins.forEach(register) }

    /// The builtin called `name`, if any.
    public func lookup(_ name: String) -> Builtin? { builtins[name] }

    /// Every builtin name, sorted.
    public var names: [String] { builtins.keys.sorted() }

    private static let installersLock = NSLock()
    nonisolated(unsafe) private static var installers: [(id: Int, install: (BuiltinRegistry) -> Void)] = []
    nonisolated(unsafe) private static var nextInstallerID = 0

    /// Undoes one `addToEveryInterpreter`: interpreters created after `remove()` no longer get
    /// its builtins (a test adds builtins for itself and takes them away again, so that no other
    /// test sees them).
    public struct Addition: Sendable {
        let id: Int
        /// Stops adding the builtins to new interpreters.
        public func remove() {
            BuiltinRegistry.installersLock.lock(); defer { BuiltinRegistry.installersLock.unlock() }
            BuiltinRegistry.installers.removeAll { $0.id == id }
        }
    }

    /// Runs `install` on the registry of every interpreter created from now on. A module that
    /// adds domain builtins calls this once at start-up, before the kernel creates interpreters.
    /// - Returns: A handle whose `remove()` undoes it.
    @discardableResult
    public static func addToEveryInterpreter(_ install: @escaping (BuiltinRegistry) -> Void) -> Addition {
        installersLock.lock(); defer { installersLock.unlock() }
        nextInstallerID += 1
        installers.append((nextInstallerID, install))
        return Addition(id: nextInstallerID)
    }

    static func installAdditions(into registry: BuiltinRegistry) {
        installersLock.lock()
        let current = installers
        installersLock.unlock()
        current.forEach { $0.install(registry) }
    }
}

/// What a running builtin may do besides compute its result.
public final class BuiltinContext {
    unowned let evaluator: Evaluator
    private var nextDisplayNumber = 0

    init(evaluator: Evaluator) { self.evaluator = evaluator }

    /// Sends an output to the notebook now (a stream, a display, an update, a clear).
    public func emit(_ output: Output) { evaluator.emit(output) }

    /// Shows `bundle` as a display; returns its id, which `updateDisplay` can later replace (progress bars).
    @discardableResult
    public func display(_ bundle: MimeBundle, id: String? = nil) -> String {
        let displayID = id ?? newDisplayID()
        emit(.display(bundle, displayID: displayID))
        return displayID
    }

    /// Replaces the display with id `id`.
    public func updateDisplay(_ bundle: MimeBundle, id: String) { emit(.updateDisplay(bundle, displayID: id)) }

    /// A fresh display id, unique within this interpreter.
    public func newDisplayID() -> String {
        nextDisplayNumber += 1
        return "stepwise-\(ObjectIdentifier(evaluator).hashValue & 0xFFFFFF)-\(nextDisplayNumber)"
    }

    /// Throws `Interrupted` when the user has asked the cell to stop. Call it at each step of long work.
    public func checkCancelled() throws { try evaluator.checkInterrupt() }

    /// True when the user has asked the cell to stop.
    public var isCancelled: Bool { evaluator.interruptRequested }

    /// Throws `MemoryError` when `value` nests too deeply or takes more memory than a value may; `what` names it.
    public func check(_ value: Value, _ what: @autoclosure () -> String) throws { try evaluator.limits.check(value, what()) }

    /// Throws `MemoryError` before a list of `count` elements is made that would pass the memory limit.
    public func reserve(elements count: Int, for what: @autoclosure () -> String) throws {
        try evaluator.limits.reserve(elements: count, for: what())
    }

    /// Throws `MemoryError` before `bytes` are allocated for `what` when that passes the memory limit.
    public func reserve(bytes: Int, for what: @autoclosure () -> String) throws {
        try evaluator.limits.reserve(bytes: bytes, for: what())
    }

    /// The session's seed (`%seed n`), for reproducible randomness.
    public var seed: UInt64 { evaluator.seed }

    /// Reads a line from the user through `Interpreter.input`; throws `InputError` when input is unavailable.
    public func readInput(prompt: String, password: Bool) throws -> String {
        guard let line = evaluator.readInput(prompt, password) else {
            throw CellError(.input, "input is not available here (the frontend does not allow stdin)")
        }
        return line
    }

    /// Calls a function value (a closure the user passed) with positional arguments.
    public func call(_ function: Value, _ arguments: [Value]) throws -> Value {
        try evaluator.callValue(function, arguments: arguments.map { (nil, $0) }, at: nil)
    }

    /// How `value` renders in the notebook.
    public func render(_ value: Value) -> MimeBundle { renderBundle(value) }
}
