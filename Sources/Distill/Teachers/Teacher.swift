// What every teacher shares: an identity for cache keys (kind, model, settings that change the
// output) and one async call that answers one sample of one example. The sampling settings of
// server teachers and the replay and program teachers' conformances live here too.
import Foundation

/// Who answered: the part of a cache key that names the teacher.
///
/// Two teachers with equal identities must give equal outputs for equal prompts (up to the
/// randomness of sampling), so everything that changes outputs belongs in `settings`, and nothing
/// that does not (timeouts, retries, API keys, the server's address) does.
public struct TeacherIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The kind of teacher: "openai-chat", "openai-completions", "replay", "program".
    public var kind: String
    /// The model's name as the server knows it, or what stands for it (a folder, a seed).
    public var model: String
    /// The output-changing settings as canonical JSON (sorted keys, no white space).
    public var settings: String

    /// Creates an identity.
    /// - Parameters:
    ///   - kind: The kind of teacher.
    ///   - model: The model's name.
    ///   - settings: Canonical JSON of the settings that change outputs.
    public init(kind: String, model: String, settings: String) {
        self.kind = kind
        self.model = model
        self.settings = settings
    }

    public var description: String { "\(kind) \(model) \(settings)" }

    /// Canonical JSON for any encodable settings: sorted keys, so that equal settings give equal text.
    /// - Parameters:
    ///   - value: The settings.
    public static func canonicalJSON<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text
    }
}

/// A teacher: given an example (and the few-shot prompt, for teachers that read one), it writes
/// a raw chain-of-thought continuation, one sample per call.
///
/// The runner (`Explainer`) parses outputs, votes over samples and caches every call in a
/// `RationaleStore`; a teacher only answers.
public protocol Teacher: Sendable {
    /// The identity that cache keys are made from.
    var identity: TeacherIdentity { get }

    /// The answer format of the outputs, when the teacher fixes it (replay, program); nil when it
    /// follows the prompt's format (server teachers).
    var answerFormat: AnswerFormat? { get }

    /// The text that the key of a call is computed from and that the store shows: exactly what the
    /// teacher sees for this example.
    /// - Parameters:
    ///   - example: The example asked about.
    ///   - prompt: The few-shot prompt, when the teacher reads one.
    func promptText(for example: Example, prompt: CoTPrompt?) -> String

    /// Answers one sample of one example with the raw continuation.
    /// - Parameters:
    ///   - example: The example asked about.
    ///   - prompt: The few-shot prompt, when the teacher reads one.
    ///   - sample: The 0-based sample index; a sampling teacher varies its seed by it, a deterministic
    ///     one ignores it.
    /// - Throws: A typed error of the teacher (`TeacherServerError`, `TeacherError`, `SyntheticError`).
    func generate(for example: Example, prompt: CoTPrompt?, sample: Int) async throws -> String
}

/// The settings that shape a server teacher's sampling. Nil fields are left to the server.
public struct SamplingSettings: Hashable, Sendable, Codable {
    /// Softmax temperature; 0 is greedy.
    public var temperature: Double?
    /// Nucleus sampling mass.
    public var topP: Double?
    /// The most tokens to generate.
    public var maxTokens: Int?
    /// Strings at which generation stops.
    public var stop: [String]
    /// The base seed; sample `i` is asked with seed `seed + i`, so samples differ and each is reproducible.
    public var seed: UInt64?

    /// Creates sampling settings.
    /// - Parameters:
    ///   - temperature: Softmax temperature (0 greedy), or nil for the server's default.
    ///   - topP: Nucleus mass, or nil.
    ///   - maxTokens: The most tokens to generate, or nil.
    ///   - stop: Stop strings.
    ///   - seed: The base seed, or nil for none.
    public init(temperature: Double? = nil, topP: Double? = nil, maxTokens: Int? = 256, stop: [String] = [],
                seed: UInt64? = nil) {
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.stop = stop
        self.seed = seed
    }

    /// The seed for one sample, or nil when no base seed is set.
    /// - Parameters:
    ///   - sample: The 0-based sample index.
    public func seed(forSample sample: Int) -> UInt64? {
        seed.map { $0 &+ UInt64(max(0, sample)) }
    }

    enum CodingKeys: String, CodingKey {
        case temperature, topP = "top_p", maxTokens = "max_tokens", stop, seed
    }
}

// MARK: - The offline teachers

/// Serialises the replay teacher's lazily filled cache, which is not thread-safe on its own.
private let replayCacheLock = NSLock()

extension ReplayTeacher: @unchecked Sendable {}

extension ReplayTeacher: Teacher {
    public var identity: TeacherIdentity {
        // Named by the task's folder ("released-svamp"), not the full path, so a store copied to
        // another machine, or opened through another relative path, still hits.
        let folder = URL(fileURLWithPath: directory).standardizedFileURL
        let task = folder.lastPathComponent == "llm" ? folder.deletingLastPathComponent().lastPathComponent
                                                     : folder.lastPathComponent
        return TeacherIdentity(kind: "replay", model: "released-\(task)", settings: "{\"blockSize\":\(blockSize)}")
    }

    public var answerFormat: AnswerFormat? { format }

    /// The example's source position and input: a replayed output depends on nothing else.
    public func promptText(for example: Example, prompt: CoTPrompt?) -> String {
        "\(example.id)\n\(example.input)"
    }

    /// The released output at the example's source position (the same for every sample).
    public func generate(for example: Example, prompt: CoTPrompt?, sample: Int) async throws -> String {
        try replayedOutput(for: example)
    }

    private func replayedOutput(for example: Example) throws -> String {
        replayCacheLock.lock()
        defer { replayCacheLock.unlock() }
        let outputs = try rawOutputs(split: example.id.split)
        guard outputs.indices.contains(example.id.index) else {
            throw TeacherError.missingOutput(example.id, available: outputs.count)
        }
        return outputs[example.id.index]
    }
}

extension ProgramTeacher: Teacher {
    public var identity: TeacherIdentity {
        TeacherIdentity(kind: "program", model: "synthetic-program",
                        settings: "{\"errorRate\":\(errorRate),\"seed\":\(seed),\"showResults\":\(showResults)}")
    }

    public var answerFormat: AnswerFormat? { .equation }

    /// The example's source position and input; the program teacher's mistakes depend on the id.
    public func promptText(for example: Example, prompt: CoTPrompt?) -> String {
        "\(example.id)\n\(example.input)"
    }

    /// The program's rationale (the same for every sample: the teacher's mistakes are seeded by the id).
    public func generate(for example: Example, prompt: CoTPrompt?, sample: Int) async throws -> String {
        guard let answer = try answer([example]).first else { throw SyntheticError.notSynthetic(example.id) }
        return answer.output.raw
    }
}
