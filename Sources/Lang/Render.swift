// Rich display: every value renders to `text/plain` in the style of Swift's description (strings
// quoted inside collections); lists of records and tables also render an escaped HTML table.

import Foundation

/// Lists longer than this show their first elements and a count of the rest.
let displayedElementLimit = 100

/// Collections nested deeper than this print as `[…]`, so rendering a pathological value cannot exhaust the stack.
let displayedNestingLimit = 64

/// The `text/plain` form of a value. `nested` quotes strings, as inside a list.
func renderPlain(_ value: Value, nested: Bool = false, limit: Int = 0, depth: Int = 0) -> String {
    let text: String
    switch value {
    case .list where depth >= displayedNestingLimit, .record where depth >= displayedNestingLimit: text = "[…]"
    case .integer(let number): text = String(number)
    case .double(let number): text = formatDouble(number)
    case .string(let string): text = nested ? string.debugDescription : string
    case .bool(let flag): text = flag ? "true" : "false"
    case .null: text = "nil"
    case .list(let items):
        var parts = items.prefix(displayedElementLimit).map { renderPlain($0, nested: true, depth: depth + 1) }
        if items.count > displayedElementLimit { parts.append("... \(items.count - displayedElementLimit) more") }
        text = "[" + parts.joined(separator: ", ") + "]"
    case .record(let record):
        if record.count == 0 { text = "[:]"; break }
        let parts = record.keys.prefix(displayedElementLimit).map { key in
            "\(key.debugDescription): \(renderPlain(record[key] ?? .null, nested: true, depth: depth + 1))"
        }
        text = "[" + parts.joined(separator: ", ") + "]"
    case .range(let lower, let upper, let closed): text = "\(lower)\(closed ? "..." : "..<")\(upper)"
    case .function(.builtin(let builtin)): text = "<builtin \(builtin.name)>"
    case .function(.user(let function)): text = "<func \(function.signature)>"
    case .host(let object): text = object.render().plain
    }
    if limit > 0 && text.count > limit { return String(text.prefix(limit)) + "…" }
    return text
}

/// Doubles print as Swift prints them (`2.0`, `0.1`, `1e-07`), so integers and doubles stay distinct.
func formatDouble(_ number: Double) -> String {
    if number.isNaN { return "nan" }
    if number.isInfinite { return number > 0 ? "inf" : "-inf" }
    return "\(number)"
}

/// The MIME bundle for a value: plain text always, an HTML table for lists of records.
func renderBundle(_ value: Value) -> MimeBundle {
    switch value {
    case .host(let object): return object.render()
    case .list(let items) where !items.isEmpty && items.allSatisfy({ if case .record = $0 { return true } else { return false } }):
        let rows = items.compactMap { item -> Record? in if case .record(let record) = item { return record } else { return nil } }
        let table = TableValue(rows: rows)
        return MimeBundle(plain: renderPlain(value), extra: ["text/html": table.html()])
    default:
        return MimeBundle(plain: renderPlain(value))
    }
}

/// Escapes text for HTML element content and attribute values.
public func escapeHTML(_ text: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(text.count)
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        case "'": escaped += "&#39;"
        default: escaped.append(character)
        }
    }
    return escaped
}

/// A table of rows (records); columns are the union of the rows' keys in first-seen order.
public final class TableValue: HostObject {
    /// The rows, in order.
    public let rows: [Record]
    /// Column names: the union of the rows' keys, in first-seen order.
    public let columns: [String]

    /// A table of `rows`.
    public init(rows: [Record]) {
        self.rows = rows
        var seen = Set<String>()
        var columns: [String] = []
        for row in rows { for key in row.keys where seen.insert(key).inserted { columns.append(key) } }
        self.columns = columns
    }

    public var typeName: String { "Table" }
    public var memberNames: [String] { ["rows", "columns", "count"] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "rows": return .list(rows.map(Value.record))
        case "columns": return .list(columns.map(Value.string))
        case "count": return .integer(rows.count)
        default: return nil
        }
    }

    public func subscriptValue(_ index: Value, context: BuiltinContext) throws -> Value? {
        guard case .integer(let position) = index else { return nil }
        guard rows.indices.contains(position) else {
            throw CellError(.index, "row \(position) is out of range for a table of \(rows.count) rows")
        }
        return .record(rows[position])
    }

    public var elements: [Value]? { rows.map(Value.record) }

    public func documentation(ofMember name: String) -> String? {
        ["rows": "The table's rows, as a list of records.",
         "columns": "The column names, in order.",
         "count": "The number of rows."][name]
    }

    public func render() -> MimeBundle { MimeBundle(plain: plainText(), extra: ["text/html": html()]) }

    /// Rows as an HTML table; every cell is escaped.
    func html() -> String {
        var html = "<table>\n<thead><tr>"
        for column in columns { html += "<th>\(escapeHTML(column))</th>" }
        html += "</tr></thead>\n<tbody>\n"
        for row in rows.prefix(displayedElementLimit * 10) {
            html += "<tr>"
            for column in columns { html += "<td>\(escapeHTML(row[column].map { renderPlain($0) } ?? ""))</td>" }
            html += "</tr>\n"
        }
        if rows.count > displayedElementLimit * 10 {
            html += "<tr><td colspan=\"\(max(1, columns.count))\">… \(rows.count - displayedElementLimit * 10) more rows</td></tr>\n"
        }
        return html + "</tbody>\n</table>"
    }

    /// Rows as aligned text columns.
    func plainText() -> String {
        let shown = rows.prefix(displayedElementLimit)
        let cells = shown.map { row in columns.map { column in row[column].map { renderPlain($0, limit: 40) } ?? "" } }
        var widths = columns.map(\.count)
        for line in cells { for (i, cell) in line.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func pad(_ line: [String]) -> String {
            zip(line, widths).map { $0 + String(repeating: " ", count: max(0, $1 - $0.count)) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var lines = [pad(columns), pad(widths.map { String(repeating: "-", count: $0) })]
        lines += cells.map(pad)
        if rows.count > shown.count { lines.append("... \(rows.count - shown.count) more rows") }
        return lines.joined(separator: "\n")
    }
}

/// Raw HTML from `html("...")`; shows as HTML in a notebook and as the source text elsewhere.
public final class HTMLValue: HostObject {
    /// The HTML source, shown unescaped.
    public let html: String
    /// A value that renders as `html`.
    public init(html: String) { self.html = html }
    public var typeName: String { "HTML" }
    public func render() -> MimeBundle { MimeBundle(plain: html, extra: ["text/html": html]) }
}
