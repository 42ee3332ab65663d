// Streams and mixtures in cells: `stream(task, template:)` renders a task's training examples
// with a template into (source, target) pairs; `mixture([a, b], cap:, temperature:)` mixes streams
// at examples-proportional rates. Both show what they hold: a table of streams with sizes, caps,
// rates, share of the mix and (given planned steps) the epochs each stream will see, and a few
// rendered examples. `train(s, on: mix, steps:, pack:)` trains on a mixture, `evaluate(s, on: mix)`
// scores each stream's test split under its template.
import Distill
import Foundation

/// A stream: a task's examples under one template, with a weight and a cluster.
public final class StreamObject: HostObject {
    /// The training pairs and settings.
    public let stream: TaskStream
    /// The task the examples come from (its test split is what `evaluate` scores).
    public let task: TaskObject
    /// Whether inputs and targets had their numbers masked (equation tasks, as recipes do).
    public let masksNumbers: Bool

    /// Wraps a stream.
    public init(stream: TaskStream, task: TaskObject, masksNumbers: Bool = false) {
        self.stream = stream
        self.task = task
        self.masksNumbers = masksNumbers
    }

    public var typeName: String { "Stream" }

    static let memberDocs: [String: String] = [
        "name": "The stream's name, unique in a mixture.",
        "cluster": "The family of tasks the stream belongs to.",
        "weight": "The stream's loss weight.",
        "template": "The template's source format.",
        "size": "Training pairs in the stream.",
        "pairs": "The training pairs as records: id, source, target (and, in an instruction mixture, template and format).",
        "show": "show(_ n: Int = 3) -> Stream\n\nThe stream with `n` rendered examples.",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "name": return .string(stream.name)
        case "cluster": return .string(stream.cluster)
        case "weight": return .double(stream.weight)
        case "template": return .string(stream.template.input)
        case "size": return .integer(stream.pairs.count)
        case "pairs":
            return .list(stream.pairs.map { pair in
                var fields: [(String, Value)] = [("id", .string(pair.exampleID.description)), ("source", .string(pair.source)),
                                                 ("target", .string(pair.target))]
                // An instruction-tuning stream's pairs each name their template and format.
                if let template = pair.template { fields.append(("template", .string(template))) }
                if let format = pair.format { fields.append(("format", .string(format))) }
                return .record(Record(fields))
            })
        default: return nil
        }
    }

    public func render() -> MimeBundle {
        let mixture = try? Mixture([stream])
        return mixture.map { MixtureObject(mixture: $0, streams: [self]).render() }
            ?? MimeBundle(plain: "Stream \(stream.name): \(stream.pairs.count) pairs")
    }
}

/// A mixture of streams, with an optional plan (steps × batch) for its display.
public final class MixtureObject: HostObject {
    /// The mixture.
    public let mixture: Mixture
    /// The streams as the cell made them (their tasks give evaluation its test splits).
    public let streams: [StreamObject]
    /// The planned steps and batch, when given, for the epochs column.
    public let plan: (steps: Int, batch: Int)?

    /// Wraps a mixture.
    public init(mixture: Mixture, streams: [StreamObject], plan: (steps: Int, batch: Int)? = nil) {
        self.mixture = mixture
        self.streams = streams
        self.plan = plan
    }

    public var typeName: String { "Mixture" }

    static let memberDocs: [String: String] = [
        "streams": "The streams, in order.",
        "rates": "A record of stream name → its component's sampling rate.",
        "table": "The streams as a table: pairs, counted (after the cap), rate, share of the mix and epochs at the plan.",
        "manifest": "The mixture's manifest as a record: streams, cap, temperature, seed 0 and the SHA-256 of its data.",
        "hash": "The SHA-256 of the mixture's settings and every pair's text (seed 0).",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "streams": return .list(streams.map { .host($0) })
        case "rates":
            let manifest = mixture.manifest(seed: 0)
            return .record(Record(manifest.streams.map { ($0.name, Value.double($0.rate)) }))
        case "table": return .host(TableValue(rows: tableRows))
        case "hash": return .string(mixture.manifest(seed: 0).hash)
        case "manifest":
            let manifest = mixture.manifest(seed: 0)
            return .record(Record([("streams", .list(manifest.streams.map { stream in
                .record(Record([("name", .string(stream.name)), ("cluster", .string(stream.cluster)), ("template", .string(stream.template)),
                                ("weight", .double(stream.weight)), ("pairs", .integer(stream.pairs)), ("rate", .double(stream.rate)),
                                ("share", .double(stream.share))]))
            })), ("cap", manifest.cap.map(Value.integer) ?? .null), ("temperature", .double(manifest.temperature)),
               ("normalisation", .string(manifest.normalisation.rawValue)), ("hash", .string(manifest.hash))]))
        default: return nil
        }
    }

    var tableRows: [Record] {
        let shares = mixture.pairShares
        let epochs = plan.map { mixture.epochs(steps: $0.steps, batchSize: $0.batch) }
        return mixture.streams.enumerated().map { s, stream in
            let c = mixture.components.firstIndex { $0.streams.contains(s) }
            let examples = c.map { mixture.components[$0].examples.count } ?? 0
            var fields: [(String, Value)] = [("stream", .string(stream.name)), ("cluster", .string(stream.cluster)),
                                             ("template", .string(stream.template.name)), ("weight", .double(stream.weight)),
                                             ("pairs", .integer(stream.pairs.count)),
                                             ("counted", .integer(min(examples, mixture.cap ?? examples))),
                                             ("rate", .double(c.map { mixture.rates[$0] } ?? 0)), ("share", .double(shares[s]))]
            if let epochs { fields.append(("epochs", .double(epochs[s]))) }
            return Record(fields)
        }
    }

    var summary: String {
        var text = "Mixture of \(mixture.streams.count) stream\(mixture.streams.count == 1 ? "" : "s"), \(groupedDigits(mixture.pairCount)) pairs"
        if let cap = mixture.cap { text += ", cap \(groupedDigits(cap))" }
        if mixture.temperature != 1 { text += ", temperature \(formatDouble(mixture.temperature))" }
        if let plan { text += "; planned \(groupedDigits(plan.steps)) steps of \(plan.batch)" }
        return text + "; data \(mixture.manifest(seed: 0).shortHash)"
    }

    public func render() -> MimeBundle {
        let table = TableValue(rows: tableRows).render()
        var plain = summary + "\n" + table.plain
        var html = "<div><p>\(escapeHTML(summary))</p>" + (table.data["text/html"] ?? "")
        let examples = mixture.streams.prefix(8).compactMap { stream in
            stream.pairs.first.map { (stream.name + ($0.template.map { " · \($0)" } ?? "") + ($0.format.map { " · \($0)" } ?? ""), $0) }
        }
        if !examples.isEmpty {
            html += "<p>First example of each stream:</p><table><thead><tr><th>stream</th><th>source</th><th>target</th></tr></thead><tbody>"
            let left = "style=\"text-align:left;white-space:pre-wrap;vertical-align:top\""
            for (name, pair) in examples {
                html += "<tr><td>\(escapeHTML(name))</td><td \(left)>\(escapeHTML(oneLine(pair.source, 400)))</td><td \(left)>\(escapeHTML(oneLine(pair.target, 200)))</td></tr>"
                plain += "\n[\(name)] \(oneLine(pair.source, 80)) → \(oneLine(pair.target, 60))"
            }
            html += "</tbody></table>"
        }
        return MimeBundle(plain: plain, extra: ["text/html": html + "</div>"])
    }

    /// The streams to evaluate: each stream's task's test split (or `split`) under its template.
    func evaluationStreams(split: String, settings: (TaskObject) -> EvaluationSettings) throws -> [EvaluationStream] {
        try streams.map { object in
            let examples = object.task.dataset[split: split]
            guard !examples.isEmpty else {
                throw CellError(.value, "stream '\(object.stream.name)' comes from \(object.task.dataset.name), which has no \(split) split to evaluate on")
            }
            var stream = settings(object.task)
            stream.template = object.stream.template
            return EvaluationStream(name: object.stream.name, cluster: object.stream.cluster, examples: examples, settings: stream)
        }
    }
}

/// Several streams' evaluations: a row per stream and per template.
public final class StreamsEvaluationObject: HostObject {
    /// The results.
    public let result: StreamsEvaluation

    /// Wraps results.
    public init(_ result: StreamsEvaluation) { self.result = result }

    public var typeName: String { "StreamsEvaluation" }

    static let memberDocs: [String: String] = [
        "accuracy": "Accuracy over every example of every stream.",
        "meanOverTemplates": "The mean of the per-template accuracies (FLAN's number for a held-out cluster).",
        "streams": "One record per stream: stream, cluster, template, method (rank or generate), accuracy, count.",
        "templates": "One record per template: template, accuracy, count.",
        "stream": "stream(_ name: String) -> Evaluation\n\nThe evaluation of one stream, with its rows.",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    var streamRows: [Record] {
        result.rows.map { row in
            Record([("stream", .string(row.stream)), ("cluster", .string(row.cluster)), ("template", .string(row.template)),
                    ("method", .string(row.method)), ("accuracy", .double(row.evaluation.accuracy)), ("count", .integer(row.evaluation.count))])
        }
    }

    var templateRows: [Record] {
        result.byTemplate.map { Record([("template", .string($0.template)), ("accuracy", .double($0.accuracy)), ("count", .integer($0.count))]) }
    }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "accuracy": return .double(result.accuracy)
        case "meanOverTemplates": return .double(result.meanOverTemplates)
        case "streams": return .list(streamRows.map(Value.record))
        case "templates": return .list(templateRows.map(Value.record))
        case "stream":
            return hostMethod("stream", [Parameter("name", "String")], returns: "Evaluation", documentation: Self.memberDocs["stream"] ?? "") { arguments, _ in
                let name = try arguments.string("name")
                guard let row = self.result.rows.first(where: { $0.stream == name }) else {
                    throw CellError(.key, "no stream '\(name)'; the streams are \(self.result.rows.map(\.stream).joined(separator: ", "))")
                }
                return .host(EvaluationObject(evaluation: row.evaluation, taskName: row.stream))
            }
        default: return nil
        }
    }

    public func render() -> MimeBundle {
        let count = result.rows.reduce(0) { $0 + $1.evaluation.count }
        let summary = "Evaluation of \(result.rows.count) stream\(result.rows.count == 1 ? "" : "s") on \(groupedDigits(count)) examples: accuracy \(String(format: "%.4f", result.accuracy)), mean over \(result.byTemplate.count) template\(result.byTemplate.count == 1 ? "" : "s") \(String(format: "%.4f", result.meanOverTemplates))"
        let streams = TableValue(rows: streamRows).render(), templates = TableValue(rows: templateRows).render()
        let plain = summary + "\n" + streams.plain + "\nBy template:\n" + templates.plain
        let html = "<div><p>\(escapeHTML(summary))</p>" + (streams.data["text/html"] ?? "") + "<p>By template:</p>" + (templates.data["text/html"] ?? "") + "</div>"
        return MimeBundle(plain: plain, extra: ["text/html": html])
    }
}

/// The mixture an `on:` argument names: a mixture, or a single stream.
func mixtureArgument(_ value: Value) -> MixtureObject? {
    switch value {
    case .host(let mixture as MixtureObject): return mixture
    case .host(let stream as StreamObject): return (try? Mixture([stream.stream])).map { MixtureObject(mixture: $0, streams: [stream]) }
    default: return nil
    }
}

let mixtureBuiltins: [Builtin] = [
    Builtin("stream", [Parameter("task", "Task"), Parameter("template", "String", labeled: true, default: .string("{input}")),
                       Parameter("target", "String", labeled: true, default: .string("{label}")),
                       Parameter("name", "String", labeled: true, default: .null), Parameter("weight", "Double", labeled: true, default: .double(1)),
                       Parameter("cluster", "String", labeled: true, default: .null),
                       Parameter("maskNumbers", "Bool", labeled: true, default: .null)], returns: "Stream", documentation: """
        A task stream: a task's training examples rendered with a template into (source, target) pairs.

        `template:` is the source format and `target:` the target's: `{input}`, `{label}`, \
        `{rationale}`, `{options}` (the choices, one per line after "- ") and any field of the \
        examples (`{premise}`). `{{` and `}}` are braces. `weight:` scales the stream's loss; \
        `cluster:` names its family of tasks. Numbers are masked (`numa`, …) for equation tasks, \
        as the recipes mask them, unless `maskNumbers: false`; a student trained on such a \
        mixture is evaluated with them masked and restored. The first argument is a task (its train split) or \
        examples. Example: `let nli = stream(anli1, template: "Premise: {premise}\\nHypothesis: {hypothesis}\\nOPTIONS:\\n{options}", name: "anli1/t1")`.
        """) { arguments, _ in
        let (examples, task) = try examplesArgument(arguments["task"], callee: "stream", name: "task")
        let name = try arguments.optionalString("name") ?? task.dataset.name
        let weight = try arguments.double("weight")
        guard weight.isFinite, weight >= 0 else { throw CellError(.value, "`stream(weight:)` must be finite and ≥ 0, got \(weight)") }
        let template = PromptTemplate(name: name, input: try arguments.string("template"), target: try arguments.string("target"))
        let mask: Bool
        if case .bool(let wanted) = arguments["maskNumbers"] { mask = wanted } else { mask = task.dataset.labelKind == .equation }
        let rendered = mask ? examples.map { $0.maskingNumbers().example } : examples
        let stream = try converting {
            try TaskStream.rendering(rendered, name: name, template: template, weight: weight, cluster: try arguments.optionalString("cluster"))
        }
        return .host(StreamObject(stream: stream, task: task, masksNumbers: mask))
    },
    Builtin("mixture", [Parameter("streams", "List"), Parameter("cap", "Int", labeled: true, default: .null),
                        Parameter("temperature", "Double", labeled: true, default: .double(1)),
                        Parameter("steps", "Int", labeled: true, default: .null), Parameter("batch", "Int", labeled: true, default: .integer(16)),
                        Parameter("formats", "List", labeled: true, default: .null), Parameter("heldOut", "List", labeled: true, default: .null),
                        Parameter("preset", "String", labeled: true, default: .string("flan")),
                        Parameter("shots", "Int", labeled: true, default: .integer(2)), Parameter("seed", "Int", labeled: true, default: .integer(0)),
                        Parameter("templates", "Record", labeled: true, default: .null)],
            returns: "Mixture", documentation: """
        Mixes streams, or tasks FLAN-style, at examples-proportional rates, as seqio computes them: rate = min(n, cap)^(1/temperature), normalised.

        `cap:` limits how many examples a large stream counts for; `temperature:` above 1 flattens \
        the rates towards equal. With `steps:` (and `batch:`) the table shows how many epochs each \
        stream will see. Train on it with `train(s, on: mix, steps: 2000, pack: 256)`; \
        `evaluate(s, on: mix)` scores each stream's test split. Example: \
        `let mix = mixture([nli, qa], cap: 3000, steps: 2000, batch: 32)`.

        Given tasks instead of streams, it builds an instruction-tuning mixture: one stream per \
        task, each example under one of the task's templates (see `templates(task)`) drawn with \
        `seed:`, in one of `formats:` ("zero-shot", "few-shot" with `shots:` exemplars from the \
        training split, "cot" with the rationale: a teacher's, when the list holds `why` in \
        place of its task), the cap 3,000 unless told, per-token loss. \
        `heldOut:` names clusters the mixture must not touch (a task in one is an error naming \
        it); `preset: "no-template"` or `"dataset-name"` are the FLAN paper's ablations. \
        `templates:` gives tasks your own, a record of task name → list of source formats (target \
        `{label}`) or records `["source": …, "target": …, "turnedAround": true]`; they are linted \
        on the task's examples first. Example: \
        `let mix = mixture(w.tuning, heldOut: ["yes-no"], formats: ["zero-shot", "few-shot"])`.
        """) { arguments, _ in
        if holdsTasks(arguments["streams"]) { return .host(try instructionMixture(arguments)) }
        for option in ["formats", "heldOut", "templates"] where arguments[option] != .null {
            throw CellError(.value, "`mixture(\(option):)` applies to a mixture of tasks; these are streams")
        }
        let items = try arguments.list("streams")
        guard !items.isEmpty else { throw CellError(.value, "`mixture` needs at least one stream") }
        let streams = try items.map { item -> StreamObject in
            guard case .host(let stream as StreamObject) = item else {
                throw CellError(.type, "`mixture` takes a list of streams (made with `stream(...)`), found \(item.typeName)")
            }
            return stream
        }
        let cap = arguments["cap"] == .null ? nil : try arguments.integer("cap", in: 1...TrainingBounds.examples)
        let temperature = try arguments.double("temperature")
        guard temperature.isFinite, temperature > 0, temperature <= 1000 else {
            throw CellError(.value, "`mixture(temperature:)` must be in (0, 1000], got \(temperature)")
        }
        var plan: (steps: Int, batch: Int)?
        if arguments["steps"] != .null {
            plan = (try arguments.integer("steps", in: 1...TrainingBounds.steps), try arguments.integer("batch", in: 1...TrainingBounds.batch))
        }
        let mixture = try converting { try Mixture(streams.map(\.stream), cap: cap, temperature: temperature) }
        return .host(MixtureObject(mixture: mixture, streams: streams, plan: plan))
    },
]
