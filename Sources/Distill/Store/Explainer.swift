// The explain runner: asks a teacher for `samples` answers per example, at most `concurrency` at
// a time, through the rationale store. Calls already stored are hits; only missing (or failed)
// calls reach the teacher, and each is stored as it completes. Progress goes to a callback and a
// cancellation flag is checked between calls, so an interrupted run resumes where it stopped.
import Foundation
import Tensor

/// Where a run stands, reported after every completed call.
public struct ExplainProgress: Hashable, Sendable, CustomStringConvertible {
    /// Calls settled (answered from the store, or completed or failed in this run).
    public var done: Int
    /// Calls in the run: distinct (example, sample) keys.
    public var total: Int
    /// Calls answered from the store so far.
    public var hits: Int
    /// Calls sent to the teacher so far.
    public var misses: Int
    /// Calls without an output so far.
    public var failures: Int

    public var description: String { "\(done)/\(total) hits=\(hits) misses=\(misses) failures=\(failures)" }
}

/// What can stop a run.
public enum ExplainError: Error, Equatable, CustomStringConvertible {
    /// The run was interrupted; every call completed before is stored.
    case cancelled(StoreStats, done: Int, total: Int)
    /// Neither the teacher nor a prompt says how to parse outputs.
    case noAnswerFormat(teacher: String)
    /// A count option is out of range.
    case invalidOption(name: String, value: Int)

    public var description: String {
        switch self {
        case .cancelled(let stats, let done, let total):
            return "interrupted after \(done) of \(total) calls (\(stats)); completed calls are stored, run again to resume"
        case .noAnswerFormat(let teacher):
            return "teacher \(teacher) needs a prompt to know the answer format; pass one"
        case .invalidOption(let name, let value):
            return "\(name) must be at least 1, not \(value)"
        }
    }
}

extension ExplainError: LocalizedError {
    public var errorDescription: String? { description }
}

/// Runs a teacher over examples through a rationale store.
public struct Explainer: Sendable {
    /// The teacher.
    public var teacher: any Teacher
    /// The few-shot prompt (its format parses the outputs of server teachers).
    public var prompt: CoTPrompt?
    /// The store, or nil to keep nothing.
    public var store: RationaleStore?
    /// Samples per example (the self-consistency vote's size).
    public var samples: Int
    /// The most calls in flight at once.
    public var concurrency: Int
    /// Whether calls that failed in an earlier run are tried again (else they count as failures).
    public var retryFailed: Bool

    /// Creates a runner.
    /// - Parameters:
    ///   - teacher: The teacher.
    ///   - prompt: The few-shot prompt, or nil.
    ///   - store: The store, or nil.
    ///   - samples: Samples per example, at least 1.
    ///   - concurrency: Calls in flight at once, at least 1.
    ///   - retryFailed: Whether to retry calls stored as failed.
    public init(teacher: any Teacher, prompt: CoTPrompt?, store: RationaleStore?, samples: Int = 1,
                concurrency: Int = 4, retryFailed: Bool = true) {
        self.teacher = teacher
        self.prompt = prompt
        self.store = store
        self.samples = samples
        self.concurrency = concurrency
        self.retryFailed = retryFailed
    }

    /// One call to make or look up.
    private struct Call: Sendable {
        var key: String
        var example: Example
        var sample: Int
        var promptText: String
    }

    private enum Outcome: Sendable {
        case finished(StoredCall)
        case abandoned
        case interrupted
        case watcherDone
    }

    /// Answers every example `samples` times, asking the teacher only for calls not in the store.
    /// - Parameters:
    ///   - examples: The examples, in the order results come back.
    ///   - cancel: A flag checked between calls; when set, calls in flight are abandoned and the run
    ///     throws `ExplainError.cancelled`.
    ///   - progress: Called after the lookup and after every call, on the runner's task.
    /// - Throws: `ExplainError`, `StoreError` when the store cannot be read or written.
    public func run(_ examples: [Example], cancel: CancellationFlag? = nil,
                    progress: (@Sendable (ExplainProgress) -> Void)? = nil) async throws -> ExplainResult {
        guard samples >= 1 else { throw ExplainError.invalidOption(name: "samples", value: samples) }
        guard concurrency >= 1 else { throw ExplainError.invalidOption(name: "concurrency", value: concurrency) }
        guard let format = teacher.answerFormat ?? prompt?.format else {
            throw ExplainError.noAnswerFormat(teacher: teacher.identity.description)
        }
        let identity = teacher.identity
        var calls: [Call] = []
        var keysByExample: [[(sample: Int, key: String)]] = []
        var seen = Set<String>()
        for example in examples {
            let text = teacher.promptText(for: example, prompt: prompt)
            var keys: [(Int, String)] = []
            for sample in 0..<samples {
                let key = CallKey.make(identity: identity, prompt: text, sample: sample)
                keys.append((sample, key))
                if seen.insert(key).inserted { calls.append(Call(key: key, example: example, sample: sample, promptText: text)) }
            }
            keysByExample.append(keys)
        }

        var rows = try store?.calls(keys: calls.map(\.key)) ?? [:]
        var stats = StoreStats()
        var pending: [Call] = []
        for call in calls {
            switch rows[call.key]?.status {
            case .ok?: stats.hits += 1
            case .failed? where !retryFailed: stats.failures += 1
            default: pending.append(call)
            }
        }
        var done = calls.count - pending.count
        let total = calls.count
        progress?(ExplainProgress(done: done, total: total, hits: stats.hits, misses: 0, failures: stats.failures))

        var interrupted = false
        let teacher = self.teacher, prompt = self.prompt, store = self.store
        try await withThrowingTaskGroup(of: Outcome.self) { group in
            if let cancel {
                group.addTask {
                    while !Task.isCancelled {
                        if cancel.isCancelled { return .interrupted }
                        try? await Task.sleep(nanoseconds: 20_000_000)
                    }
                    return .watcherDone
                }
            }
            var next = 0
            var running = 0
            func launchMore() {
                while running < concurrency, next < pending.count, !interrupted {
                    if cancel?.isCancelled == true || Task.isCancelled { interrupted = true; return }
                    let call = pending[next]
                    next += 1
                    running += 1
                    group.addTask { try await Self.perform(call, teacher: teacher, prompt: prompt, format: format,
                                                           identity: identity, store: store) }
                }
            }
            launchMore()
            while running > 0, let outcome = try await group.next() {
                switch outcome {
                case .finished(let row):
                    running -= 1
                    rows[row.key] = row
                    done += 1
                    stats.misses += 1
                    if row.status == .failed { stats.failures += 1 }
                    progress?(ExplainProgress(done: done, total: total, hits: stats.hits, misses: stats.misses,
                                              failures: stats.failures))
                case .abandoned:
                    running -= 1
                case .interrupted:
                    interrupted = true
                    group.cancelAll()
                case .watcherDone:
                    break
                }
                launchMore()
            }
            group.cancelAll()
        }
        // `done < total` also covers a cancelled parent task, whose abandoned calls settle nothing.
        if interrupted || cancel?.isCancelled == true || done < total {
            throw ExplainError.cancelled(stats, done: done, total: total)
        }

        let explained = examples.enumerated().map { index, example -> ExplainedExample in
            var outputs: [(Int, TeacherOutput)] = []
            var failures: [Int: String] = [:]
            for (sample, key) in keysByExample[index] {
                guard let row = rows[key] else { continue }
                if row.status == .ok, let raw = row.raw {
                    // Parsed again with today's parser, so a parser fix reaches stored rows.
                    outputs.append((sample, TeacherOutput(example: example, raw: raw, outcome: format.parse(raw))))
                } else {
                    failures[sample] = row.error ?? "failed"
                }
            }
            return ExplainedExample(example: example, samples: outputs, failures: failures, kind: format.labelKind)
        }
        return ExplainResult(examples: explained, stats: stats)
    }

    /// Makes one call and stores its row at once; a call abandoned by cancellation stores nothing.
    private static func perform(_ call: Call, teacher: any Teacher, prompt: CoTPrompt?, format: AnswerFormat,
                                identity: TeacherIdentity, store: RationaleStore?) async throws -> Outcome {
        let start = DispatchTime.now().uptimeNanoseconds
        var raw: String?
        var failure: String?
        do {
            raw = try await teacher.generate(for: call.example, prompt: prompt, sample: call.sample)
        } catch {
            if error is CancellationError || Task.isCancelled { return .abandoned }
            failure = String(describing: error)
        }
        let latency = Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000
        let outcome = raw.map { format.parse($0) }
        let row = StoredCall(key: call.key, teacher: identity.kind, model: identity.model, prompt: call.promptText,
                             settings: identity.settings, exampleID: call.example.id.description, sample: call.sample,
                             raw: raw, rationale: outcome?.answer?.rationale, label: outcome?.answer?.label,
                             parseFailure: outcome?.failure.map { "\($0)" }, latencyMS: latency,
                             createdAt: StoredCall.timestamp(), status: raw == nil ? .failed : .ok, error: failure)
        // Written synchronously: an async write may refuse to start once the task is cancelled,
        // and a completed call must never be lost.
        try store?.recordNow(row)
        return .finished(row)
    }
}
