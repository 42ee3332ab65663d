// Magics: lines that start with `%`. A cell is split into code chunks and magic lines (keeping
// every line's number, so errors still point at the right line); `%time` wraps the rest of the
// cell or its own line. `%who`, `%help`, `%seed`, `%threads`, `%memory` are built in; later layers may add more.

import Foundation

/// A magic command's handler: gets the text after the name and a context to emit outputs.
public typealias MagicHandler = (_ argument: String, _ context: BuiltinContext) throws -> Void

/// A parsed piece of a cell.
indirect enum CellPart {
    case code([Statement])
    /// A magic line: name, argument text, where the `%` is.
    case magic(String, String, SourcePosition)
    /// `%time`: run and time the parts inside.
    case time([CellPart], SourcePosition)
}

/// Splits a cell into parts and parses the code in them; collects every syntax error.
struct CellParser {
    /// `%time` inside `%time` inside ... deeper than this is an error, not a deep recursion.
    static let maximumTimeNesting = 16

    let knownMagics: Set<String>
    /// Asked while parsing; yes stops with an `Interrupted` error.
    var isCancelled: () -> Bool = { false }
    var errors: [CellError] = []
    private var timeNesting = 0

    init(knownMagics: Set<String>, isCancelled: @escaping () -> Bool = { false }) {
        self.knownMagics = knownMagics
        self.isCancelled = isCancelled
    }

    mutating func parse(_ source: String) -> [CellPart] {
        var lines: [(text: String, position: SourcePosition)] = []
        var offset = 0
        for (number, line) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            lines.append((String(line), SourcePosition(line: number + 1, column: 1, offset: offset)))
            offset += line.unicodeScalars.count + 1
        }
        return parse(lines[...])
    }

    private mutating func parse(_ lines: ArraySlice<(text: String, position: SourcePosition)>) -> [CellPart] {
        var parts: [CellPart] = []
        var chunk: [String] = []
        var chunkStart: SourcePosition?
        func flush(_ parser: inout CellParser) {
            guard let start = chunkStart else { return }
            let parsed = Parser.parse(chunk.joined(separator: "\n"), origin: start, isCancelled: parser.isCancelled)
            parser.errors += parsed.errors
            parts.append(.code(parsed.statements))
            chunk = []
            chunkStart = nil
        }
        var index = lines.startIndex
        while index < lines.endIndex {
            let (text, position) = lines[index]
            let indent = text.unicodeScalars.prefix { $0 == " " || $0 == "\t" }.count
            let trimmed = String(text.unicodeScalars.dropFirst(indent))
            guard trimmed.hasPrefix("%") else {
                if chunkStart == nil { chunkStart = position }
                chunk.append(text)
                index += 1
                continue
            }
            flush(&self)
            let magicPosition = SourcePosition(line: position.line, column: indent + 1, offset: position.offset + indent)
            let body = trimmed.dropFirst()
            let name = String(body.prefix { !$0.isWhitespace })
            let argument = body.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
            if name == "time" {
                if argument.isEmpty {
                    guard timeNesting < CellParser.maximumTimeNesting else {
                        errors.append(CellError(kind: ErrorKind.magic.rawValue, message: "`%time` is nested more than \(CellParser.maximumTimeNesting) deep",
                                                line: magicPosition.line, column: magicPosition.column))
                        return parts
                    }
                    timeNesting += 1
                    parts.append(.time(parse(lines[(index + 1)...]), magicPosition))
                    return parts
                }
                let spaces = body.dropFirst(name.count).unicodeScalars.prefix { $0 == " " || $0 == "\t" }.count
                let argumentColumn = indent + 2 + name.unicodeScalars.count + spaces
                let origin = SourcePosition(line: position.line, column: argumentColumn, offset: position.offset + argumentColumn - 1)
                let parsed = Parser.parse(argument, origin: origin, isCancelled: isCancelled)
                errors += parsed.errors
                parts.append(.time([.code(parsed.statements)], magicPosition))
            } else if knownMagics.contains(name) {
                parts.append(.magic(name, argument, magicPosition))
            } else {
                let known = (knownMagics.union(["time"])).sorted().map { "%\($0)" }.joined(separator: ", ")
                errors.append(CellError(kind: ErrorKind.magic.rawValue, message: "unknown magic `%\(name)`; the magics are \(known)",
                                        line: magicPosition.line, column: magicPosition.column))
            }
            index += 1
        }
        flush(&self)
        return parts
    }
}

/// The magics every interpreter has, besides `%time`.
func standardMagics(for interpreter: Interpreter) -> [String: (documentation: String, handler: MagicHandler)] {
    [
        "who": ("%who: lists your variables with their types.", { [unowned interpreter] _, context in
            let variables = interpreter.variables
            guard !variables.isEmpty else { context.emit(.stream(.stdout, "No variables are defined.\n")); return }
            let lines = variables.map { name, value in "\(name): \(value.typeName) = \(renderPlain(value, nested: true, limit: 60))" }
            context.emit(.stream(.stdout, lines.joined(separator: "\n") + "\n"))
        }),
        "help": ("%help name: shows the documentation of a builtin, a member (`%help List.map`) or a variable.", { [unowned interpreter] argument, context in
            guard !argument.isEmpty else {
                let lines = interpreter.registry.names.compactMap { name in interpreter.registry.lookup(name).map { "\(name): \($0.summary)" } }
                context.emit(.pager(MimeBundle(plain: "Builtins:\n" + lines.joined(separator: "\n"))))
                return
            }
            guard let text = interpreter.documentation(for: argument) else {
                var message = "no documentation for `\(argument)`"
                if let suggestion = nearestName(to: argument, among: interpreter.registry.names + interpreter.variables.map(\.0)) {
                    message += "; did you mean `\(suggestion)`?"
                }
                throw CellError(.name, message)
            }
            context.emit(.pager(MimeBundle(plain: text)))
        }),
        "threads": threadsMagic,
        "memory": memoryMagic(for: interpreter),
        "seed": ("%seed n: sets the seed for reproducible randomness; `%seed` alone shows it.", { [unowned interpreter] argument, context in
            if !argument.isEmpty {
                guard let seed = UInt64(argument) else {
                    throw CellError(.magic, "`%seed` needs a non-negative integer, as in `%seed 42`; got `\(argument)`")
                }
                interpreter.seed = seed
            }
            context.emit(.stream(.stdout, "seed = \(interpreter.seed)\n"))
        }),
    ]
}

/// "1.23 ms", "4.5 s": a duration as `%time` reports it.
func formatDuration(_ seconds: Double) -> String {
    if seconds < 1e-3 { return String(format: "%.1f µs", seconds * 1e6) }
    if seconds < 1 { return String(format: "%.2f ms", seconds * 1e3) }
    return String(format: "%.2f s", seconds)
}
