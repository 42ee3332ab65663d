// Few-shot chain-of-thought prompts: `cot(task, shots:)` draws worked examples, `cot(task,
// exemplars:)` takes the user's own, and the prompt object renders exactly what a teacher sees.
import Distill
import Foundation

/// A few-shot chain-of-thought prompt of a task.
public final class PromptObject: HostObject {
    /// The prompt.
    public let prompt: CoTPrompt
    /// The task it was made for.
    public let task: TaskObject
    /// Where its exemplars came from, for display.
    public let origin: String

    /// Wraps a prompt.
    public init(prompt: CoTPrompt, task: TaskObject, origin: String) {
        self.prompt = prompt
        self.task = task
        self.origin = origin
    }

    public var typeName: String { "Prompt" }

    static let memberDocs: [String: String] = [
        "render": "render(_ example: Example, teacher: Teacher = nil) -> String\n\nExactly the text a teacher sees for `example`: the few-shot text a completion teacher reads, or, with `teacher:`, what that teacher reads (a GGUF chat teacher's template text, a server's chat messages as JSON).",
        "chat": "chat(_ example: Example) -> List\n\nThe prompt as chat messages (records with `role` and `content`): a system instruction, one user/assistant pair per exemplar, then the example.",
        "exemplars": "The worked examples, as records with `input`, `rationale` and `label`.",
        "shots": "The number of worked examples.",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "shots": return .integer(prompt.exemplars.count)
        case "exemplars":
            return .list(prompt.exemplars.map { exemplar in
                .record(Record([("input", .string(exemplar.input)), ("rationale", .string(exemplar.rationale)), ("label", .string(exemplar.label))]))
            })
        case "render":
            return hostMethod("render", [Parameter("example", "Example"), Parameter("teacher", "Teacher", labeled: true, default: .null)],
                              returns: "String", documentation: Self.memberDocs["render"] ?? "") { arguments, _ in
                let example = try self.example(arguments)
                if case .null = arguments["teacher"] { return .string(self.prompt.render(example)) }
                let teacher = try arguments.host("teacher", TeacherObject.self, expected: "a teacher such as `gguf(...)` or `openai(...)`")
                return .string(teacher.teacher.promptText(for: example, prompt: self.prompt))
            }
        case "chat":
            return hostMethod("chat", [Parameter("example", "Example")], returns: "List", documentation: Self.memberDocs["chat"] ?? "") { arguments, _ in
                .list(self.prompt.chat(try self.example(arguments)).map { message in
                    .record(Record([("role", .string(message.role.rawValue)), ("content", .string(message.content))]))
                })
            }
        default: return nil
        }
    }

    /// The `example` argument: an example object, or a string taken as an input.
    private func example(_ arguments: Arguments) throws -> Example {
        switch arguments["example"] {
        case .host(let object as ExampleObject): return object.example
        case .string(let input): return Example(id: ExampleID(split: "user", index: 0), input: input, label: "")
        case let other:
            throw CellError(.type, "`render` expects an example (such as `svamp.train[0]`) or an input string, got \(other.typeName)")
        }
    }

    public func render() -> MimeBundle {
        let text = prompt.render(input: "{input}")
        let header = "Prompt for \(task.dataset.name): \(prompt.exemplars.count) shots (\(origin))"
        let html = "<div><b>\(escapeHTML(header))</b><pre style=\"white-space:pre-wrap\">\(escapeHTML(text))</pre></div>"
        return MimeBundle(plain: header + "\n\n" + text, extra: ["text/html": html])
    }
}

/// Exemplars for a task that has none written by the user: the released teacher's rationales that
/// agree with gold (when the task's folder has `llm/`), else the gold rationales.
private func drawnPrompt(_ task: TaskObject, format: AnswerFormat, shots: Int, seed: UInt64) throws -> (CoTPrompt, String) {
    let train = try converting { try task.dataset.split("train") }
    if let benchmark = BenchmarkTask(rawValue: task.dataset.name) {
        let outputs = URL(fileURLWithPath: task.source).appendingPathComponent("llm").path
        let replay = ReplayTeacher(task: benchmark, outputs: outputs)
        if let released = try? replay.explain(Array(train.prefix(500))) {
            let prompt = try converting { try CoTPrompt.fromTeacher(released, shots: shots, kind: task.dataset.labelKind, format: format, seed: seed) }
            return (prompt, "released teacher rationales that agree with gold, seed \(seed)")
        }
    }
    let prompt = try converting { try CoTPrompt.sampled(from: train, shots: shots, format: format, seed: seed) }
    return (prompt, "gold rationales, seed \(seed)")
}

/// The most worked examples a prompt takes; more would not fit any model's context.
let maximumShots = 1_000

let promptBuiltins: [Builtin] = [
    Builtin("cot", [Parameter("task", "Task"), Parameter("shots", "Int", labeled: true, default: .integer(4)),
                    Parameter("seed", "Int", labeled: true, default: .integer(0)), Parameter("exemplars", "List", labeled: true, default: .null),
                    Parameter("from", "Rationales", labeled: true, default: .null), Parameter("instruction", "String", labeled: true, default: .null)],
            returns: "Prompt", documentation: """
        A few-shot chain-of-thought prompt in the task's answer format.

        `cot(task, shots: 4, seed: 0)` draws worked examples from the training split: the released \
        teacher's rationales that agree with gold when the task's folder has them (SVAMP has no gold \
        rationales), else the gold rationales. `from: rationales` draws them from a teacher's \
        agreeing rationales instead. `exemplars:` takes your own, as records: \
        `cot(svamp, exemplars: [["input": "...", "rationale": "...", "label": "(3 + 4)"]])` (CQA \
        exemplars also need `"choices"`). `p.render(example)` shows exactly what a teacher sees.
        """) { arguments, _ in
        let task = try arguments.host("task", TaskObject.self, expected: "a task such as `task(\"svamp\", data: ...)`")
        guard let format = task.format else {
            throw CellError(.value, "task \(task.dataset.name) has no answer format; load it with `jsonl(..., format: \"equation\")` (or \"choice\", \"so-the-answer-is\", \"answer-line\")")
        }
        let instruction = try arguments.optionalString("instruction")
        let seed = try arguments.seed("seed")
        var (prompt, origin): (CoTPrompt, String)
        if case .list(let items) = arguments["exemplars"] {
            let exemplars = try items.enumerated().map { index, item in try exemplar(item, index: index) }
            prompt = try converting { try CoTPrompt(format: format, exemplars: exemplars) }
            origin = "your exemplars"
        } else if case .host(let rationales as RationalesObject) = arguments["from"] {
            let outputs = rationales.entries.compactMap(\.output)
            prompt = try converting { try CoTPrompt.fromTeacher(outputs, shots: try arguments.integer("shots", in: 0...maximumShots), kind: task.dataset.labelKind, format: format, seed: seed) }
            origin = "agreeing rationales of \(rationales.teacherName), seed \(seed)"
        } else {
            (prompt, origin) = try drawnPrompt(task, format: format, shots: try arguments.integer("shots", in: 0...maximumShots), seed: seed)
        }
        prompt.instruction = instruction
        return .host(PromptObject(prompt: prompt, task: task, origin: origin))
    },
]

/// One exemplar from a record with `input`, `rationale`, `label` and optional `choices`.
private func exemplar(_ value: Value, index: Int) throws -> Exemplar {
    guard case .record(let record) = value else {
        throw CellError(.type, "exemplar \(index) must be a record such as `[\"input\": \"...\", \"rationale\": \"...\", \"label\": \"...\"]`, got \(value.typeName)")
    }
    func text(_ key: String) throws -> String {
        guard case .string(let text)? = record[key] else {
            throw CellError(.value, "exemplar \(index) needs a string `\"\(key)\"` (it has: \(record.keys.joined(separator: ", ")))")
        }
        return text
    }
    var choices: [String] = []
    if case .list(let items)? = record["choices"] {
        choices = items.map { renderPlain($0) }
    }
    return Exemplar(input: try text("input"), rationale: try text("rationale"), label: try text("label"), choices: choices)
}
