// The interpreter: one session's bindings, builtins and magics, and the entry points the kernel,
// the REPL and `stepwise run` call. Completion, inspect and is-complete live in Completion.swift.

import Foundation

/// One notebook session: run cells, complete, inspect, check completeness, interrupt.
///
/// Cells run on a worker thread with a large stack; `emit` and `input` are still called on the
/// thread that called `execute`. One cell runs at a time; `interrupt()` may come from any thread.
public final class Interpreter {
    /// Where `input("prompt")` gets its line from. Nil means input is not available.
    public var input: InputProvider?
    /// The session's builtins; register more with `register(_:)`.
    public let registry: BuiltinRegistry
    /// The most evaluation steps (calls, loop iterations) one cell may take; nil (the default) means no limit.
    public var maximumSteps: Int? {
        get { evaluator.maximumSteps }
        set { evaluator.maximumSteps = newValue }
    }
    /// How many bytes one value may take (see `Value.footprint`); `%memory` changes it. The default
    /// is 2 GiB, or the `STEPWISE_MEMORY_LIMIT` environment variable (`512MB`, `4GB`) when set.
    public var memoryLimit: Int {
        get { evaluator.limits.memory }
        set { evaluator.limits.memory = max(ValueLimits.minimumMemory, newValue) }
    }
    /// The stack of the thread a cell runs on; deep recursion is bounded well inside it.
    public static let executionStackSize = 512 << 20

    let evaluator: Evaluator
    var magics: [String: (documentation: String, handler: MagicHandler)] = [:]

    /// A session with the standard builtins and those added by `BuiltinRegistry.addToEveryInterpreter`.
    public init() {
        registry = BuiltinRegistry.standard()
        evaluator = Evaluator(registry: registry)
        magics = standardMagics(for: self)
    }

    /// The seed that `%seed n` sets, for later layers' random number generators.
    public var seed: UInt64 {
        get { evaluator.seed }
        set { evaluator.seed = newValue }
    }

    /// Adds or replaces a builtin in this session.
    public func register(_ builtin: Builtin) { registry.register(builtin) }

    /// Adds or replaces a magic `%name`; `documentation` is what `%help %name` shows.
    public func registerMagic(_ name: String, documentation: String, handler: @escaping MagicHandler) {
        magics[name] = (documentation, handler)
    }

    /// The user's global variables (and functions), sorted by name.
    public var variables: [(String, Value)] {
        evaluator.globals.bindings.filter { !$0.key.hasPrefix("$") }.map { ($0.key, $0.value.value) }.sorted { $0.0 < $1.0 }
    }

    /// The value bound to a global name, or nil.
    public func value(of name: String) -> Value? { evaluator.globals.bindings[name]?.value }

    /// Binds a global name, as `let` (`constant`) or `var`; a host layer can preload objects this way.
    public func setValue(_ value: Value, for name: String, constant: Bool = true) {
        evaluator.globals.bindings[name] = Scope.Binding(value: value, isConstant: constant)
    }

    /// Every syntax error in `code` (magic lines included), without running it.
    public func syntaxErrors(_ code: String) -> [CellError] {
        let knownMagics = Set(magics.keys)
        return onWorkerThread {
            var parser = CellParser(knownMagics: knownMagics)
            _ = parser.parse(code)
            return parser.errors
        }
    }

    /// Runs `body` on a worker thread with the large execution stack and waits for its result.
    func onWorkerThread<Result>(_ body: @escaping () -> Result) -> Result {
        runOnWorkerThread(stackSize: Interpreter.executionStackSize, emit: { _ in }, input: nil) { _, _ in body() }
    }

    /// Runs a cell, calling `emit` for each output as it happens, on the calling thread.
    @discardableResult
    public func execute(_ code: String, emit: (Output) -> Void) -> ExecutionStatus {
        evaluator.interruptFlag.store(false, ordering: .relaxed)
        let status = runOnWorkerThread(stackSize: Interpreter.executionStackSize, emit: emit, input: input) { post, read in
            self.runCell(code, post: post, read: read)
        }
        return status
    }

    /// Runs a cell and collects its outputs.
    public func execute(_ code: String) -> [Output] {
        var out: [Output] = []
        execute(code) { out.append($0) }
        return out
    }

    /// Evaluates one expression without side effects on the history (Jupyter's `user_expressions`).
    public func evaluateExpression(_ code: String) -> Result<MimeBundle, CellError> {
        evaluator.interruptFlag.store(false, ordering: .relaxed)
        return onWorkerThread {
            let parsed = Parser.parse(code) { [evaluator = self.evaluator] in evaluator.interruptRequested }
            if let first = parsed.errors.first { return .failure(first.located(at: nil, source: code)) }
            guard parsed.statements.count == 1, let statement = parsed.statements.first, case .expression(let expression) = statement.kind else {
                return .failure(CellError(.syntax, "expected a single expression").located(at: nil, source: code))
            }
            self.evaluator.beginCell()
            self.evaluator.sink = { _ in }
            do {
                return .success(renderBundle(try self.evaluator.evaluate(expression, in: self.evaluator.globals)))
            } catch let error as CellError {
                return .failure(error.located(at: nil, source: code))
            } catch {
                return .failure(CellError(.runtime, "\(error)"))
            }
        }
    }

    /// Asks the running cell to stop at its next check. Safe to call from any thread.
    public func interrupt() { evaluator.interruptFlag.store(true, ordering: .relaxed) }

    // MARK: - Running a cell

    private func runCell(_ code: String, post: @escaping (Output) -> Void, read: @escaping (String, Bool) -> String?) -> ExecutionStatus {
        evaluator.sink = post
        evaluator.inputReader = read
        evaluator.beginCell()
        defer {
            evaluator.sink = { _ in }
            evaluator.inputReader = { _, _ in nil }
        }
        var parser = CellParser(knownMagics: Set(magics.keys)) { [evaluator] in evaluator.interruptRequested }
        let parts = parser.parse(code)
        if let interrupted = parser.errors.first(where: { $0.kind == ErrorKind.interrupted.rawValue }) {
            // No source line in the traceback: the cell may be megabytes, and the user is waiting.
            post(.error(interrupted))
            return .error(interrupted)
        }
        if !parser.errors.isEmpty {
            let error = combined(parser.errors, source: code)
            post(.error(error))
            return .error(error)
        }
        do {
            if let (value, isCall) = try run(parts) {
                let hidesNil = isCall && value == .null
                if !hidesNil { post(.result(renderBundle(value))) }
            }
            return .ok
        } catch let error as CellError {
            let located = error.located(at: nil, source: code)
            post(.error(located))
            return .error(located)
        } catch {
            let wrapped = CellError(.runtime, "\(error)")
            post(.error(wrapped))
            return .error(wrapped)
        }
    }

    /// Runs the parts in order; returns the value of the cell's last expression, if it ends with one.
    private func run(_ parts: [CellPart]) throws -> (Value, Bool)? {
        var last: (Value, Bool)?
        for part in parts {
            last = nil
            switch part {
            case .code(let statements):
                let (value, isCall) = try evaluator.runCell(statements)
                if let value { last = (value, isCall) }
            case .magic(let name, let argument, let position):
                guard let magic = magics[name] else { continue }
                do {
                    try magic.handler(argument, evaluator.context)
                } catch var error as CellError {
                    if error.line == nil { error.line = position.line; error.column = position.column }
                    throw error
                }
            case .time(let inner, _):
                let start = DispatchTime.now().uptimeNanoseconds
                defer {
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    evaluator.emit(.stream(.stdout, "Wall time: \(formatDuration(elapsed))\n"))
                }
                last = try run(inner)
            }
        }
        return last
    }

    /// All syntax errors of a cell as one error: the first one's message and position, every one in the traceback.
    private func combined(_ errors: [CellError], source: String) -> CellError {
        guard let first = errors.first else { return CellError(.syntax, "invalid cell") }
        var error = first
        if errors.count > 1 { error.message += " (and \(errors.count - 1) more error\(errors.count == 2 ? "" : "s"))" }
        error.traceback = CellError.traceback(for: errors, source: source)
        return error
    }

    /// The help text for a builtin, a member (`List.map` or `map`), a magic (`%who`) or a variable.
    public func documentation(for name: String) -> String? {
        if name.hasPrefix("%") { return magics[String(name.dropFirst())]?.documentation ?? (name == "%time" ? timeDocumentation : nil) }
        if let builtin = registry.lookup(name) { return builtin.help }
        let pieces = name.split(separator: ".").map(String.init)
        if pieces.count == 2 {
            let samples: [String: Value] = ["List": .list([]), "String": .string(""), "Record": .record(Record()), "Range": .range(lower: 0, upper: 0, closed: false)]
            if let sample = samples[pieces[0]], let member = builtinMembers(of: sample)[pieces[1]] { return "\(pieces[0]).\(member.help)" }
            if let value = value(of: pieces[0]) { return memberDocumentation(pieces[1], of: value) }
        }
        for typeName in ["List", "String", "Record", "Range"] where pieces.count == 1 {
            if let text = documentation(for: "\(typeName).\(name)") { return text }
        }
        if let value = value(of: name) { return describe(name, value) }
        return nil
    }

    private let timeDocumentation = "%time: times the rest of the cell; `%time expr` times one line."
}
