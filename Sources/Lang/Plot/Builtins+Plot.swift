// The `plot` builtin: line plots of lists, of records of lists, or of rows (records) grouped into
// series, returned as a value that renders as `image/svg+xml`.
import Foundation

/// A plot value: shows as SVG in a notebook, and as a one-line summary elsewhere.
public final class PlotObject: HostObject {
    /// The plot.
    public let plot: LinePlot

    /// Wraps a plot.
    public init(_ plot: LinePlot) { self.plot = plot }

    public var typeName: String { "Plot" }

    static let memberDocs: [String: String] = [
        "svg": "The plot as SVG text.",
        "save": "save(_ path: String) -> String\n\nWrites the SVG to `path` and returns the path.",
        "series": "The series' names, in legend order.",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "svg": return .string(plot.svg())
        case "series": return .list(plot.series.map { .string($0.name) })
        case "save":
            return hostMethod("save", [Parameter("path", "String")], returns: "String", documentation: Self.memberDocs["save"] ?? "") { arguments, _ in
                let path = try arguments.string("path")
                do {
                    try Data(self.plot.svg().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
                } catch {
                    throw CellError(.value, "cannot write the plot to \(path): \(describeLocation(URL(fileURLWithPath: path).deletingLastPathComponent().path))")
                }
                return .string(path)
            }
        default: return nil
        }
    }

    public func render() -> MimeBundle {
        let names = plot.series.map(\.name).joined(separator: ", ")
        let points = plot.series.map(\.points.count).reduce(0, +)
        let title = plot.title.isEmpty ? "Plot" : "Plot \"\(plot.title)\""
        return MimeBundle(plain: "\(title): \(plot.series.count) series (\(names)), \(points) points", extra: ["image/svg+xml": plot.svg()])
    }
}

/// The most points one plot draws: its SVG stays tens of megabytes at most.
let maximumPlotPoints = 1_000_000

private func tooManyPoints(_ count: Int) -> CellError {
    CellError(.value, "`plot` draws at most \(groupedDigits(maximumPlotPoints)) points, got \(count == Int.max ? "more than an Int can count" : groupedDigits(count)); plot every n-th point or an average")
}

/// A number out of a value, for plotting; a TypeError naming where it was otherwise.
private func coordinate(_ value: Value, _ place: String) throws -> Double {
    guard let number = value.numberValue else { throw CellError(.type, "`plot` needs numbers, but \(place) is \(value.typeName) \(renderPlain(value, nested: true, limit: 30))") }
    return number
}

/// Points from a list of numbers (x = 0, 1, ...) or of `[x, y]` pairs.
private func points(_ items: [Value], _ place: String) throws -> [(x: Double, y: Double)] {
    try items.enumerated().map { index, item in
        if case .list(let pair) = item {
            guard pair.count == 2 else { throw CellError(.value, "`plot` reads a list inside \(place) as an [x, y] pair, but item \(index) has \(pair.count) elements") }
            return (try coordinate(pair[0], "x of item \(index) of \(place)"), try coordinate(pair[1], "y of item \(index) of \(place)"))
        }
        return (Double(index), try coordinate(item, "item \(index) of \(place)"))
    }
}

/// Series from rows (records): x from field `x` (or the row's position), one series per y field,
/// or, with `by`, one series per distinct value of that field.
private func seriesFromRows(_ rows: [Record], x: String?, y: [String], by: String?) throws -> [PlotSeries] {
    let fields = y.isEmpty ? (rows.first?.keys ?? []).filter { key in key != x && key != by && rows.first?[key]?.numberValue != nil } : y
    guard !fields.isEmpty else { throw CellError(.value, "`plot` found no numeric field to plot; name one with `y: \"field\"`") }
    func value(_ row: Record, _ key: String, _ index: Int) throws -> Double {
        guard let field = row[key] else { throw CellError(.key, "row \(index) has no field \"\(key)\" (it has: \(row.keys.joined(separator: ", ")))") }
        return try coordinate(field, "field \"\(key)\" of row \(index)")
    }
    var series: [PlotSeries] = []
    var order: [String] = []
    var grouped: [String: [(x: Double, y: Double)]] = [:]
    for (index, row) in rows.enumerated() {
        let xValue = try x.map { try value(row, $0, index) } ?? Double(index)
        for field in fields {
            var name = field
            if let by {
                guard let group = row[by] else { throw CellError(.key, "row \(index) has no field \"\(by)\" to group by") }
                name = fields.count == 1 ? renderPlain(group) : "\(renderPlain(group)) \(field)"
            }
            if grouped[name] == nil { order.append(name) }
            grouped[name, default: []].append((xValue, try value(row, field, index)))
        }
    }
    for name in order { series.append(PlotSeries(name: name, points: grouped[name] ?? [])) }
    return series
}

let plotBuiltins: [Builtin] = [
    Builtin("plot", [Parameter("data"), Parameter("x", "String", labeled: true, default: .null), Parameter("y", "Any", labeled: true, default: .null),
                     Parameter("by", "String", labeled: true, default: .null), Parameter("title", "String", labeled: true, default: .string("")),
                     Parameter("xLabel", "String", labeled: true, default: .null), Parameter("yLabel", "String", labeled: true, default: .null)],
            returns: "Plot", documentation: """
        A line plot, shown as SVG: of a list, of a record of lists, or of rows grouped into series.

        `plot([0.9, 0.5, 0.3])` draws one line at x = 0, 1, 2; a list of `[x, y]` pairs sets x. \
        `plot(["train": losses, "valid": validLosses])` draws a named line per key. For a list of \
        records, `x:` names the x field, `y:` one field or a list of fields, and `by:` groups rows \
        into one line per value: `plot(rows, x: "fraction", y: "accuracy", by: "method")`. \
        `title:`, `xLabel:` and `yLabel:` label it; `.save("plot.svg")` writes the file.
        """) { arguments, _ in
        let x = try arguments.optionalString("x"), by = try arguments.optionalString("by")
        var yFields: [String] = []
        switch arguments["y"] {
        case .null: break
        case .string(let field): yFields = [field]
        case .list(let items): yFields = items.map { renderPlain($0) }
        case let other: throw CellError(.type, "`plot(y:)` must be a field name or a list of them, got \(other.typeName)")
        }
        var series: [PlotSeries]
        switch arguments["data"] {
        case .list(let items) where !items.isEmpty && items.allSatisfy({ if case .record = $0 { return true } else { return false } }):
            let rows = items.compactMap { item -> Record? in if case .record(let row) = item { return row } else { return nil } }
            series = try seriesFromRows(rows, x: x, y: yFields, by: by)
        case .list(let items):
            series = [PlotSeries(name: yFields.first ?? "", points: try points(items.array, "the list"))]
        case .record(let record):
            series = try record.keys.map { key in
                guard case .list(let items)? = record[key] else {
                    throw CellError(.type, "`plot` of a record needs a list under each key, but \"\(key)\" holds \(record[key]?.typeName ?? "nothing")")
                }
                return PlotSeries(name: key, points: try points(items.array, "\"\(key)\""))
            }
        case .range(let lower, let upper, let closed):
            let count = Value.rangeCount(lower: lower, upper: upper, closed: closed) ?? Int.max
            guard count <= maximumPlotPoints else { throw tooManyPoints(count) }
            series = [PlotSeries(name: "", values: (0..<count).map { Double(lower + $0) })]
        case let other:
            throw CellError(.type, "`plot` draws a list of numbers, a record of lists or a list of records, not \(other.typeName)")
        }
        let total = series.reduce(0) { $0 + $1.points.count }
        guard total <= maximumPlotPoints else { throw tooManyPoints(total) }
        let plot = LinePlot(series: series, title: try arguments.string("title"),
                            xLabel: try arguments.optionalString("xLabel") ?? x ?? "", yLabel: try arguments.optionalString("yLabel") ?? (yFields.count == 1 ? yFields[0] : ""))
        return .host(PlotObject(plot))
    },
]
