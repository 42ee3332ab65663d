// What the kernel asks about code that is not running: completion (names, and members after `.`),
// inspect (the doc of the name under the cursor) and is-complete (run it, or wait for more lines).
// Cursor positions are Unicode scalar offsets, as in Jupyter protocol 5.2 and later.

extension Interpreter {
    /// Completion at `cursor` (a Unicode scalar offset into `code`).
    public func complete(_ code: String, cursor: Int) -> Completion {
        let scalars = Array(code.unicodeScalars)
        let end = max(0, min(cursor, scalars.count))
        var start = end
        while start > 0, isIdentifierPart(scalars[start - 1]) { start -= 1 }
        let prefix = String(String.UnicodeScalarView(scalars[start..<end]))
        var candidates: [String]
        if start > 0, scalars[start - 1] == "." {
            guard let receiver = resolveReceiver(scalars, before: start - 1) else {
                return Completion(matches: [], cursorStart: start, cursorEnd: end)
            }
            candidates = memberNames(of: receiver)
        } else if start > 0, scalars[start - 1] == "%" {
            candidates = Array(magics.keys) + ["time"]
        } else {
            candidates = variables.map(\.0) + registry.names + Keyword.allCases.map(\.rawValue)
        }
        let matches = Set(candidates.filter { $0.hasPrefix(prefix) && !$0.hasPrefix("$") }).sorted()
        return Completion(matches: matches, cursorStart: start, cursorEnd: end)
    }

    /// Documentation for the name under or before `cursor`, or nil when there is none.
    public func inspect(_ code: String, cursor: Int) -> MimeBundle? {
        let scalars = Array(code.unicodeScalars)
        let position = max(0, min(cursor, scalars.count))
        var start = position, end = position
        while start > 0, isIdentifierPart(scalars[start - 1]) { start -= 1 }
        while end < scalars.count, isIdentifierPart(scalars[end]) { end += 1 }
        if start == end, let callee = enclosingCallee(scalars, before: position) {
            (start, end) = callee
        }
        guard start < end else { return nil }
        let name = String(String.UnicodeScalarView(scalars[start..<end]))
        if start > 0, scalars[start - 1] == "." {
            guard let receiver = resolveReceiver(scalars, before: start - 1) else { return nil }
            return memberDocumentation(name, of: receiver).map { MimeBundle(plain: $0) }
        }
        if let value = value(of: name) { return MimeBundle(plain: describe(name, value)) }
        if let builtin = registry.lookup(name) { return MimeBundle(plain: builtin.help) }
        if start > 0, scalars[start - 1] == "%", let text = documentation(for: "%" + name) { return MimeBundle(plain: text) }
        return nil
    }

    /// Whether `code` is ready to run: complete, incomplete (open brackets, braces, strings,
    /// comments, or a trailing operator) with a suggested indent, or invalid.
    public func isComplete(_ code: String) -> Completeness {
        // Parsing runs on the big-stack worker: a pathological cell builds (and frees) a deep tree.
        onWorkerThread { self.completeness(of: code) }
    }

    private func completeness(of code: String) -> Completeness {
        let lines = code.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            line.drop { $0 == " " || $0 == "\t" }.hasPrefix("%") ? "" : line
        }
        let source = lines.joined(separator: "\n")
        let lexed = Lexer.tokenize(source)
        if lexed.endsInsideString || lexed.endsInsideComment { return .incomplete(indent: "") }
        var open: [String] = []
        let pairs = [")": "(", "]": "[", "}": "{"]
        for token in lexed.tokens {
            guard case .symbol(let symbol) = token.kind else { continue }
            if ["(", "[", "{"].contains(symbol) { open.append(symbol) }
            if let opener = pairs[symbol] {
                guard open.last == opener else { return .invalid }
                open.removeLast()
            }
        }
        if !lexed.errors.isEmpty { return .invalid }
        if !open.isEmpty { return .incomplete(indent: String(repeating: "    ", count: open.count)) }
        let meaningful = lexed.tokens.filter { $0.kind != .newline && $0.kind != .end }
        if let last = meaningful.last {
            switch last.kind {
            case .symbol(let symbol) where BinaryPrecedence.table[symbol] != nil || ["=", ",", ".", "->", "?", ":", "!"].contains(symbol) || symbol.hasSuffix("="):
                if symbol != "!" { return .incomplete(indent: "") }
            case .keyword(let keyword) where [.else, .in, .let, .var, .func, .if, .for, .while].contains(keyword):
                return .incomplete(indent: "")
            default: break
            }
        }
        return Parser.parse(source).errors.isEmpty ? .complete : .invalid
    }

    // MARK: - Helpers

    /// The value before a `.` at `dot`: a chain of names (`run.config`), or a string, list or record literal's type.
    func resolveReceiver(_ scalars: [Unicode.Scalar], before dot: Int) -> Value? {
        guard dot > 0 else { return nil }
        switch scalars[dot - 1] {
        case "\"": return .string("")
        case "]": return .list([])
        default: break
        }
        var start = dot
        while start > 0, isIdentifierPart(scalars[start - 1]) || scalars[start - 1] == "." { start -= 1 }
        let chain = String(String.UnicodeScalarView(scalars[start..<dot])).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = chain.first, !first.isEmpty, var value = value(of: first) else { return nil }
        for name in chain.dropFirst() {
            guard !name.isEmpty, let next = try? evaluator.member(name, of: value, at: SourcePosition(line: 0, column: 0, offset: 0)) else { return nil }
            value = next
        }
        return value
    }

    /// The names offered after `value.`.
    func memberNames(of value: Value) -> [String] {
        var names = Array(builtinMembers(of: value).keys)
        if case .record(let record) = value { names += record.keys }
        if case .host(let object) = value { names += object.memberNames }
        return names
    }

    /// The doc of member `name` of `value`.
    func memberDocumentation(_ name: String, of value: Value) -> String? {
        if case .record(let record) = value, let field = record[name] { return describe(name, field) }
        if case .host(let object) = value {
            return object.documentation(ofMember: name).map { "\(object.typeName).\(name)\n\n\($0)" }
        }
        return builtinMembers(of: value)[name].map { "\(value.typeName).\($0.help)" }
    }

    /// `name: Type = value`, plus the signature and doc of a function.
    func describe(_ name: String, _ value: Value) -> String {
        switch value {
        case .function(.builtin(let builtin)): return "\(name): Function\n\n\(builtin.help)"
        case .function(.user(let function)): return "\(name): Function\n\nfunc \(function.signature)"
        default: return "\(name): \(value.typeName) = \(renderPlain(value, nested: true, limit: 200))"
        }
    }

    /// The name of the call whose parentheses enclose `position` (`print(|` → `print`), as scalar bounds.
    private func enclosingCallee(_ scalars: [Unicode.Scalar], before position: Int) -> (Int, Int)? {
        var depth = 0
        var index = position - 1
        while index >= 0 {
            let scalar = scalars[index]
            if scalar == ")" { depth += 1 } else if scalar == "(" {
                if depth == 0 {
                    var end = index
                    while end > 0, scalars[end - 1] == " " { end -= 1 }
                    var start = end
                    while start > 0, isIdentifierPart(scalars[start - 1]) { start -= 1 }
                    return start < end ? (start, end) : nil
                }
                depth -= 1
            } else if scalar == "\n" && depth == 0 {
                return nil
            }
            index -= 1
        }
        return nil
    }
}
