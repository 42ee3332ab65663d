// Teachers in the cell language: `replay` (released outputs), `program` (the synthetic task's
// solver), `openai` (any OpenAI-compatible server; the key stays in its environment variable) and
// `gguf` (a model run in this process), and `teacher.explain(...)`, which runs a teacher through
// the rationale store with a live progress bar and stops within a second of an interrupt.
import Distill
import Foundation
import Tensor

/// A teacher as the language sees it.
public final class TeacherObject: HostObject {
    /// The teacher.
    public let teacher: any Teacher
    /// How it shows (never holding an API key).
    public let label: String
    /// Calls in flight at once when it explains.
    public let concurrency: Int

    /// Wraps a teacher.
    public init(teacher: any Teacher, label: String, concurrency: Int) {
        self.teacher = teacher
        self.label = label
        self.concurrency = concurrency
    }

    public var typeName: String { "Teacher" }

    static let explainDocumentation = """
        explain(_ examples: List, prompt: Prompt = nil, samples: Int = 1, store: String = "stepwise-rationales.sqlite") -> Rationales

        Asks the teacher for a rationale and a label for each example, through the rationale store.

        Every call is stored (SQLite, next to the notebook) the moment it completes, so running the \
        cell again asks only for what is missing, and an interrupt keeps what finished. Server and \
        GGUF teachers read `prompt:` (a `cot(...)` prompt; zero-shot in the task's format when left \
        out). `samples:` > 1 asks several times and keeps the majority label (self-consistency). \
        `store: nil` keeps nothing. Progress shows live. Example: `let why = palm.explain(svamp.train)`.
        """

    static let memberDocs: [String: String] = [
        "explain": explainDocumentation,
        "kind": "The kind of teacher: \"replay\", \"program\", \"openai-chat\", \"openai-completions\" or \"gguf\".",
        "model": "The model's name (or what stands for it).",
        "settings": "The settings that change its outputs, as JSON (part of every store key).",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "kind": return .string(teacher.identity.kind)
        case "model": return .string(teacher.identity.model)
        case "settings": return .string(teacher.identity.settings)
        case "explain":
            return hostMethod("explain", [Parameter("examples", "List"), Parameter("prompt", "Prompt", labeled: true, default: .null),
                                          Parameter("samples", "Int", labeled: true, default: .integer(1)),
                                          Parameter("store", "String", labeled: true, default: .string("stepwise-rationales.sqlite"))],
                              returns: "Rationales", documentation: Self.explainDocumentation) { arguments, context in
                try self.explain(arguments, context)
            }
        default: return nil
        }
    }

    public func render() -> MimeBundle {
        MimeBundle(plain: label, extra: ["text/html": "<code>\(escapeHTML(label))</code>"])
    }

    private func explain(_ arguments: Arguments, _ context: BuiltinContext) throws -> Value {
        let (examples, task) = try examplesArgument(arguments["examples"], callee: "explain", name: "examples")
        var prompt: CoTPrompt?
        switch arguments["prompt"] {
        case .null: break
        case .host(let object as PromptObject): prompt = object.prompt
        case let other: throw CellError(.type, "`explain(prompt:)` expects a prompt made by `cot(...)`, got \(other.typeName)")
        }
        if prompt == nil, teacher.answerFormat == nil {
            guard let format = task.format else {
                throw CellError(.value, "the \(teacher.identity.kind) teacher needs a prompt for task \(task.dataset.name); pass `prompt: cot(...)`")
            }
            prompt = try converting { try CoTPrompt(format: format, exemplars: []) }
        }
        let samples = try arguments.integer("samples")
        guard samples >= 1, samples <= 64 else { throw CellError(.value, "`explain(samples:)` must be between 1 and 64, got \(samples)") }
        var store: RationaleStore?
        if let path = try arguments.optionalString("store") {
            store = try converting { try RationaleStore(path: path) }
        }
        let format = teacher.answerFormat ?? prompt?.format ?? .equation
        let explainer = Explainer(teacher: teacher, prompt: prompt, store: store, samples: samples, concurrency: concurrency)
        let flag = CancellationFlag()
        let latest = Locked<ExplainProgress?>(nil)
        let displayID = context.display(progressBundle(nil, teacher: label))
        var throttle = DisplayThrottle()
        var shownProgress: ExplainProgress?
        func refresh(final: Bool) {
            let current = latest.value
            guard current != shownProgress, final || throttle.ready() else { return }
            shownProgress = current
            context.updateDisplay(progressBundle(current, teacher: label, interrupted: final && flag.isCancelled), id: displayID)
        }
        do {
            let result = try runBlocking(context, cancel: flag, tick: { refresh(final: false) }) {
                try await explainer.run(examples, cancel: flag) { latest.value = $0 }
            }
            refresh(final: true)
            return .host(RationalesObject(entries: result.examples, task: task, kind: format.labelKind, stats: result.stats, teacherName: label))
        } catch let error as ExplainError {
            refresh(final: true)
            if case .cancelled(let stats, let done, let total) = error {
                throw CellError(.interrupted, "interrupted after \(done) of \(total) calls (\(stats)); every completed call is in the store, so running the cell again resumes")
            }
            throw cellError(error)
        }
    }
}

/// The live progress display of `explain`: an HTML progress bar and a text line.
func progressBundle(_ progress: ExplainProgress?, teacher: String, interrupted: Bool = false) -> MimeBundle {
    guard let progress else {
        return MimeBundle(plain: "explain: looking up the store…", extra: ["text/html": "<div>explain (\(escapeHTML(teacher))): looking up the store…</div>"])
    }
    let state = interrupted ? " — interrupted; completed calls are stored" : (progress.done == progress.total ? " — done" : "")
    let line = "explain: \(progress.done)/\(progress.total) calls, hits \(progress.hits), misses \(progress.misses), failures \(progress.failures)\(state)"
    let html = "<div><progress value=\"\(progress.done)\" max=\"\(max(progress.total, 1))\" style=\"width:24em\"></progress> "
        + "\(escapeHTML(line))</div>"
    return MimeBundle(plain: line, extra: ["text/html": html])
}

/// A list of strings from a `stop:` argument (a string or a list of strings).
private func stopStrings(_ value: Value) throws -> [String] {
    switch value {
    case .null: return []
    case .string(let text): return [text]
    case .list(let items):
        return try items.map { item in
            guard case .string(let text) = item else { throw CellError(.type, "`stop:` must be a string or a list of strings") }
            return text
        }
    default: throw CellError(.type, "`stop:` must be a string or a list of strings, got \(value.typeName)")
    }
}

/// The bounds of generation arguments.
enum GenerationBounds {
    static let tokens = 131_072
    static let temperature = 100.0
    static let topK = 1_000_000
    /// A day, in seconds.
    static let timeout = 86_400.0
}

let teacherBuiltins: [Builtin] = [
    Builtin("replay", [Parameter("task", "Task"), Parameter("outputs", "String", labeled: true, default: .null)], returns: "Teacher", documentation: """
        A teacher that replays the paper's released outputs (`llm/{split}_CoT_{k}.json`).

        `outputs:` is the `llm` folder (default: the task folder's `llm`). Each example gets the \
        output at its source position, so subsamples and validation carve-outs still line up. \
        Example: `let palm = replay(svamp, outputs: "../shared/datasets/svamp/llm")`.
        """) { arguments, _ in
        let task = try arguments.host("task", TaskObject.self, expected: "a task such as `task(\"svamp\", data: ...)`")
        guard let benchmark = BenchmarkTask(rawValue: task.dataset.name) else {
            throw CellError(.value, "released outputs exist only for svamp, cqa, anli1 and esnli, not \(task.dataset.name); use `program()` for the synthetic task")
        }
        let folder = try arguments.optionalString("outputs") ?? URL(fileURLWithPath: task.source).appendingPathComponent("llm").path
        let first = task.dataset.splitNames.map { "\($0)_CoT_0.json" }
        guard first.contains(where: { FileManager.default.fileExists(atPath: URL(fileURLWithPath: folder).appendingPathComponent($0).path) }) else {
            throw CellError(.value, "no released outputs (\(first.joined(separator: ", "))) in \(folder): \(describeLocation(folder))")
        }
        let teacher = ReplayTeacher(task: benchmark, outputs: folder)
        return .host(TeacherObject(teacher: teacher, label: "replay teacher (released \(benchmark.rawValue) outputs in \(folder))", concurrency: 8))
    },
    Builtin("program", [Parameter("errorRate", "Double", labeled: true, default: .double(0)), Parameter("seed", "Int", labeled: true, default: .integer(0)),
                        Parameter("showResults", "Bool", labeled: true, default: .bool(true))], returns: "Teacher", documentation: """
        The synthetic task's program teacher: it solves each problem by running its program.

        It writes step-by-step rationales in the SVAMP teacher's style. `errorRate:` makes one \
        mistake (a wrong number or operation, carried to the answer) in that share of problems, \
        seeded by `seed:`, to imitate a fallible teacher. `showResults: false` writes the growing \
        expression instead of computed values. Example: `let t = program(errorRate: 0.1)`.
        """) { arguments, _ in
        let errorRate = try arguments.double("errorRate", in: 0...1)
        let teacher = try converting { try ProgramTeacher(errorRate: errorRate, seed: try arguments.seed("seed"), showResults: try arguments.bool("showResults")) }
        return .host(TeacherObject(teacher: teacher, label: "program teacher (error rate \(errorRate), seed \(teacher.seed))", concurrency: 8))
    },
    Builtin("openai", [Parameter("baseURL", "String", labeled: true), Parameter("model", "String", labeled: true),
                       Parameter("apiKeyEnv", "String", labeled: true, default: .null), Parameter("endpoint", "String", labeled: true, default: .string("chat")),
                       Parameter("temperature", "Double", labeled: true, default: .null), Parameter("topP", "Double", labeled: true, default: .null),
                       Parameter("maxTokens", "Int", labeled: true, default: .integer(256)), Parameter("stop", "List", labeled: true, default: .null),
                       Parameter("seed", "Int", labeled: true, default: .null), Parameter("concurrency", "Int", labeled: true, default: .integer(4)),
                       Parameter("timeout", "Double", labeled: true, default: .double(120)), Parameter("retries", "Int", labeled: true, default: .integer(4))],
            returns: "Teacher", documentation: """
        A teacher on any OpenAI-compatible server: llama-server, vLLM, Ollama or a hosted API.

        `endpoint:` is "chat" (`/v1/chat/completions`, messages from the prompt) or "completions" \
        (`/v1/completions`, the rendered few-shot text). The API key is read from the environment \
        variable named by `apiKeyEnv:` and is never shown or stored. `concurrency:` bounds calls in \
        flight; each has `timeout:` seconds and up to `retries:` retries with backoff (429 and 5xx). \
        Example: `openai(baseURL: "http://127.0.0.1:8080", model: "smollm2", temperature: 0)`.
        """) { arguments, _ in
        let endpointName = try arguments.string("endpoint").lowercased()
        guard let endpoint = OpenAITeacherConfiguration.Endpoint(rawValue: endpointName) else {
            throw CellError(.value, "unknown endpoint \"\(endpointName)\"; use \"chat\" or \"completions\"")
        }
        let concurrency = try arguments.integer("concurrency")
        guard (1...256).contains(concurrency) else { throw CellError(.value, "`openai(concurrency:)` must be between 1 and 256, got \(concurrency)") }
        let retries = try arguments.integer("retries")
        guard (0...20).contains(retries) else { throw CellError(.value, "`openai(retries:)` must be between 0 and 20, got \(retries)") }
        var seed: UInt64?
        if arguments["seed"] != .null { seed = try arguments.seed("seed") }
        let temperature = arguments["temperature"] == .null ? nil : try arguments.double("temperature", in: 0...GenerationBounds.temperature)
        let topP = arguments["topP"] == .null ? nil : try arguments.double("topP", in: 0...1)
        let sampling = SamplingSettings(temperature: temperature, topP: topP,
                                        maxTokens: try arguments.integer("maxTokens", in: 1...GenerationBounds.tokens), stop: try stopStrings(arguments["stop"]), seed: seed)
        let configuration = OpenAITeacherConfiguration(
            baseURL: try arguments.string("baseURL"), model: try arguments.string("model"), endpoint: endpoint, sampling: sampling,
            apiKeyVariable: try arguments.optionalString("apiKeyEnv"), timeout: try arguments.double("timeout", in: 0.001...GenerationBounds.timeout),
            retry: RetryPolicy(maxRetries: retries, seed: seed ?? 0))
        let teacher = try converting { try OpenAITeacher(configuration: configuration) }
        return .host(TeacherObject(teacher: teacher, label: teacher.description, concurrency: concurrency))
    },
    Builtin("gguf", [Parameter("path", "String"), Parameter("temperature", "Double", labeled: true, default: .double(0)),
                     Parameter("maxTokens", "Int", labeled: true, default: .integer(192)), Parameter("topP", "Double", labeled: true, default: .double(1)),
                     Parameter("topK", "Int", labeled: true, default: .integer(0)), Parameter("seed", "Int", labeled: true, default: .integer(0)),
                     Parameter("stop", "List", labeled: true, default: .null), Parameter("chat", "Bool", labeled: true, default: .bool(true))],
            returns: "Teacher", documentation: """
        A teacher that runs a Llama-family GGUF model (llama, mistral, qwen2) in this process.

        Prompts go through the model's own chat template (`chat: false` sends the plain few-shot \
        text instead); generation stops at the end of the turn, at `stop:` strings and at the \
        task's next-example marker, after at most `maxTokens:`. Greedy unless `temperature:` > 0 \
        (then `topP:`, `topK:` and `seed:` apply; sample i uses seed + i). One call runs at a \
        time, on the threads `%threads` sets. Example: `let local = gguf("SmolLM2-135M-Instruct.Q4_1.gguf")`.
        """) { arguments, _ in
        let path = try arguments.string("path")
        let sampling = try converting {
            try GGUFSampling(temperature: try arguments.double("temperature", in: 0...GenerationBounds.temperature), topP: try arguments.double("topP", in: 0...1),
                             topK: try arguments.integer("topK", in: 0...GenerationBounds.topK),
                             maxTokens: try arguments.integer("maxTokens", in: 1...GenerationBounds.tokens), stop: try stopStrings(arguments["stop"]),
                             seed: try arguments.seed("seed"), chat: try arguments.bool("chat"))
        }
        let teacher = try converting { try GGUFTeacher(path: path, sampling: sampling) }
        let mode = sampling.chat ? "chat template" : "plain text"
        let label = "gguf teacher (\(URL(fileURLWithPath: path).lastPathComponent), \(teacher.model.config.architecture), \(mode), "
            + "temperature \(sampling.temperature), max \(sampling.maxTokens) tokens)"
        return .host(TeacherObject(teacher: teacher, label: label, concurrency: 1))
    },
]
