// A teacher's rationales as cell-language values: the collection renders as an HTML table (input,
// rationale, the teacher's label highlighted, gold, disagreements and unparseable outputs marked)
// and filters with a closure; each element exposes agrees, label, rationale, gold, input, parsed.
import Distill
import Foundation

/// The rationales a teacher gave for some examples, with the store's accounting of the run.
public final class RationalesObject: HostObject {
    /// One entry per example, in input order.
    public let entries: [ExplainedExample]
    /// The examples' task.
    public let task: TaskObject
    /// How labels compare.
    public let kind: LabelKind
    /// Hits, misses and failures of the run that made these.
    public let stats: StoreStats
    /// The teacher, for display.
    public let teacherName: String
    /// How many rows the table shows.
    let shown: Int

    /// Wraps a run's results.
    public init(entries: [ExplainedExample], task: TaskObject, kind: LabelKind, stats: StoreStats, teacherName: String, shown: Int = 10) {
        self.entries = entries
        self.task = task
        self.kind = kind
        self.stats = stats
        self.teacherName = teacherName
        self.shown = shown
    }

    public var typeName: String { "Rationales" }

    static let memberDocs: [String: String] = [
        "accuracy": "The share of examples whose teacher label agrees with gold (unparseable and failed count as wrong).",
        "count": "The number of examples.",
        "hits": "Calls answered from the rationale store in the run that made these.",
        "misses": "Calls sent to the teacher in that run.",
        "failures": "Calls without an output (errors) in that run.",
        "unparseable": "The number of examples whose output could not be parsed (or whose calls all failed).",
        "show": "show(_ n: Int = 10) -> Rationales\n\nThe table of the first `n` rationales.",
        "filter": "filter(_ isIncluded: Function) -> Rationales\n\nThe rationales for which `isIncluded` returns true, e.g. `why.filter { $0.agrees }`.",
        "agreeing": "The rationales whose teacher label agrees with gold (the same as `filter { $0.agrees }`).",
        "examples": "The examples, as a list.",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    func agrees(_ entry: ExplainedExample) -> Bool { Metrics.isCorrect(entry.vote.label, gold: entry.example.label, kind: kind) }

    /// The share of entries that agree with gold.
    public var accuracy: Double { entries.isEmpty ? 0 : Double(entries.filter(agrees).count) / Double(entries.count) }

    func copy(_ entries: [ExplainedExample], shown: Int? = nil) -> RationalesObject {
        RationalesObject(entries: entries, task: task, kind: kind, stats: stats, teacherName: teacherName, shown: shown ?? self.shown)
    }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "accuracy": return .double(accuracy)
        case "count": return .integer(entries.count)
        case "hits": return .integer(stats.hits)
        case "misses": return .integer(stats.misses)
        case "failures": return .integer(stats.failures)
        case "unparseable": return .integer(entries.filter { $0.vote.label == nil }.count)
        case "agreeing": return .host(copy(entries.filter(agrees)))
        case "examples": return .list(entries.map { .host(ExampleObject($0.example, task: task)) })
        case "show":
            return hostMethod("show", [Parameter("n", "Int", default: .integer(10))], returns: "Rationales", documentation: Self.memberDocs["show"] ?? "") { arguments, _ in
                let count = try arguments.integer("n")
                guard count >= 0 else { throw CellError(.value, "`show` needs a count of 0 or more, got \(count)") }
                return .host(self.copy(Array(self.entries.prefix(count)), shown: count))
            }
        case "filter":
            return hostMethod("filter", [Parameter("isIncluded", "Function")], returns: "Rationales", documentation: Self.memberDocs["filter"] ?? "") { arguments, context in
                let predicate = try arguments.function("isIncluded")
                let kept = try self.entries.filter { entry in
                    let verdict = try context.call(predicate, [.host(RationaleObject(entry, owner: self))])
                    guard case .bool(let flag) = verdict else {
                        throw CellError(.type, "the closure given to `filter` must return a Bool, got \(verdict.typeName)")
                    }
                    return flag
                }
                return .host(self.copy(kept))
            }
        default: return nil
        }
    }

    public var elements: [Value]? { entries.map { .host(RationaleObject($0, owner: self)) } }

    public func subscriptValue(_ index: Value, context: BuiltinContext) throws -> Value? {
        guard case .integer(let position) = index else { return nil }
        guard entries.indices.contains(position) else {
            throw CellError(.index, "index \(position) is out of range for \(entries.count) rationales")
        }
        return .host(RationaleObject(entries[position], owner: self))
    }

    var summary: String {
        let unparseable = entries.filter { $0.vote.label == nil }.count
        return "\(entries.count) rationales from \(teacherName): accuracy \(String(format: "%.4f", accuracy)) against gold, "
            + "\(unparseable) unparseable; store hits=\(stats.hits) misses=\(stats.misses) failures=\(stats.failures)"
    }

    public func render() -> MimeBundle {
        let rows = entries.prefix(shown)
        var plain = summary
        for (index, entry) in rows.enumerated() {
            let mark = entry.vote.label == nil ? "?" : (agrees(entry) ? "✓" : "✗")
            plain += "\n\(mark) [\(index)] \(oneLine(entry.example.input, 60)) → \(entry.vote.label ?? "unparseable") (gold \(entry.example.label))"
        }
        if entries.count > rows.count { plain += "\n… \(entries.count - rows.count) more" }
        return MimeBundle(plain: plain, extra: ["text/html": html(Array(rows))])
    }

    private func html(_ rows: [ExplainedExample]) -> String {
        var html = "<div><p>\(escapeHTML(summary))</p><table><thead><tr><th>#</th><th>input</th><th>rationale</th>"
        html += "<th>teacher</th><th>gold</th><th></th></tr></thead><tbody>\n"
        for (index, entry) in rows.enumerated() {
            let left = "style=\"text-align:left;white-space:pre-wrap;vertical-align:top\""
            let output = entry.output
            var teacherCell: String
            var markCell: String
            var rowStyle = ""
            if let label = entry.vote.label {
                teacherCell = "<mark>\(escapeHTML(label))</mark>"
                if agrees(entry) {
                    markCell = "<span title=\"agrees with gold\">✓</span>"
                } else {
                    markCell = "<b title=\"disagrees with gold\" style=\"color:#b00020\">✗ disagrees</b>"
                    rowStyle = " class=\"disagree\" style=\"background:#fdecea\""
                }
            } else {
                let reason = output?.outcome.failure?.description ?? entry.failures.values.first ?? "no output"
                teacherCell = "<i style=\"color:#8a6d00\">unparseable: \(escapeHTML(reason))</i>"
                markCell = "<b title=\"could not be parsed\" style=\"color:#8a6d00\">? unparseable</b>"
                rowStyle = " class=\"unparseable\" style=\"background:#fff8e1\""
            }
            let rationale = output?.rationale ?? output?.raw ?? ""
            html += "<tr\(rowStyle)><td>\(index)</td><td \(left)>\(escapeHTML(entry.example.input))</td>"
            html += "<td \(left)>\(escapeHTML(rationale))</td><td>\(teacherCell)</td><td>\(escapeHTML(entry.example.label))</td><td>\(markCell)</td></tr>\n"
        }
        if entries.count > rows.count {
            html += "<tr><td colspan=\"6\">… \(entries.count - rows.count) more (use <code>.show(n)</code>)</td></tr>\n"
        }
        return html + "</tbody></table></div>"
    }
}

/// One example's rationale: `agrees`, `label`, `rationale`, `gold`, `input`, `parsed`, `raw`, ...
public final class RationaleObject: HostObject {
    /// The example's samples and vote.
    public let entry: ExplainedExample
    let owner: RationalesObject

    init(_ entry: ExplainedExample, owner: RationalesObject) {
        self.entry = entry
        self.owner = owner
    }

    public var typeName: String { "Rationale" }

    static let memberDocs: [String: String] = [
        "agrees": "True when the teacher's label agrees with the gold label (equations by value).",
        "label": "The teacher's label (the majority over samples), or nil when no output parsed.",
        "rationale": "The teacher's rationale, or nil when no output parsed.",
        "gold": "The gold label.",
        "input": "The example's input.",
        "parsed": "True when an output parsed into a rationale and a label.",
        "raw": "The teacher's raw output, as generated (nil when every call failed).",
        "failure": "Why the output did not parse, or why the call failed; nil when it parsed.",
        "id": "The example's id, `split#index`.",
        "example": "The example itself.",
        "votes": "How many samples voted for the label, out of how many parsed, as a record.",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        let output = entry.output
        switch name {
        case "agrees": return .bool(owner.agrees(entry))
        case "label": return entry.vote.label.map(Value.string) ?? .null
        case "rationale": return output?.rationale.map(Value.string) ?? .null
        case "gold": return .string(entry.example.label)
        case "input": return .string(entry.example.input)
        case "parsed": return .bool(entry.vote.label != nil)
        case "raw": return output.map { .string($0.raw) } ?? .null
        case "failure":
            if entry.vote.label != nil { return .null }
            return .string(output?.outcome.failure?.description ?? entry.failures.values.first ?? "no output")
        case "id": return .string(entry.example.id.description)
        case "example": return .host(ExampleObject(entry.example, task: owner.task))
        case "votes": return .record(Record([("votes", .integer(entry.vote.votes)), ("voters", .integer(entry.vote.voters)), ("samples", .integer(entry.samples.count + entry.failures.count))]))
        default: return nil
        }
    }

    public func render() -> MimeBundle {
        let single = owner.copy([entry], shown: 1)
        let bundle = single.render()
        let label = entry.vote.label ?? "unparseable"
        return MimeBundle(plain: "Rationale \(entry.example.id): \(entry.output?.rationale ?? entry.output?.raw ?? "") → \(label) (gold \(entry.example.label))",
                          extra: ["text/html": bundle.data["text/html"] ?? ""])
    }
}
