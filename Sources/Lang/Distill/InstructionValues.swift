// Instruction tuning in cells: `templates(task)` shows a task's FLAN templates (and lints them on
// its examples), `instructionWorld(...)` makes the synthetic word-list tasks a tiny student can
// learn from scratch, `mixture([tasks…], heldOut: [...])` builds a FLAN mixture from tasks, and
// `evaluate(s, on: tasks, zeroShot: true)` scores held-out tasks under every template that can
// score them, by rank classification over the options.
import Distill
import Foundation

/// A task as instruction tuning sees it: train split (or none), test split (else `valid`), and
/// the user's templates for it when `templates:` names it.
func instructionTask(_ source: TaskSource, templates: Value = .null) throws -> InstructionTask {
    let dataset = source.task.dataset
    let test = dataset[split: "test"].isEmpty ? dataset[split: "valid"] : dataset[split: "test"]
    let own = try userTemplates(templates, task: dataset.name)
    // A teacher's rationales train on the examples they explain, each with the teacher's rationale
    // (chain-of-thought targets use it), or its gold one where the teacher gave none.
    let train = source.rationales.map { why in
        why.entries.map { entry -> Example in
            var example = entry.example
            if let rationale = entry.output?.rationale, !rationale.isEmpty { example.rationale = rationale }
            return example
        }
    } ?? dataset[split: "train"]
    let made = InstructionTask(name: dataset.name, kind: dataset.labelKind, train: train, test: test, templates: own)
    if own != nil {
        let problems = made.templates.flatMap { template in
            InstructionTemplates.lint(template) + (made.train + made.test).prefix(200).flatMap { InstructionTemplates.lint(template, on: $0) }
        }
        if let first = problems.first {
            throw CellError(.value, "\(first)" + (problems.count > 1 ? " (and \(problems.count - 1) more problems)" : ""))
        }
    }
    return made
}

/// The user's templates for `task` from a `templates:` record (task name → a list of source
/// formats, or of records with `source`, `target` and `turnedAround`), or nil when it has none.
func userTemplates(_ value: Value, task: String) throws -> [InstructionTemplate]? {
    guard case .record(let record) = value else {
        if value == .null { return nil }
        throw CellError(.type, "`templates:` is a record of task name → list of templates, got \(value.typeName)")
    }
    guard let entry = record[task] else { return nil }
    guard case .list(let items) = entry, !items.isEmpty else {
        throw CellError(.value, "`templates:` for \(task) must be a non-empty list of templates")
    }
    return try items.enumerated().map { index, item in
        let id = "\(task)/u\(index + 1)"
        switch item {
        case .string(let source): return InstructionTemplate(id, input: source)
        case .record(let fields):
            guard case .string(let source)? = fields["source"] else {
                throw CellError(.value, "template \(index + 1) of \(task) needs a `source` string")
            }
            var target = "{label}"
            if case .string(let given)? = fields["target"] { target = given }
            var turned = false
            if case .bool(let flag)? = fields["turnedAround"] { turned = flag }
            return InstructionTemplate(id, input: source, target: target, turnedAround: turned)
        default:
            throw CellError(.type, "template \(index + 1) of \(task) is a source string or a record {source, target, turnedAround}, got \(item.typeName)")
        }
    }
}

/// A task for instruction tuning, with the teacher's rationales when it came as `why`.
struct TaskSource {
    let task: TaskObject
    let rationales: RationalesObject?
}

/// One item of a `tasks` argument: a task, or a teacher's rationales over its examples.
func taskSource(_ value: Value) -> TaskSource? {
    switch value {
    case .host(let task as TaskObject): return TaskSource(task: task, rationales: nil)
    case .host(let why as RationalesObject): return TaskSource(task: why.task, rationales: why)
    default: return nil
    }
}

/// Tasks from a `tasks` argument: one task (or rationales), or a list of them.
func taskObjects(_ value: Value, callee: String, name: String) throws -> [TaskSource] {
    if let one = taskSource(value) { return [one] }
    guard case .list(let items) = value else {
        throw CellError(.type, "`\(callee)` expects `\(name)` to be a task or a list of tasks, got \(value.typeName)")
    }
    guard !items.isEmpty else { throw CellError(.value, "`\(callee)` got an empty list in `\(name)`") }
    return try items.map { item in
        guard let source = taskSource(item) else {
            throw CellError(.type, "`\(callee)` expects `\(name)` to be tasks (such as `[svamp, cqa]`) or a teacher's rationales, but it holds \(item.typeName)")
        }
        return source
    }
}

/// Whether a list argument holds tasks or rationales (rather than streams).
func holdsTasks(_ value: Value) -> Bool {
    if case .list(let items) = value, let first = items.first { return taskSource(first) != nil }
    return taskSource(value) != nil
}

/// A task's templates, with a rendered example each and the lint's findings.
public final class TemplatesObject: HostObject {
    public let task: InstructionTask

    init(task: InstructionTask) { self.task = task }

    public var typeName: String { "Templates" }

    static let memberDocs: [String: String] = [
        "ids": "The template ids, in order.",
        "count": "How many templates the task has.",
        "table": "One record per template: id, turnedAround, source, target.",
        "lint": "lint() -> List\n\nThe problems the lint finds in the templates and in rendering every example of the task (empty when clean).",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    var rows: [Record] {
        task.templates.map { t in
            Record([("id", .string(t.id)), ("turnedAround", .bool(t.turnedAround)), ("source", .string(t.template.input)),
                    ("target", .string(t.template.target))])
        }
    }

    func problems() -> [InstructionTemplates.Problem] {
        var out: [InstructionTemplates.Problem] = []
        for template in task.templates {
            out += InstructionTemplates.lint(template)
            for example in task.train + task.test { out += InstructionTemplates.lint(template, on: example) }
        }
        return out
    }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "ids": return .list(task.templates.map { .string($0.id) })
        case "count": return .integer(task.templates.count)
        case "table": return .host(TableValue(rows: rows))
        case "lint":
            return hostMethod("lint", [], returns: "List", documentation: Self.memberDocs["lint"] ?? "") { _, _ in
                .list(self.problems().map { .string($0.description) })
            }
        default: return nil
        }
    }

    public func render() -> MimeBundle {
        let example = task.train.first ?? task.test.first
        let turned = task.templates.filter(\.turnedAround).count
        let summary = "\(task.name) (cluster \(task.cluster)): \(task.templates.count) templates, \(turned) turned around"
        var plain = summary
        var html = "<div><p>\(escapeHTML(summary))" + (example.map { " — rendered on \(escapeHTML($0.id.description))" } ?? "") + "</p>"
        html += "<table><thead><tr><th>id</th><th>kind</th><th>source</th><th>target</th></tr></thead><tbody>"
        let left = "style=\"text-align:left;white-space:pre-wrap;vertical-align:top\""
        for t in task.templates {
            let source = example.flatMap { try? t.template.source(for: $0) } ?? t.template.input
            let target = example.flatMap { try? t.template.target(for: $0) } ?? t.template.target
            let kind = t.turnedAround ? "turned around" : "instruction"
            // Line breaks are part of a template's look (the OPTIONS block), so the HTML keeps them.
            func clipped(_ text: String, _ limit: Int) -> String { text.count > limit ? String(text.prefix(limit - 1)) + "…" : text }
            html += "<tr><td>\(escapeHTML(t.id))</td><td>\(kind)</td><td \(left)>\(escapeHTML(clipped(source, 600)))</td><td \(left)>\(escapeHTML(clipped(target, 300)))</td></tr>"
            plain += "\n[\(t.id)\(t.turnedAround ? ", turned around" : "")] \(oneLine(source, 80)) → \(oneLine(target, 40))"
        }
        return MimeBundle(plain: plain, extra: ["text/html": html + "</tbody></table></div>"])
    }
}

/// The FLAN mixture a `mixture(tasks, …)` call builds.
func instructionMixture(_ arguments: Arguments) throws -> MixtureObject {
    let objects = try taskObjects(arguments["streams"], callee: "mixture", name: "tasks")
    let tasks = try objects.map { try instructionTask($0, templates: arguments["templates"]) }
    for task in tasks where task.train.isEmpty {
        throw CellError(.value, "task \(task.name) has no train split to tune on")
    }
    var formats: [InstructionFormat] = [.zeroShot]
    if case .list(let items) = arguments["formats"] {
        formats = try items.map { item in
            guard case .string(let name) = item, let format = InstructionFormat(rawValue: name) else {
                throw CellError(.value, "`mixture(formats:)` takes \(InstructionFormat.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \(item)")
            }
            return format
        }
    }
    var heldOut: [String] = []
    if case .list(let items) = arguments["heldOut"] {
        heldOut = try items.map { item in
            guard case .string(let name) = item else { throw CellError(.type, "`mixture(heldOut:)` takes cluster names, got \(item.typeName)") }
            return name
        }
    }
    let presetName = try arguments.string("preset")
    guard let preset = TemplatePreset(rawValue: presetName) else {
        throw CellError(.value, "`mixture(preset:)` is \(TemplatePreset.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \"\(presetName)\"")
    }
    let cap = arguments["cap"] == .null ? 3000 : try arguments.integer("cap", in: 1...TrainingBounds.examples)
    let temperature = try arguments.double("temperature")
    guard temperature.isFinite, temperature > 0, temperature <= 1000 else {
        throw CellError(.value, "`mixture(temperature:)` must be in (0, 1000], got \(temperature)")
    }
    let settings = InstructionMixtureSettings(cap: cap, temperature: temperature, formats: formats, preset: preset, heldOut: heldOut,
                                              shots: try arguments.integer("shots", in: 1...32), seed: try arguments.seed("seed"))
    let streams = try converting { try InstructionMixture.streams(tasks, settings: settings) }
    let mixture = try converting { try Mixture(streams, cap: settings.cap, temperature: settings.temperature, normalisation: .perToken) }
    var plan: (steps: Int, batch: Int)?
    if arguments["steps"] != .null {
        plan = (try arguments.integer("steps", in: 1...TrainingBounds.steps), try arguments.integer("batch", in: 1...TrainingBounds.batch))
    }
    let objectsByName = Dictionary(objects.map { ($0.task.dataset.name, $0.task) }, uniquingKeysWith: { a, _ in a })
    let streamObjects = streams.compactMap { stream in objectsByName[stream.name].map { StreamObject(stream: stream, task: $0) } }
    return MixtureObject(mixture: mixture, streams: streamObjects, plan: plan)
}

/// The zero-shot evaluation streams of `evaluate(s, on: tasks, zeroShot: true)`.
func zeroShotStreams(_ value: Value, templates: Value, limit: Int?, batch: Int, maxTokens: Int) throws -> [EvaluationStream] {
    let tasks = try taskObjects(value, callee: "evaluate", name: "on").map { try instructionTask($0, templates: templates) }
    for task in tasks where task.test.isEmpty {
        throw CellError(.value, "task \(task.name) has no test (or valid) split to evaluate on")
    }
    return try converting {
        try InstructionMixture.heldOutStreams(tasks, clusters: Array(Set(tasks.map(\.cluster))).sorted(), limit: limit,
                                              batchSize: batch, maxNewTokens: maxTokens)
    }
}

let instructionBuiltins: [Builtin] = [
    Builtin("templates", [Parameter("task", "Task")], returns: "Templates", documentation: """
        A task's FLAN templates: at least six instructions and one turned around (input and target swap roles).

        svamp, cqa, anli1, esnli, synthetic and the instruction world's tasks have their own; any \
        other task gets generic templates over `{input}` and `{label}`, with an `OPTIONS:` block \
        when its labels are classes. The display renders each on the task's first example; \
        `.lint()` lists what is wrong with any of them on any example (empty when clean). \
        Example: `templates(anli1)`.
        """) { arguments, _ in
        let task = try arguments.host("task", TaskObject.self, expected: "a task such as `anli1`")
        return .host(TemplatesObject(task: try instructionTask(TaskSource(task: task, rationales: nil))))
    },
    Builtin("instructionWorld", [Parameter("train", "Int", labeled: true, default: .integer(500)),
                                 Parameter("test", "Int", labeled: true, default: .integer(100)),
                                 Parameter("seed", "Int", labeled: true, default: .integer(0))], returns: "Record", documentation: """
        The instruction world: seeded word-list tasks a tiny student can learn from scratch, in clusters.

        Tuning clusters: order (reverse, sort), select (first, last, largest), count, arithmetic \
        (add, is-even). The held-out cluster `yes-no` asks yes/no questions about a list \
        (contains-word, is-sorted, has-duplicates), balanced yes and no. The record holds `tasks` \
        (all), `tuning` (all but yes-no) and `heldOut` (the yes-no tasks). Example: `let w = \
        instructionWorld(train: 400)` then `mixture(w.tuning, heldOut: ["yes-no"])`.
        """) { arguments, _ in
        let train = try arguments.integer("train", in: 1...100_000), test = try arguments.integer("test", in: 1...100_000)
        let tasks = try converting { try InstructionTask.world(train: train, test: test, seed: try arguments.seed("seed")) }
        let objects = tasks.map { task -> (String, Value) in
            let dataset = Dataset(name: task.name, labelKind: task.kind, splits: [("train", task.train), ("test", task.test)])
            return (task.cluster, .host(TaskObject(dataset: dataset, format: nil, source: "generated")))
        }
        return .record(Record([("tasks", .list(objects.map(\.1))),
                               ("tuning", .list(objects.filter { $0.0 != WordTasks.heldOutCluster }.map(\.1))),
                               ("heldOut", .list(objects.filter { $0.0 == WordTasks.heldOutCluster }.map(\.1)))]))
    },
]
