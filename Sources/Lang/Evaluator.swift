// The tree-walking evaluator: scopes, statements, calls and the guards that keep hostile code from
// hurting the kernel (recursion and nesting bounds, a step budget, the interrupt flag).

import Foundation
import Synchronization

/// A lexical scope: bindings plus the enclosing scope. Closures keep their scope alive.
final class Scope {
    struct Binding {
        var value: Value
        let isConstant: Bool
    }

    var bindings: [String: Binding] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    deinit {
        // A closure keeps its scope, whose bindings may hold closures: a chain of them made in a
        // loop is as long as the loop ran. Handing them to the work list keeps freeing it flat.
        guard bindings.values.contains(where: { $0.value.holdsReferences }) else { return }
        var values = bindings.values.map(\.value)
        bindings.removeAll()
        DeferredRelease.release(&values)
    }

    /// The scope that binds `name`, searching outwards.
    func owner(of name: String) -> Scope? {
        var scope: Scope? = self
        while let current = scope {
            if current.bindings[name] != nil { return current }
            scope = current.parent
        }
        return nil
    }

    func lookup(_ name: String) -> Binding? { owner(of: name)?.bindings[name] }

    /// Every name visible from here (for suggestions and completion).
    var visibleNames: [String] {
        var names: [String] = []
        var scope: Scope? = self
        while let current = scope { names += current.bindings.keys; scope = current.parent }
        return names
    }
}

/// How a statement ended: normally, or by `break`, `continue` or `return`.
enum Flow {
    case normal
    case breakLoop
    case continueLoop
    case returnValue(Value)
}

/// Runs parsed statements against one session's global scope.
final class Evaluator {
    /// Expression nesting deeper than this at run time (through calls) is a `RecursionError`.
    static let maximumDepth = 6_000
    /// User function calls nested deeper than this are a `RecursionError`.
    static let maximumCallDepth = 1_000

    let globals = Scope(parent: nil)
    let registry: BuiltinRegistry
    private(set) lazy var context = BuiltinContext(evaluator: self)
    var seed: UInt64 = 0
    let interruptFlag = Atomic<Bool>(false)
    /// How much memory a value may take and how deep it may nest.
    var limits = ValueLimits()
    /// The most evaluation steps (calls and loop iterations) one cell may take; nil means no limit.
    var maximumSteps: Int?
    var steps = 0
    private var depth = 0
    private var callDepth = 0
    /// Where outputs go while a cell runs.
    var sink: (Output) -> Void = { _ in }
    /// Where `input(...)` reads from while a cell runs.
    var inputReader: (String, Bool) -> String? = { _, _ in nil }

    init(registry: BuiltinRegistry) { self.registry = registry }

    func emit(_ output: Output) { sink(output) }

    func readInput(_ prompt: String, _ password: Bool) -> String? { inputReader(prompt, password) }

    var interruptRequested: Bool { interruptFlag.load(ordering: .relaxed) }

    func checkInterrupt() throws {
        if interruptFlag.load(ordering: .relaxed) {
            throw CellError(.interrupted, "the cell was interrupted")
        }
    }

    /// Counts one step of work and stops the cell when it is interrupted, over its budget, or
    /// (checked every 65,536 steps) when the process as a whole has grown past the memory backstop.
    func tick() throws {
        steps += 1
        if let maximumSteps, steps > maximumSteps {
            throw CellError(.stepLimit, "the cell took more than \(maximumSteps) steps")
        }
        if steps & 0xFFFF == 0 { try limits.checkProcess() }
        try checkInterrupt()
    }

    /// Resets the per-cell counters before a cell runs.
    func beginCell() {
        steps = 0
        depth = 0
        callDepth = 0
    }

    // MARK: - Statements

    /// Runs a cell's statements in the global scope; returns the value of a trailing expression.
    func runCell(_ statements: [Statement]) throws -> (value: Value?, isCall: Bool) {
        let (flow, last) = try execute(statements, in: globals)
        switch flow {
        case .normal: break
        case .breakLoop, .continueLoop: throw CellError(.syntax, "`break` and `continue` can only be used inside a loop")
        case .returnValue: throw CellError(.syntax, "`return` can only be used inside a function")
        }
        guard let lastStatement = statements.last, case .expression(let expression) = lastStatement.kind else { return (nil, false) }
        if case .call = expression.kind { return (last, true) }
        return (last, false)
    }

    /// Runs statements in `scope`; also returns the value of the last statement when it is an expression.
    func execute(_ statements: [Statement], in scope: Scope) throws -> (Flow, Value?) {
        var last: Value?
        for statement in statements {
            last = nil
            do {
                let (flow, value) = try execute(statement, in: scope)
                last = value
                if case .normal = flow { continue }
                return (flow, nil)
            } catch var error as CellError {
                if error.line == nil {
                    error.line = statement.position.line
                    error.column = statement.position.column
                }
                throw error
            }
        }
        return (.normal, last)
    }

    private func execute(_ statement: Statement, in scope: Scope) throws -> (Flow, Value?) {
        switch statement.kind {
        case .expression(let expression):
            return (.normal, try evaluate(expression, in: scope))
        case .binding(let isConstant, let name, let expression):
            let value = try expression.map { try evaluate($0, in: scope) } ?? .null
            scope.bindings[name] = Scope.Binding(value: value, isConstant: isConstant)
        case .assignment(let target, let compoundOperator, let expression):
            let value = try evaluate(expression, in: scope)
            try modify(target, in: scope) { current in
                if let compoundOperator {
                    if compoundOperator == "+", try appendInPlace(value, to: &current, at: statement.position) { return }
                    current = try applyBinary(compoundOperator, current, value, at: statement.position)
                } else {
                    current = value
                }
            }
        case .function(let declaration):
            let function = UserFunction(name: declaration.name, parameters: declaration.parameters, body: declaration.body,
                                        isClosure: false, scope: scope)
            scope.bindings[declaration.name] = Scope.Binding(value: .function(.user(function)), isConstant: true)
        case .ifElse(let condition, let then, let otherwise):
            if try self.condition(condition, in: scope) {
                return (try execute(then, in: Scope(parent: scope)).0, nil)
            } else if let otherwise {
                return (try execute(otherwise, in: Scope(parent: scope)).0, nil)
            }
        case .whileLoop(let condition, let body):
            while try self.condition(condition, in: scope) {
                try tick()
                let (flow, _) = try execute(body, in: Scope(parent: scope))
                if case .breakLoop = flow { break }
                if case .returnValue = flow { return (flow, nil) }
            }
        case .forIn(let names, let sequence, let body):
            let collection = try evaluate(sequence, in: scope)
            var result = Flow.normal
            try iterate(collection, at: sequence.position) { element in
                try tick()
                let iterationScope = Scope(parent: scope)
                for (name, value) in try unpack(element, into: names, at: statement.position) {
                    iterationScope.bindings[name] = Scope.Binding(value: value, isConstant: true)
                }
                let (flow, _) = try execute(body, in: iterationScope)
                switch flow {
                case .breakLoop: return false
                case .returnValue: result = flow; return false
                case .normal, .continueLoop: return true
                }
            }
            return (result, nil)
        case .returnValue(let expression):
            return (.returnValue(try expression.map { try evaluate($0, in: scope) } ?? .null), nil)
        case .breakLoop: return (.breakLoop, nil)
        case .continueLoop: return (.continueLoop, nil)
        }
        return (.normal, nil)
    }

    /// `text += more` and `items += more` grow the value in place (amortised O(1) per element when
    /// nothing else holds it); returns false for other operands, which go through `applyBinary`.
    /// (No tuple switch here: matching `(current, value)` would copy `current` and defeat the in-place change.)
    private func appendInPlace(_ value: Value, to current: inout Value, at position: SourcePosition) throws -> Bool {
        if case .string(let more) = value, case .string(var text) = current {
            try at(position) { try limits.reserve(bytes: saturatingAdd(text.utf8.count, more.utf8.count), for: "the string") }
            current = .null
            text += more
            current = .string(text)
            return true
        }
        if case .list(let more) = value, case .list(var items) = current {
            // `more` was checked when it was made, and its elements nest no deeper in `items` than in it.
            try at(position) { try limits.reserve(bytes: saturatingAdd(items.storage.footprint, more.storage.footprint), for: "the list") }
            current = .null
            items.append(contentsOf: more)
            current = .list(items)
            return true
        }
        return false
    }

    /// Pairs loop variables with an element: the element itself for one name, else its parts.
    private func unpack(_ element: Value, into names: [String], at position: SourcePosition) throws -> [(String, Value)] {
        guard names.count > 1 else { return names.map { ($0, element) } }
        let parts: [Value]
        switch element {
        case .record(let record): parts = record.values
        case .list(let items): parts = items.array
        default: parts = []
        }
        guard parts.count == names.count else {
            throw CellError(.type, "cannot unpack \(element.typeName) \(renderPlain(element, nested: true, limit: 40)) into \(names.count) loop variables")
                .located(at: position, source: nil)
        }
        return Array(zip(names, parts))
    }

    private func condition(_ expression: Expression, in scope: Scope) throws -> Bool {
        let value = try evaluate(expression, in: scope)
        guard case .bool(let flag) = value else {
            throw CellError(.type, "a condition must be a Bool, got \(value.typeName) \(renderPlain(value, nested: true, limit: 40))")
                .located(at: expression.position, source: nil)
        }
        return flag
    }

    /// Visits the elements of a list, range, string (characters), record (keys) or iterable host object.
    /// `visit` returns false to stop early.
    func iterate(_ collection: Value, at position: SourcePosition?, _ visit: (Value) throws -> Bool) throws {
        switch collection {
        case .list(let items):
            for item in items.array { if try !visit(item) { return } }
        case .range(let lower, let upper, let closed):
            guard lower < upper || (closed && lower == upper) else { return }
            var current = lower
            while true {
                if try !visit(.integer(current)) { return }
                if closed ? current >= upper : current >= upper - 1 { return }
                current += 1
            }
        case .string(let text):
            for character in text { if try !visit(.string(String(character))) { return } }
        case .record(let record):
            for key in record.keys { if try !visit(.string(key)) { return } }
        case .host(let object) where object.elements != nil:
            for element in object.elements ?? [] { if try !visit(element) { return } }
        default:
            throw CellError(.type, "cannot iterate over \(collection.typeName); use a List, Range, String or Record")
                .located(at: position, source: nil)
        }
    }

    // MARK: - Names

    func lookup(_ name: String, in scope: Scope, at position: SourcePosition) throws -> Value {
        if let binding = scope.lookup(name) { return binding.value }
        if let builtin = registry.lookup(name) { return .function(.builtin(builtin)) }
        if let constant = builtinConstants[name] { return constant }
        if name.hasPrefix("$") {
            throw CellError(.name, "`\(name)` is only defined inside a closure called with enough arguments")
                .located(at: position, source: nil)
        }
        throw unknownName(name, in: scope, at: position)
    }

    func unknownName(_ name: String, in scope: Scope, at position: SourcePosition) -> CellError {
        var message = "cannot find `\(name)` in scope"
        if let suggestion = nearestName(to: name, among: scope.visibleNames + registry.names) {
            message += "; did you mean `\(suggestion)`?"
        }
        return CellError(.name, message).located(at: position, source: nil)
    }

    // MARK: - Assignment

    /// Changes the storage that `target` names (`x`, `x.key`, `x[i]`, nested) in place.
    func modify(_ target: Expression, in scope: Scope, _ change: (inout Value) throws -> Void) throws {
        switch target.kind {
        case .identifier(let name):
            guard let owner = scope.owner(of: name), var binding = owner.bindings[name] else {
                var error = unknownName(name, in: scope, at: target.position)
                if registry.lookup(name) == nil, !error.message.contains("did you mean") {
                    error.message += "; declare it first with `var \(name) = ...`"
                }
                throw error
            }
            guard !binding.isConstant else {
                throw CellError(.type, "cannot assign to `\(name)`: it is a `let` constant; declare it with `var` to change it")
                    .located(at: target.position, source: nil)
            }
            owner.bindings[name]?.value = .null  // Drop the extra reference so the change does not copy the whole list.
            defer { owner.bindings[name] = binding }
            try change(&binding.value)
            // A change deep inside (`grid[0].append(x)`) is checked where it happens; this catches what it adds up to.
            try at(target.position) { try limits.check(binding.value, "`\(name)`") }
        case .member(let base, let key):
            try modify(base, in: scope) { baseValue in
                guard case .record(var record) = baseValue else {
                    throw CellError(.type, "cannot assign to `.\(key)` of a \(baseValue.typeName); only record fields can be assigned")
                        .located(at: target.position, source: nil)
                }
                baseValue = .null
                defer { baseValue = .record(record) }
                guard var field = record.take(key) else {
                    throw CellError(.key, "the record has no key `\(key)`; add it with `x[\"\(key)\"] = ...`")
                        .located(at: target.position, source: nil)
                }
                defer { record[key] = field }
                try change(&field)
            }
        case .index(let base, let indexExpression):
            let index = try evaluate(indexExpression, in: scope)
            try modify(base, in: scope) { baseValue in
                try modifyElement(of: &baseValue, at: index, position: target.position, change)
            }
        default:
            throw CellError(.syntax, "cannot assign to this expression").located(at: target.position, source: nil)
        }
    }

    /// (No tuple switch here: matching `(container, index)` would copy the container and defeat the in-place change.)
    private func modifyElement(of container: inout Value, at index: Value, position: SourcePosition, _ change: (inout Value) throws -> Void) throws {
        if case .integer(let offset) = index, case .list(var items) = container {
            guard items.indices.contains(offset) else {
                throw CellError(.index, "index \(offset) is out of range for a list of \(items.count) elements")
            }
            container = .null
            defer { container = .list(items) }
            var element = items.take(at: offset)  // Taken out, so that changing it does not copy it.
            defer { items[offset] = element }
            try change(&element)
        } else if case .string(let key) = index, case .record(var record) = container {
            container = .null
            defer { container = .record(record) }
            var field = record.take(key) ?? .null
            defer { record[key] = field }
            try change(&field)
        } else {
            throw CellError(.type, "cannot assign to an element of \(container.typeName) with a \(index.typeName) index")
                .located(at: position, source: nil)
        }
    }

    // MARK: - Calls

    /// Calls a function value with (label, value) arguments.
    func callValue(_ callee: Value, arguments: [(String?, Value)], at position: SourcePosition?) throws -> Value {
        try tick()
        guard case .function(let function) = callee else {
            throw CellError(.type, "\(callee.typeName) \(renderPlain(callee, nested: true, limit: 40)) is not a function")
                .located(at: position, source: nil)
        }
        do {
            switch function {
            case .builtin(let builtin):
                let result = try builtin.body(try bind(arguments, to: builtin), context)
                try limits.check(result, "the result of `\(builtin.name)`")
                return result
            case .user(let user):
                return try callUser(user, arguments: arguments)
            }
        } catch var error as CellError {
            if error.line == nil, let position { error.line = position.line; error.column = position.column }
            throw error
        } catch {
            throw CellError(.runtime, "\(error)").located(at: position, source: nil)
        }
    }

    private func callUser(_ function: UserFunction, arguments: [(String?, Value)]) throws -> Value {
        callDepth += 1
        defer { callDepth -= 1 }
        if callDepth > Evaluator.maximumCallDepth {
            throw CellError(.recursion, "`\(function.name)` recursed more than \(Evaluator.maximumCallDepth) calls deep")
        }
        let scope = Scope(parent: function.scope)
        try bind(arguments, to: function, in: scope)
        let (flow, last) = try execute(function.body, in: scope)
        switch flow {
        case .returnValue(let value): return value
        case .normal: return function.isClosure ? (last ?? .null) : .null
        case .breakLoop, .continueLoop:
            throw CellError(.syntax, "`break` and `continue` can only be used inside a loop")
        }
    }

    private func bind(_ arguments: [(String?, Value)], to function: UserFunction, in scope: Scope) throws {
        guard let parameters = function.parameters else {
            for (index, (label, value)) in arguments.enumerated() {
                if let label { throw CellError(.type, "a closure takes no labeled arguments, got `\(label):`") }
                scope.bindings["$\(index)"] = Scope.Binding(value: value, isConstant: true)
            }
            return
        }
        var positional: [Value] = []
        for (label, value) in arguments {
            guard let label else { positional.append(value); continue }
            guard parameters.contains(where: { $0.name == label }) else {
                throw CellError(.type, "`\(function.name)` has no parameter `\(label)`; its parameters are \(parameters.map { "`\($0.name)`" }.joined(separator: ", "))")
            }
            guard scope.bindings[label] == nil else { throw CellError(.type, "argument `\(label)` is given twice") }
            scope.bindings[label] = Scope.Binding(value: value, isConstant: true)
        }
        var nextPositional = positional.makeIterator()
        var used = 0
        for parameter in parameters where scope.bindings[parameter.name] == nil {
            if let value = nextPositional.next() {
                used += 1
                scope.bindings[parameter.name] = Scope.Binding(value: value, isConstant: true)
            } else if let defaultValue = parameter.defaultValue {
                scope.bindings[parameter.name] = Scope.Binding(value: try evaluate(defaultValue, in: scope), isConstant: true)
            } else {
                throw CellError(.type, "missing argument `\(parameter.name)` in call to `\(function.name)`")
            }
        }
        if used < positional.count {
            throw CellError(.type, "`\(function.name)` takes \(parameters.count) argument\(parameters.count == 1 ? "" : "s") but \(arguments.count) were given")
        }
    }

    /// Binds call arguments to a builtin's parameters: labels by name, the rest in order, then defaults.
    func bind(_ arguments: [(String?, Value)], to builtin: Builtin, receiver: Value? = nil) throws -> Arguments {
        var values: [String: Value] = [:]
        var positional: [Value] = []
        for (label, value) in arguments {
            guard let label else { positional.append(value); continue }
            guard builtin.parameters.contains(where: { $0.name == label }) else {
                let known = builtin.parameters.map { "`\($0.name)`" }.joined(separator: ", ")
                throw CellError(.type, "`\(builtin.name)` has no parameter `\(label)`" + (known.isEmpty ? "" : "; its parameters are \(known)"))
            }
            guard values[label] == nil else { throw CellError(.type, "argument `\(label)` is given twice") }
            values[label] = value
        }
        var remaining = positional[...]
        for parameter in builtin.parameters where values[parameter.name] == nil {
            if parameter.variadic {
                values[parameter.name] = .list(Array(remaining))
                remaining = []
            } else if let value = remaining.popFirst() {
                values[parameter.name] = value
            } else if let defaultValue = parameter.defaultValue {
                values[parameter.name] = defaultValue
            } else {
                throw CellError(.type, "missing argument `\(parameter.name)` in call to `\(builtin.name)`; usage: \(builtin.signature)")
            }
        }
        if !remaining.isEmpty {
            let count = builtin.parameters.count
            throw CellError(.type, "`\(builtin.name)` takes \(count) argument\(count == 1 ? "" : "s") but \(arguments.count) were given; usage: \(builtin.signature)")
        }
        return Arguments(values: values, receiver: receiver, callee: builtin.name)
    }

    // MARK: - Depth guard

    func enterExpression(at position: SourcePosition) throws {
        depth += 1
        if depth > Evaluator.maximumDepth {
            throw CellError(.recursion, "evaluation nested more than \(Evaluator.maximumDepth) levels deep")
                .located(at: position, source: nil)
        }
    }

    func leaveExpression() { depth -= 1 }

    /// Runs `body`, giving a `CellError` it throws without a position the position `position`.
    func at<T>(_ position: SourcePosition?, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var error as CellError {
            if error.line == nil, let position { error.line = position.line; error.column = position.column }
            throw error
        }
    }
}
