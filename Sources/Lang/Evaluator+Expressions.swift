// Expression evaluation: literals, names, operators (with overflow and division checks),
// calls (including in-place list methods such as `append`), members and subscripts.

extension Evaluator {
    func evaluate(_ expression: Expression, in scope: Scope) throws -> Value {
        try enterExpression(at: expression.position)
        defer { leaveExpression() }
        switch expression.kind {
        case .integer(let value): return .integer(value)
        case .double(let value): return .double(value)
        case .bool(let value): return .bool(value)
        case .nilLiteral: return .null
        case .string(let parts):
            var text = ""
            for part in parts {
                let piece: String
                switch part {
                case .text(let literal): piece = literal
                case .expression(let inner): piece = renderPlain(try evaluate(inner, in: scope))
                }
                try limits.reserve(bytes: text.utf8.count + piece.utf8.count, for: "the interpolated string")
                text += piece
            }
            return .string(text)
        case .identifier(let name): return try lookup(name, in: scope, at: expression.position)
        case .shorthandArgument(let number): return try lookup("$\(number)", in: scope, at: expression.position)
        case .list(let items):
            let list = Value.list(try items.map { try evaluate($0, in: scope) })
            try at(expression.position) { try limits.check(list, "the list") }
            return list
        case .record(let entries):
            var record = Record()
            for entry in entries {
                let key = try evaluate(entry.key, in: scope)
                guard case .string(let name) = key else {
                    throw CellError(.type, "record keys must be Strings, got \(key.typeName)").located(at: entry.key.position, source: nil)
                }
                record[name] = try evaluate(entry.value, in: scope)
            }
            try at(expression.position) { try limits.check(.record(record), "the record") }
            return .record(record)
        case .unary(let op, let operand):
            return try applyUnary(op, try evaluate(operand, in: scope), at: expression.position)
        case .binary(let op, let left, let right):
            return try evaluateBinary(op, left, right, in: scope, at: expression.position)
        case .ternary(let condition, let then, let otherwise):
            let test = try evaluate(condition, in: scope)
            guard case .bool(let flag) = test else {
                throw CellError(.type, "the condition of `? :` must be a Bool, got \(test.typeName)").located(at: condition.position, source: nil)
            }
            return try evaluate(flag ? then : otherwise, in: scope)
        case .call(let callee, let arguments):
            return try evaluateCall(callee, arguments, in: scope, at: expression.position)
        case .member(let base, let name):
            return try member(name, of: try evaluate(base, in: scope), at: expression.position)
        case .index(let base, let index):
            return try subscriptValue(try evaluate(base, in: scope), try evaluate(index, in: scope), at: expression.position)
        case .closure(let literal):
            let parameters = literal.parameters.map { $0.map { ParameterDeclaration(name: $0, defaultValue: nil) } }
            return .function(.user(UserFunction(name: "closure", parameters: parameters, body: literal.body, isClosure: true, scope: scope)))
        }
    }

    // MARK: - Calls

    private func evaluateCall(_ callee: Expression, _ arguments: [CallArgument], in scope: Scope, at position: SourcePosition) throws -> Value {
        let values = try arguments.map { ($0.label, try evaluate($0.value, in: scope)) }
        if case .member(let base, let name) = callee.kind, let mutating = mutatingListMethods[name], isAssignable(base),
           try holdsList(base, in: scope) {
            if case .identifier(let root) = rootName(of: base), scope.lookup(root)?.isConstant == true {
                throw CellError(.type, "cannot use `\(name)` on `\(root)`: it is a `let` constant; declare it with `var` to change it")
                    .located(at: position, source: nil)
            }
            var result = Value.null
            try modify(base, in: scope) { list in
                guard case .list(var items) = list else { return }
                list = .null  // Now `items` is the only reference, so the change happens in place.
                defer { list = .list(items) }
                let bound = try bind(values, to: mutating.signature, receiver: nil)
                do {
                    result = try mutating.apply(&items, bound, context)
                } catch var error as CellError {
                    if error.line == nil { error.line = position.line; error.column = position.column }
                    throw error
                }
            }
            return result
        }
        let function = try evaluate(callee, in: scope)
        if case .function = function {} else if case .identifier(let name) = callee.kind {
            throw CellError(.type, "`\(name)` is \(function.typeName) \(renderPlain(function, nested: true, limit: 40)), not a function")
                .located(at: position, source: nil)
        }
        return try callValue(function, arguments: values, at: position)
    }

    /// Whether `base` evaluates to a list. Only a Bool comes back, so no extra reference to the
    /// list outlives the check and the in-place change that follows does not copy it.
    private func holdsList(_ base: Expression, in scope: Scope) throws -> Bool {
        if case .list = try evaluate(base, in: scope) { return true }
        return false
    }

    private func isAssignable(_ expression: Expression) -> Bool {
        switch expression.kind {
        case .identifier: return true
        case .member(let base, _), .index(let base, _): return isAssignable(base)
        default: return false
        }
    }

    private func rootName(of expression: Expression) -> ExpressionKind {
        switch expression.kind {
        case .member(let base, _), .index(let base, _): return rootName(of: base)
        default: return expression.kind
        }
    }

    // MARK: - Operators

    private func evaluateBinary(_ op: String, _ left: Expression, _ right: Expression, in scope: Scope, at position: SourcePosition) throws -> Value {
        switch op {
        case "&&", "||":
            let first = try evaluate(left, in: scope)
            guard case .bool(let a) = first else {
                throw CellError(.type, "`\(op)` needs Bool operands, got \(first.typeName)").located(at: left.position, source: nil)
            }
            if (op == "&&" && !a) || (op == "||" && a) { return .bool(a) }
            let second = try evaluate(right, in: scope)
            guard case .bool(let b) = second else {
                throw CellError(.type, "`\(op)` needs Bool operands, got \(second.typeName)").located(at: right.position, source: nil)
            }
            return .bool(b)
        case "??":
            let first = try evaluate(left, in: scope)
            if case .null = first { return try evaluate(right, in: scope) }
            return first
        default:
            return try applyBinary(op, try evaluate(left, in: scope), try evaluate(right, in: scope), at: position)
        }
    }

    func applyUnary(_ op: String, _ operand: Value, at position: SourcePosition) throws -> Value {
        switch (op, operand) {
        case ("-", .integer(let value)):
            guard value != Int.min else { throw CellError(.overflow, "-(\(value)) overflows Int").located(at: position, source: nil) }
            return .integer(-value)
        case ("-", .double(let value)): return .double(-value)
        case ("+", .integer), ("+", .double): return operand
        case ("!", .bool(let value)): return .bool(!value)
        default:
            throw CellError(.type, "cannot apply `\(op)` to \(operand.typeName)").located(at: position, source: nil)
        }
    }

    func applyBinary(_ op: String, _ left: Value, _ right: Value, at position: SourcePosition) throws -> Value {
        func fail(_ kind: ErrorKind, _ message: String) -> CellError { CellError(kind, message).located(at: position, source: nil) }
        switch op {
        case "==": return .bool(left == right)
        case "!=": return .bool(left != right)
        case "<", "<=", ">", ">=":
            guard let order = Value.compare(left, right) else {
                throw fail(.type, "cannot compare \(left.typeName) and \(right.typeName) with `\(op)`")
            }
            switch op {
            case "<": return .bool(order == .orderedAscending)
            case "<=": return .bool(order != .orderedDescending)
            case ">": return .bool(order == .orderedDescending)
            default: return .bool(order != .orderedAscending)
            }
        case "..<", "...":
            guard case .integer(let lower) = left, case .integer(let upper) = right else {
                throw fail(.type, "a range needs Int bounds, got \(left.typeName) and \(right.typeName)")
            }
            guard lower <= upper else { throw fail(.value, "a range's lower bound \(lower) is greater than its upper bound \(upper)") }
            return .range(lower: lower, upper: upper, closed: op == "...")
        default: break
        }
        switch (left, right) {
        case (.integer(let a), .integer(let b)):
            let result: (partialValue: Int, overflow: Bool)
            switch op {
            case "+": result = a.addingReportingOverflow(b)
            case "-": result = a.subtractingReportingOverflow(b)
            case "*": result = a.multipliedReportingOverflow(by: b)
            case "/", "%":
                guard b != 0 else { throw fail(.zeroDivision, op == "/" ? "division by zero" : "remainder of division by zero") }
                result = op == "/" ? a.dividedReportingOverflow(by: b) : a.remainderReportingOverflow(dividingBy: b)
            default: throw fail(.type, "cannot apply `\(op)` to Int and Int")
            }
            if result.overflow { throw fail(.overflow, "\(a) \(op) \(b) overflows Int (64-bit)") }
            return .integer(result.partialValue)
        case (.string(let a), .string(let b)) where op == "+":
            try at(position) { try limits.reserve(bytes: saturatingAdd(a.utf8.count, b.utf8.count), for: "the string") }
            return .string(a + b)
        case (.list(let a), .list(let b)) where op == "+":
            let result = Value.list(a + b)
            try at(position) { try limits.check(result, "the list") }
            return result
        default:
            guard let a = left.numberValue, let b = right.numberValue else {
                var message = "cannot apply `\(op)` to \(left.typeName) and \(right.typeName)"
                if op == "+", case .string = left { message += "; convert with str(...) or use \"\\(...)\"" }
                throw fail(.type, message)
            }
            switch op {
            case "+": return .double(a + b)
            case "-": return .double(a - b)
            case "*": return .double(a * b)
            case "/": return .double(a / b)
            case "%":
                guard b != 0 else { throw fail(.zeroDivision, "remainder of division by zero") }
                return .double(a.truncatingRemainder(dividingBy: b))
            default: throw fail(.type, "cannot apply `\(op)` to \(left.typeName) and \(right.typeName)")
            }
        }
    }

    // MARK: - Members and subscripts

    /// `value.name`: a record's key, a property (`count`), a method as a bound function, or a host object's member.
    func member(_ name: String, of value: Value, at position: SourcePosition) throws -> Value {
        if case .record(let record) = value, let field = record[name] { return field }
        if case .host(let object) = value {
            do {
                if let member = try object.member(name, context: context) {
                    try limits.check(member, "`.\(name)`")
                    return member
                }
            } catch var error as CellError {
                if error.line == nil { error.line = position.line; error.column = position.column }
                throw error
            }
            throw noMember(name, of: value, candidates: object.memberNames, at: position)
        }
        let members = builtinMembers(of: value)
        guard let builtin = members[name] else {
            var candidates = Array(members.keys)
            if case .record(let record) = value { candidates += record.keys }
            throw noMember(name, of: value, candidates: candidates, at: position)
        }
        if builtin.isProperty {
            return try builtin.body(Arguments(values: [:], receiver: value, callee: name), context)
        }
        return .function(.builtin(builtin.bound(to: value)))
    }

    private func noMember(_ name: String, of value: Value, candidates: [String], at position: SourcePosition) -> CellError {
        var message: String
        var kind = ErrorKind.type
        if case .record(let record) = value {
            kind = .key
            message = "the record has no key `\(name)`"
            if record.count > 0 { message += " (its keys: \(record.keys.prefix(10).joined(separator: ", ")))" }
        } else {
            message = "\(value.typeName) has no member `\(name)`"
        }
        if let suggestion = nearestName(to: name, among: candidates) { message += "; did you mean `\(suggestion)`?" }
        return CellError(kind, message).located(at: position, source: nil)
    }

    /// `value[index]`: list and string elements and slices, record keys, host subscripts.
    func subscriptValue(_ value: Value, _ index: Value, at position: SourcePosition) throws -> Value {
        func fail(_ kind: ErrorKind, _ message: String) -> CellError { CellError(kind, message).located(at: position, source: nil) }
        switch (value, index) {
        case (.list(let items), .integer(let i)):
            guard items.indices.contains(i) else { throw fail(.index, "index \(i) is out of range for a list of \(items.count) elements") }
            return items[i]
        case (.list(let items), .range(let lower, let upper, let closed)):
            return .list(Array(items[try sliceBounds(lower, upper, closed, count: items.count, position)]))
        case (.string(let text), .integer(let i)):
            // Walks to the character instead of making an array of all of them (a string may be gigabytes).
            guard i >= 0, let start = text.index(text.startIndex, offsetBy: i, limitedBy: text.endIndex), start < text.endIndex else {
                throw fail(.index, "index \(i) is out of range for a string of \(try characterCount(text, context)) characters")
            }
            return .string(String(text[start]))
        case (.string(let text), .range(let lower, let upper, let closed)):
            let end = closed ? upper.addingReportingOverflow(1).partialValue : upper
            guard lower >= 0, lower <= end, let from = text.index(text.startIndex, offsetBy: lower, limitedBy: text.endIndex),
                  let to = text.index(from, offsetBy: end - lower, limitedBy: text.endIndex) else {
                throw fail(.index, "slice \(lower)\(closed ? "..." : "..<")\(upper) is out of range for \(try characterCount(text, context)) characters")
            }
            return .string(String(text[from..<to]))
        case (.record(let record), .string(let key)):
            return record[key] ?? .null
        case (.range(let lower, let upper, let closed), .integer(let i)):
            let count = Value.rangeCount(lower: lower, upper: upper, closed: closed) ?? Int.max
            guard i >= 0, i < count else { throw fail(.index, "index \(i) is out of range for a range of \(count) elements") }
            return .integer(lower + i)
        case (.host(let object), _):
            do {
                if let element = try object.subscriptValue(index, context: context) { return element }
            } catch var error as CellError {
                if error.line == nil { error.line = position.line; error.column = position.column }
                throw error
            }
            throw fail(.type, "\(object.typeName) cannot be subscripted with \(index.typeName)")
        default:
            throw fail(.type, "cannot subscript \(value.typeName) with \(index.typeName)")
        }
    }

    private func sliceBounds(_ lower: Int, _ upper: Int, _ closed: Bool, count: Int, _ position: SourcePosition) throws -> Range<Int> {
        let end = closed ? upper.addingReportingOverflow(1).partialValue : upper
        guard lower >= 0, end <= count, lower <= end else {
            throw CellError(.index, "slice \(lower)\(closed ? "..." : "..<")\(upper) is out of range for \(count) elements")
                .located(at: position, source: nil)
        }
        return lower..<end
    }
}
