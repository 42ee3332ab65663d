// The core builtins: output (print, eprint, display, updateDisplay, html, table, clearOutput),
// input, sleep, assert and type(of:). Numbers and collections live in Builtins+Values.swift.

import Foundation

extension BuiltinRegistry {
    /// A registry holding the standard builtins, plus whatever `addToEveryInterpreter` added.
    public static func standard() -> BuiltinRegistry {
        let registry = BuiltinRegistry()
        registry.register(coreBuiltins)
        registry.register(valueBuiltins)
        registry.register(distillBuiltins)
        installAdditions(into: registry)
        return registry
    }
}

private func printed(_ arguments: Arguments) throws -> String {
    let items = try arguments.list("items").map { renderPlain($0) }
    return items.joined(separator: try arguments.string("separator")) + (try arguments.string("terminator"))
}

private let printParameters = [
    Parameter("items", variadic: true),
    Parameter("separator", "String", labeled: true, default: .string(" ")),
    Parameter("terminator", "String", labeled: true, default: .string("\n")),
]

let coreBuiltins: [Builtin] = [
    Builtin("print", printParameters + [Parameter("to", "String", labeled: true, default: .string("stdout"))], returns: "Nil", documentation: """
        Writes the items as text to the cell's output.

        Items are separated by `separator` and followed by `terminator`. `to: "stderr"` writes to \
        the error stream instead. Example: `print("loss", 0.25, separator: " = ")`.
        """) { arguments, context in
        let stream: StreamName
        switch try arguments.string("to") {
        case "stdout": stream = .stdout
        case "stderr": stream = .stderr
        case let other: throw CellError(.value, "`print(to:)` must be \"stdout\" or \"stderr\", got \"\(other)\"")
        }
        context.emit(.stream(stream, try printed(arguments)))
        return .null
    },
    Builtin("eprint", printParameters, returns: "Nil", documentation: """
        Writes the items as text to the error stream (stderr).

        The same as `print(..., to: "stderr")`.
        """) { arguments, context in
        context.emit(.stream(.stderr, try printed(arguments)))
        return .null
    },
    Builtin("display", [Parameter("value"), Parameter("id", "String", labeled: true, default: .null)], returns: "Nil", documentation: """
        Shows a value as a rich display (an HTML table for records), now, in the middle of the cell.

        With `id:` the display can later be replaced by `updateDisplay(id, value)`, e.g. for a \
        progress message: `display("step 0", id: "progress")`.
        """) { arguments, context in
        let id: String? = { if case .string(let id) = arguments["id"] { return id } else { return nil } }()
        context.emit(.display(context.render(arguments["value"]), displayID: id))
        return .null
    },
    Builtin("updateDisplay", [Parameter("id", "String"), Parameter("value")], returns: "Nil", documentation: """
        Replaces the display shown with `display(value, id: id)` by a new value.

        Example: `display("0%", id: "p")`, then later `updateDisplay("p", "50%")`.
        """) { arguments, context in
        context.updateDisplay(context.render(arguments["value"]), id: try arguments.string("id"))
        return .null
    },
    Builtin("html", [Parameter("source", "String")], returns: "HTML", documentation: """
        A value that renders as the given HTML in a notebook.

        The source is not escaped: `html("<b>bold</b>")`. Elsewhere it shows as its source text.
        """) { arguments, _ in
        .host(HTMLValue(html: try arguments.string("source")))
    },
    Builtin("table", [Parameter("rows", "List")], returns: "Table", documentation: """
        A table of records, shown as an HTML table (every cell escaped) and as aligned text.

        Columns are the records' keys in first-seen order: `table([["a": 1], ["a": 2, "b": 3]])`.
        """) { arguments, context in
        let rows = try arguments.list("rows")
        let records = try rows.map { row -> Record in
            guard case .record(let record) = row else {
                throw CellError(.type, "`table` expects a list of records such as `[[\"a\": 1]]`, found \(row.typeName)")
            }
            return record
        }
        return .host(try TableValue(rows: records) { context.isCancelled })
    },
    Builtin("clearOutput", [Parameter("wait", "Bool", labeled: true, default: .bool(false))], returns: "Nil", documentation: """
        Clears the cell's output area.

        With `wait: true` the area is cleared only when the next output arrives, which avoids flicker.
        """) { arguments, context in
        context.emit(.clear(wait: try arguments.bool("wait")))
        return .null
    },
    Builtin("input", [Parameter("prompt", "String", default: .string("")), Parameter("password", "Bool", labeled: true, default: .bool(false))],
            returns: "String", documentation: """
        Asks the user for a line of text and returns it.

        `password: true` hides what is typed. Fails with InputError where the frontend has no stdin.
        """) { arguments, context in
        .string(try context.readInput(prompt: try arguments.string("prompt"), password: try arguments.bool("password")))
    },
    Builtin("sleep", [Parameter("seconds", "Double")], returns: "Nil", documentation: """
        Waits for the given number of seconds.

        The wait can be interrupted: it checks for an interrupt every few milliseconds.
        """) { arguments, context in
        let seconds = try arguments.double("seconds")
        guard seconds >= 0, seconds.isFinite else { throw CellError(.value, "`sleep` needs a non-negative number of seconds, got \(seconds)") }
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            try context.checkCancelled()
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { break }
            Thread.sleep(forTimeInterval: min(left, 0.005))
        }
        return .null
    },
    Builtin("assert", [Parameter("condition", "Bool"), Parameter("message", "String", default: .string(""))], returns: "Nil", documentation: """
        Stops the cell with an AssertionError when `condition` is false.

        Example: `assert(accuracy > 0.5, "the student should beat chance")`.
        """) { arguments, _ in
        guard try arguments.bool("condition") else {
            let message = try arguments.string("message")
            throw CellError(.assertion, message.isEmpty ? "assertion failed" : message)
        }
        return .null
    },
    Builtin("type", [Parameter("of", labeled: true)], returns: "String", documentation: """
        The name of a value's type, e.g. `Int`, `String`, `List`, `Record`.

        Example: `type(of: [1, 2])` is `"List"`.
        """) { arguments, _ in
        .string(arguments["of"].typeName)
    },
]
