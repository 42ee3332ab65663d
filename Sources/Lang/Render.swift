// Rich display: every value renders to `text/plain` in the style of Swift's description (strings
// quoted inside collections); lists of records and tables also render an escaped HTML table.

import Foundation

/// Lists longer than this show their first elements and a count of the rest.
let displayedElementLimit = 100

/// Collections nested deeper than this print as `[…]`, so rendering a pathological value cannot exhaust the stack.
let displayedNestingLimit = 64

/// A collection's text stops after about this many characters with `…`: a value of a million
/// nested lists (within the memory limit) still prints in a moment. A top-level string prints whole.
let displayedTextLimit = 1_000_000

/// Table cells show at most this many characters, and tables at most this many columns.
let displayedCellLimit = 1_000
let displayedColumnLimit = 100

/// The `text/plain` form of a value. `nested` quotes strings, as inside a list; a positive `limit`
/// cuts the text to that many characters and an ellipsis.
func renderPlain(_ value: Value, nested: Bool = false, limit: Int = 0, depth: Int = 0) -> String {
    if !nested, limit <= 0, case .string(let string) = value { return string }
    var writer = PlainWriter(remaining: limit > 0 ? limit : displayedTextLimit)
    writer.write(value, nested: nested, depth: depth)
    return writer.text
}

/// Writes a value's text up to a budget of characters, then an ellipsis and nothing more.
private struct PlainWriter {
    var text = ""
    var remaining: Int

    mutating func append(_ piece: String) {
        guard remaining > 0 else { return }
        let count = piece.count
        if count <= remaining {
            text += piece
            remaining -= count
        } else {
            text += piece.prefix(remaining) + "…"
            remaining = 0
        }
    }

    mutating func write(_ value: Value, nested: Bool, depth: Int) {
        guard remaining > 0 else { return }
        switch value {
        case .list where depth >= displayedNestingLimit, .record where depth >= displayedNestingLimit: append("[…]")
        case .integer(let number): append(String(number))
        case .double(let number): append(formatDouble(number))
        case .string(let string):
            // Only what fits is escaped, so a huge string inside a list costs no more than its shown part.
            let shown = string.utf8.count > remaining ? String(string.prefix(remaining + 1)) : string
            append(nested ? shown.debugDescription : shown)
        case .bool(let flag): append(flag ? "true" : "false")
        case .null: append("nil")
        case .list(let items):
            append("[")
            for (index, item) in items.prefix(displayedElementLimit).enumerated() {
                if index > 0 { append(", ") }
                write(item, nested: true, depth: depth + 1)
                if remaining <= 0 { return }
            }
            if items.count > displayedElementLimit { append(", ... \(items.count - displayedElementLimit) more") }
            append("]")
        case .record(let record):
            if record.count == 0 { append("[:]"); return }
            append("[")
            for (index, key) in record.keys.prefix(displayedElementLimit).enumerated() {
                if index > 0 { append(", ") }
                write(.string(key), nested: true, depth: depth + 1)
                append(": ")
                write(record[key] ?? .null, nested: true, depth: depth + 1)
                if remaining <= 0 { return }
            }
            if record.count > displayedElementLimit { append(", ... \(record.count - displayedElementLimit) more") }
            append("]")
        case .range(let lower, let upper, let closed): append("\(lower)\(closed ? "..." : "..<")\(upper)")
        case .function(.builtin(let builtin)): append("<builtin \(builtin.name)>")
        case .function(.user(let function)): append("<func \(function.signature)>")
        case .host(let table as TableValue):
            // Only the text, and one level deeper: a table of tables of tables renders in linear time and bounded depth.
            append(depth >= displayedNestingLimit ? "<Table …>" : table.plainText(depth: depth + 1))
        case .host(let object): append(object.render().plain)
        }
    }
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
        // Only the rows the HTML shows are gathered: the list may hold millions.
        let shown = items.prefix(displayedElementLimit * 10).compactMap { item -> Record? in if case .record(let record) = item { return record } else { return nil } }
        let table = TableValue(rows: shown)
        return MimeBundle(plain: renderPlain(value), extra: ["text/html": table.html(totalRows: items.count)])
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

    /// How many lists and records nest in the rows, and about how many bytes they take.
    public let nestingDepth: Int
    public let footprint: Int

    /// A table of `rows`.
    public convenience init(rows: [Record]) {
        self.init(rows: rows, isCancelled: { false }, nothrow: ())
    }

    /// A table of `rows`, asking `isCancelled` every 4,096 rows (it may hold millions).
    /// - Throws: `Interrupted` when `isCancelled` says yes.
    public convenience init(rows: [Record], isCancelled: () -> Bool) throws {
        var stopped = false
        self.init(rows: rows, isCancelled: { stopped = stopped || isCancelled(); return stopped }, nothrow: ())
        if stopped { throw CellError(.interrupted, "making the table was interrupted") }
    }

    private init(rows: [Record], isCancelled: () -> Bool, nothrow: Void) {
        self.rows = rows
        var seen = Set<String>()
        var columns: [String] = []
        var depth = 0, footprint = 0
        for (index, row) in rows.enumerated() {
            if index % 4096 == 0, isCancelled() { break }
            for key in row.keys where seen.insert(key).inserted { columns.append(key) }
            depth = max(depth, row.storage.depth)
            footprint = saturatingAdd(footprint, saturatingAdd(row.storage.footprint, Value.slotBytes))
        }
        self.columns = columns
        nestingDepth = depth + 1
        self.footprint = footprint
    }

    /// The columns a rendering shows.
    private var shownColumns: ArraySlice<String> { columns.prefix(displayedColumnLimit) }

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

    /// Rows as an HTML table; every cell is escaped. `totalRows` counts rows beyond `rows` (a table of a list's first rows).
    func html(totalRows: Int? = nil, depth: Int = 0) -> String {
        let total = max(totalRows ?? rows.count, rows.count)
        var html = "<table>\n<thead><tr>"
        for column in shownColumns { html += "<th>\(escapeHTML(column))</th>" }
        html += "</tr></thead>\n<tbody>\n"
        for row in rows.prefix(displayedElementLimit * 10) {
            html += "<tr>"
            for column in shownColumns { html += "<td>\(escapeHTML(row[column].map { renderPlain($0, limit: displayedCellLimit, depth: depth) } ?? ""))</td>" }
            html += "</tr>\n"
        }
        if total > displayedElementLimit * 10 {
            html += "<tr><td colspan=\"\(max(1, shownColumns.count))\">… \(total - displayedElementLimit * 10) more rows</td></tr>\n"
        }
        return html + "</tbody>\n</table>"
    }

    /// Rows as aligned text columns.
    func plainText(depth: Int = 0) -> String {
        let shown = rows.prefix(displayedElementLimit)
        let cells = shown.map { row in shownColumns.map { column in row[column].map { renderPlain($0, limit: 40, depth: depth) } ?? "" } }
        var widths = shownColumns.map { min($0.count, displayedCellLimit) }
        for line in cells { for (i, cell) in line.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func pad(_ line: [String]) -> String {
            zip(line, widths).map { $0 + String(repeating: " ", count: max(0, $1 - $0.count)) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var lines = [pad(shownColumns.map { String($0.prefix(displayedCellLimit)) }), pad(widths.map { String(repeating: "-", count: $0) })]
        lines += cells.map(pad)
        if rows.count > shown.count { lines.append("... \(rows.count - shown.count) more rows") }
        if columns.count > shownColumns.count { lines.append("... \(columns.count - shownColumns.count) more columns") }
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
