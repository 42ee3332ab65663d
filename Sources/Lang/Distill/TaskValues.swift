// Tasks and examples as cell-language values: a task renders as a table of its splits, sizes and
// first examples, and hands out its splits as lists of example objects that remember their task
// (so `explain` and `cot` know how the task writes and compares answers).
import Distill
import Foundation

/// A task as the language sees it: a dataset, plus the answer format its teachers write in.
public final class TaskObject: HostObject {
    /// The examples, in named splits.
    public let dataset: Dataset
    /// How a chain-of-thought answer is written for this task; nil for a JSON Lines task without one.
    public let format: AnswerFormat?
    /// Where the task was loaded from (a folder, a file, or "generated"), for display.
    public let source: String
    private var cachedSplits: [String: [Value]] = [:]

    /// Wraps a dataset.
    /// - Parameters:
    ///   - dataset: The task's splits.
    ///   - format: The answer format, when the task has one.
    ///   - source: Where it came from, for display.
    public init(dataset: Dataset, format: AnswerFormat?, source: String) {
        self.dataset = dataset
        self.format = format
        self.source = source
    }

    public var typeName: String { "Task" }

    static let memberDocs: [String: String] = [
        "name": "The task's name (\"svamp\", \"synthetic\", ...).",
        "splits": "The split names, in order.",
        "sizes": "A record of split name → number of examples.",
        "train": "The training split, as a list of examples.",
        "test": "The test split, as a list of examples.",
        "validation": "The validation split (`valid`), as a list of examples; see `withValidation`.",
        "split": "split(_ name: String) -> List\n\nThe examples of the split called `name`.",
        "subsample": "subsample(_ fraction: Double, seed: Int = 0, split: String = \"train\") -> Task\n\nA copy whose split keeps a seeded random `fraction` of its examples (in their original order).",
        "withValidation": "withValidation(_ fraction: Double, seed: Int = 0) -> Task\n\nA copy with a `valid` split carved out of `train` (the examples move; each keeps its id).",
        "labelKind": "How labels compare: \"equation\" (by value), \"text\" or \"classes\".",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    /// The examples of a split as example objects (built once per split).
    func examples(_ split: String) throws -> [Value] {
        if let cached = cachedSplits[split] { return cached }
        let values = try converting { try dataset.split(split) }.map { Value.host(ExampleObject($0, task: self)) }
        cachedSplits[split] = values
        return values
    }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "name": return .string(dataset.name)
        case "splits": return .list(dataset.splitNames.map(Value.string))
        case "sizes": return .record(Record(dataset.sizes.map { ($0.split, Value.integer($0.count)) }))
        case "train", "test": return .list(try examples(name))
        case "validation": return .list(try examples("valid"))
        case "labelKind": return .string(labelKindName)
        case "split":
            return hostMethod("split", [Parameter("name", "String")], returns: "List", documentation: Self.memberDocs["split"] ?? "") { arguments, _ in
                .list(try self.examples(try arguments.string("name")))
            }
        case "subsample":
            return hostMethod("subsample", [Parameter("fraction", "Double"), Parameter("seed", "Int", labeled: true, default: .integer(0)),
                                            Parameter("split", "String", labeled: true, default: .string("train"))],
                              returns: "Task", documentation: Self.memberDocs["subsample"] ?? "") { arguments, _ in
                let copy = try self.dataset.subsampling(try arguments.string("split"), fraction: try arguments.double("fraction"),
                                                        seed: try arguments.seed("seed"))
                return .host(TaskObject(dataset: copy, format: self.format, source: self.source))
            }
        case "withValidation":
            return hostMethod("withValidation", [Parameter("fraction", "Double"), Parameter("seed", "Int", labeled: true, default: .integer(0))],
                              returns: "Task", documentation: Self.memberDocs["withValidation"] ?? "") { arguments, _ in
                let copy = try self.dataset.carvingValidation(fraction: try arguments.double("fraction"), seed: try arguments.seed("seed"))
                return .host(TaskObject(dataset: copy, format: self.format, source: self.source))
            }
        default: return nil
        }
    }

    var labelKindName: String {
        switch dataset.labelKind {
        case .equation: return "equation"
        case .text: return "text"
        case .classes: return "classes"
        }
    }

    public func render() -> MimeBundle {
        let sizes = dataset.sizes.map { "\($0.split) \($0.count)" }.joined(separator: ", ")
        var plain = "Task \(dataset.name) (\(sizes)) from \(source)"
        let shown = Array(dataset.sizes.first.map { dataset[split: $0.split].prefix(3) } ?? [])
        for example in shown {
            plain += "\n  \(example.id): \(oneLine(example.input, 90)) → \(example.label)"
        }
        var html = "<div><b>Task \(escapeHTML(dataset.name))</b> <small>(\(escapeHTML(labelKindName)) labels, from \(escapeHTML(source)))</small>"
        html += "<table><thead><tr><th>split</th><th>examples</th></tr></thead><tbody>"
        for (split, count) in dataset.sizes { html += "<tr><td>\(escapeHTML(split))</td><td>\(count)</td></tr>" }
        html += "</tbody></table>"
        if !shown.isEmpty {
            html += "<table><thead><tr><th>id</th><th>input</th><th>label</th><th>rationale</th></tr></thead><tbody>"
            for example in shown {
                html += "<tr><td>\(escapeHTML(example.id.description))</td><td style=\"text-align:left;white-space:pre-wrap\">\(escapeHTML(example.input))</td>"
                html += "<td>\(escapeHTML(example.label))</td><td style=\"text-align:left\">\(escapeHTML(example.rationale ?? ""))</td></tr>"
            }
            html += "</tbody></table>"
        }
        return MimeBundle(plain: plain, extra: ["text/html": html + "</div>"])
    }
}

/// One example of a task, with members `input`, `label`, `rationale`, `choices`, `id`, `split`, `fields`.
public final class ExampleObject: HostObject {
    /// The example.
    public let example: Example
    /// The task it belongs to (its label kind and answer format).
    public let task: TaskObject

    /// Wraps an example of `task`.
    public init(_ example: Example, task: TaskObject) {
        self.example = example
        self.task = task
    }

    public var typeName: String { "Example" }

    static let memberDocs: [String: String] = [
        "input": "The text the model reads (CQA with its answer choices, NLI with Premise/Hypothesis lines).",
        "label": "The gold label: an equation, a choice's text or a class name.",
        "rationale": "The gold rationale, or nil when the dataset has none.",
        "choices": "The answer choices of a multiple-choice task (empty otherwise).",
        "id": "Where the example came from: `split#index` in the source files.",
        "split": "The source split (\"train\", \"test\", \"valid\").",
        "fields": "Other fields of the source record, as a record of strings.",
        "task": "The name of the example's task.",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "input": return .string(example.input)
        case "label": return .string(example.label)
        case "rationale": return example.rationale.map(Value.string) ?? .null
        case "choices": return .list(example.choices.map(Value.string))
        case "id": return .string(example.id.description)
        case "split": return .string(example.id.split)
        case "fields": return .record(Record(example.fields.keys.sorted().map { ($0, Value.string(example.fields[$0] ?? "")) }))
        case "task": return .string(task.dataset.name)
        default: return nil
        }
    }

    public func render() -> MimeBundle {
        var plain = "Example \(task.dataset.name) \(example.id)\ninput: \(example.input)\nlabel: \(example.label)"
        if let rationale = example.rationale { plain += "\nrationale: \(rationale)" }
        var html = "<table><tbody><tr><th>id</th><td>\(escapeHTML(task.dataset.name)) \(escapeHTML(example.id.description))</td></tr>"
        html += "<tr><th>input</th><td style=\"text-align:left;white-space:pre-wrap\">\(escapeHTML(example.input))</td></tr>"
        html += "<tr><th>label</th><td>\(escapeHTML(example.label))</td></tr>"
        if let rationale = example.rationale {
            html += "<tr><th>rationale</th><td style=\"text-align:left\">\(escapeHTML(rationale))</td></tr>"
        }
        return MimeBundle(plain: plain, extra: ["text/html": html + "</tbody></table>"])
    }
}

/// The first line of `text`, cut to `limit` characters.
func oneLine(_ text: String, _ limit: Int) -> String {
    let flat = text.replacingOccurrences(of: "\n", with: " ")
    return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
}

/// Examples out of a value: a list of example objects, one example, or a task (its train split).
/// All must come from tasks with the same name; the first one's task is returned with them.
func examplesArgument(_ value: Value, callee: String, name: String) throws -> ([Example], TaskObject) {
    var objects: [ExampleObject] = []
    switch value {
    case .host(let task as TaskObject):
        objects = try task.examples("train").compactMap { if case .host(let e as ExampleObject) = $0 { return e } else { return nil } }
    case .host(let example as ExampleObject):
        objects = [example]
    case .host(let rationales as RationalesObject):
        objects = rationales.entries.map { ExampleObject($0.example, task: rationales.task) }
    case .list(let items):
        for item in items {
            guard case .host(let example as ExampleObject) = item else {
                throw CellError(.type, "`\(callee)` expects `\(name)` to be a list of examples (such as `svamp.train`), but it holds \(item.typeName)")
            }
            objects.append(example)
        }
    default:
        throw CellError(.type, "`\(callee)` expects `\(name)` to be examples (such as `svamp.train` or `svamp.test`), got \(value.typeName)")
    }
    guard let first = objects.first else { throw CellError(.value, "`\(callee)` got no examples in `\(name)`") }
    if let other = objects.first(where: { $0.task.dataset.name != first.task.dataset.name }) {
        throw CellError(.value, "`\(callee)` got examples of two tasks (\(first.task.dataset.name) and \(other.task.dataset.name)); pass one task's examples")
    }
    return (objects.map(\.example), first.task)
}
