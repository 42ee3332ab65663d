// `stepwise explain`: asks a teacher (an OpenAI-compatible server, the released outputs, or the
// synthetic task's program) for rationales on a split, through the rationale store, and prints
// `hits=H misses=M failures=F accuracy=0.xxxx` as its last line. Re-running resumes from the store.
import ArgumentParser
import Distill
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Collect teacher rationales for a split into the rationale store (resumable).",
        discussion: """
            Every teacher call is stored in FILE (SQLite) as it completes; a second run asks the teacher \
            only for what is missing. Ctrl-C stops between calls. The few-shot prompt of the openai \
            teacher is drawn (--shots, --prompt-seed) from the released teacher's train rationales that \
            agree with the gold label, or from gold rationales when the task has them.
            """)

    enum TeacherKind: String, ExpressibleByArgument, CaseIterable { case openai, program, replay }
    enum EndpointKind: String, ExpressibleByArgument, CaseIterable { case chat, completions }

    @Option(help: "The task: svamp, cqa, anli1, esnli or synthetic.") var task: String
    @Option(help: "The task's data folder (not needed for synthetic).") var data: String?
    @Option(help: "The split to explain.") var split = "test"
    @Option(help: "The teacher: openai, program or replay.") var teacher: TeacherKind
    @Option(help: "The server's base URL (openai).") var baseURL: String?
    @Option(help: "The model's name on the server (openai).") var model: String?
    @Option(help: "The rationale store, an SQLite file.") var store: String
    @Option(help: "Explain only the first N examples.") var limit: Int?
    @Option(help: "Samples per example (self-consistency vote).") var samples = 1
    @Option(help: "Calls in flight at once.") var concurrency = 4
    @Option(help: "The environment variable holding the API key (never printed).") var apiKeyEnv: String?
    @Option(help: "chat (/v1/chat/completions) or completions (/v1/completions).") var endpoint = EndpointKind.chat
    @Option(help: "Few-shot exemplars in the prompt.") var shots = 4
    @Option(help: "The seed that picks the exemplars.") var promptSeed: UInt64 = 0
    @Option(help: "Sampling temperature (0 is greedy).") var temperature: Double?
    @Option(help: "Nucleus sampling mass.") var topP: Double?
    @Option(help: "The most tokens per answer.") var maxTokens = 256
    @Option(help: "A stop string (repeatable).") var stop: [String] = []
    @Option(help: "The base sampling seed; sample i uses seed+i.") var seed: UInt64?
    @Option(help: "Seconds per request.") var timeout = 120.0
    @Option(help: "Retries per request on 5xx, 429 and network errors.") var retries = 4
    @Option(help: "The program teacher's error rate.") var errorRate = 0.0
    @Flag(help: "Do not retry calls that failed in an earlier run.") var noRetryFailed = false
    @Flag(help: "Print progress to standard error.") var progress = false

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if teacher == .openai && (baseURL == nil || model == nil) {
            throw ValidationError("--teacher openai needs --base-url and --model")
        }
        if task.lowercased() == "synthetic" && teacher == .replay {
            throw ValidationError("the synthetic task has no released outputs; use --teacher program or openai")
        }
        if task.lowercased() != "synthetic" && data == nil { throw ValidationError("--data is required for \(task)") }
        if teacher == .program && task.lowercased() != "synthetic" {
            throw ValidationError("--teacher program solves only --task synthetic")
        }
    }

    func run() throws {
        let (examples, teacher, prompt, kind) = try setUp()
        if self.teacher == .openai, let baseURL { try Self.checkReachable(baseURL, timeout: min(timeout, 10)) }
        let rationaleStore = try RationaleStore(path: store)
        let explainer = Explainer(teacher: teacher, prompt: prompt, store: rationaleStore, samples: samples,
                                  concurrency: concurrency, retryFailed: !noRetryFailed)
        let (flag, interrupt) = Interrupts.cancellationFlag(message: "explain: stopping; completed calls are stored (Ctrl-C again to quit now)")
        defer { interrupt.cancel() }
        let showProgress = progress
        let outcome = Self.blocking {
            try await explainer.run(examples, cancel: flag) { step in
                if showProgress { FileHandle.standardError.write(Data("explain: \(step)\n".utf8)) }
            }
        }
        switch outcome {
        case .failure(let error):
            if case ExplainError.cancelled(let stats, _, _) = error {
                print("\(stats) accuracy=nan")
            }
            throw error
        case .success(let result):
            let failed = result.examples.filter { $0.samples.isEmpty }
            for example in failed.prefix(3) {
                FileHandle.standardError.write(Data("explain: failed \(example.example.id): \(example.failures.values.first ?? "")\n".utf8))
            }
            if failed.count > 3 { FileHandle.standardError.write(Data("explain: … and \(failed.count - 3) more failed\n".utf8)) }
            let unparseable = result.outputs.filter { $0.outcome.failure != nil }.count
            print("examples=\(examples.count) calls=\(examples.count * samples) unparseable=\(unparseable)")
            print("\(result.stats) accuracy=\(String(format: "%.4f", result.accuracy(kind: kind)))")
            // A run in which no call succeeded measured nothing: say so and fail, so that a script
            // or CI does not read accuracy=0 as a result.
            if !result.examples.isEmpty && failed.count == result.examples.count {
                let first = failed.first?.failures.values.first ?? "no answer"
                throw CommandFailure("every teacher call failed (\(failed.count) of \(result.examples.count) examples); the first error: \(first)")
            }
        }
    }

    /// The examples, the teacher, its prompt, and how labels compare.
    private func setUp() throws -> ([Example], any Teacher, CoTPrompt?, LabelKind) {
        if task.lowercased() == "synthetic" {
            let synthetic = SyntheticTask()
            let count = limit ?? 100
            let examples = synthetic.examples(count: count, seed: 1, split: split)
            let program = try ProgramTeacher(errorRate: errorRate, seed: 0)
            if teacher == .program { return (examples, program, nil, .equation) }
            let pool = try program.explain(synthetic.examples(count: max(32, shots * 4), seed: 2, split: "train"))
            let prompt = try CoTPrompt.fromTeacher(pool, shots: shots, kind: .equation, format: .equation, seed: promptSeed)
            return (examples, try openAITeacher(), prompt, .equation)
        }
        let benchmark = try BenchmarkTask.named(task)
        let directory = ScoreCommand.taskDirectory(data ?? ".", task: benchmark)
        var examples = try benchmark.loadSplit(split, from: directory)
        if let limit { examples = Array(examples.prefix(limit)) }
        let outputs = URL(fileURLWithPath: directory).appendingPathComponent("llm").path
        let replay = ReplayTeacher(task: benchmark, outputs: outputs)
        if teacher == .replay { return (examples, replay, nil, benchmark.labelKind) }
        return (examples, try openAITeacher(), try fewShotPrompt(benchmark, directory: directory, replay: replay),
                benchmark.labelKind)
    }

    /// Exemplars from the released teacher's agreeing train rationales, else from gold rationales.
    private func fewShotPrompt(_ benchmark: BenchmarkTask, directory: String, replay: ReplayTeacher) throws -> CoTPrompt {
        let train = try benchmark.loadSplit("train", from: directory)
        if let released = try? replay.explain(Array(train.prefix(500))) {
            return try CoTPrompt.fromTeacher(released, shots: shots, kind: benchmark.labelKind,
                                             format: benchmark.answerFormat, seed: promptSeed)
        }
        return try CoTPrompt.sampled(from: train, shots: shots, format: benchmark.answerFormat, seed: promptSeed)
    }

    private func openAITeacher() throws -> OpenAITeacher {
        let sampling = SamplingSettings(temperature: temperature, topP: topP, maxTokens: maxTokens, stop: stop, seed: seed)
        let configuration = OpenAITeacherConfiguration(
            baseURL: baseURL ?? "", model: model ?? "",
            endpoint: endpoint == .chat ? .chat : .completions, sampling: sampling, apiKeyVariable: apiKeyEnv,
            timeout: timeout, retry: RetryPolicy(maxRetries: retries, seed: seed ?? 0))
        return try OpenAITeacher(configuration: configuration)
    }

    /// Fails at once, before any call, when nothing answers at the server's address (refused,
    /// unknown host, no answer): otherwise every example would retry with backoff and the run
    /// would take minutes to say the same thing. Any HTTP answer, even an error, counts as there.
    private static func checkReachable(_ baseURL: String, timeout: Double) throws {
        var base = baseURL.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base.hasSuffix("/v1") ? base + "/models" : base + "/v1/models") else { return }
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = "GET"
        let outcome = blocking { try await URLSession(configuration: .ephemeral).data(for: request) }
        guard case .failure(let error) = outcome, let urlError = error as? URLError else { return }
        switch urlError.code {
        case .cannotConnectToHost, .cannotFindHost, .timedOut, .networkConnectionLost, .dnsLookupFailed, .notConnectedToInternet:
            throw CommandFailure("""
                nothing answers at \(base) (\(urlError.localizedDescription)); start an OpenAI-compatible server first, \
                for example `.venv/bin/python -m llama_cpp.server --model models/SmolLM2-135M-Instruct.Q4_1.gguf --port 8080` \
                (llama-cpp-python, installed by `make test`), then pass --base-url http://127.0.0.1:8080
                """)
        default:
            return
        }
    }

    /// Runs async work from this synchronous command and waits for it.
    private static func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) -> Result<T, Error> {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return box.result ?? .failure(CancellationError())
    }
}

/// Carries a result from the detached task to the waiting thread; the semaphore orders the accesses.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
