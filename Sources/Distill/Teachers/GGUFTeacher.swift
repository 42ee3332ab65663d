// The in-engine teacher: a Llama-family GGUF model (SmolLM2-135M-Instruct by default in the
// classroom) run by `LlamaModel` and `LlamaGenerator`, with the model's own chat template. One
// model answers one call at a time on a serial queue, off Swift's cooperative pool, and a
// cancelled call stops at its next token.
import Foundation
import Models
import Tensor

/// The sampling settings of the in-engine teacher; all of them change outputs, so all are in its identity.
public struct GGUFSampling: Hashable, Sendable, Codable {
    /// Softmax temperature; 0 is greedy.
    public var temperature: Double
    /// Nucleus sampling mass (1 keeps every token).
    public var topP: Double
    /// Keep only the `topK` most likely tokens (0 keeps all).
    public var topK: Int
    /// The most tokens to generate per answer.
    public var maxTokens: Int
    /// Extra strings at which generation stops (the task's next-example marker is always added).
    public var stop: [String]
    /// The base seed; sample `i` draws with seed `seed + i`.
    public var seed: UInt64
    /// Whether the prompt goes through the model's chat template (`CoTPrompt.chat`) or is sent as
    /// plain text (`CoTPrompt.render`).
    public var chat: Bool

    /// Creates sampling settings.
    /// - Parameters:
    ///   - temperature: Softmax temperature, at least 0 (0 is greedy).
    ///   - topP: Nucleus mass in (0, 1].
    ///   - topK: Top-k cut, at least 0.
    ///   - maxTokens: Tokens per answer, at least 1.
    ///   - stop: Extra stop strings.
    ///   - seed: The base seed.
    ///   - chat: Chat template (true) or plain completion (false).
    /// - Throws: `GGUFTeacherError.invalidSetting` naming the bad setting.
    public init(temperature: Double = 0, topP: Double = 1, topK: Int = 0, maxTokens: Int = 192, stop: [String] = [],
                seed: UInt64 = 0, chat: Bool = true) throws {
        guard temperature >= 0, temperature.isFinite else { throw GGUFTeacherError.invalidSetting("temperature", "\(temperature)", "use 0 or more") }
        guard topP > 0, topP <= 1 else { throw GGUFTeacherError.invalidSetting("topP", "\(topP)", "use a number in (0, 1]") }
        guard topK >= 0 else { throw GGUFTeacherError.invalidSetting("topK", "\(topK)", "use 0 (all tokens) or more") }
        guard maxTokens >= 1 else { throw GGUFTeacherError.invalidSetting("maxTokens", "\(maxTokens)", "use 1 or more") }
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.maxTokens = maxTokens
        self.stop = stop
        self.seed = seed
        self.chat = chat
    }
}

/// What can go wrong setting up the in-engine teacher.
public enum GGUFTeacherError: Error, Equatable, CustomStringConvertible {
    /// No file at the path; `nearby` lists `.gguf` files in its folder.
    case missingFile(String, nearby: [String])
    /// The file could not be opened as a Llama-family model.
    case unreadableModel(String, reason: String)
    /// A sampling setting is out of range.
    case invalidSetting(String, String, String)

    public var description: String {
        switch self {
        case .missingFile(let path, let nearby):
            // Absolute, so it says where it looked: a relative path resolves against the working
            // folder, which in the kernel is the notebook's folder.
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            let hint = nearby.isEmpty
                ? "no .gguf files are there; `make lab` or scripts/fetch-models.sh puts SmolLM2-135M-Instruct.Q4_1.gguf into the repository's models/ folder"
                : "GGUF files there: \(nearby.joined(separator: ", "))"
            return "no model file at \(absolute) (\(hint))"
        case .unreadableModel(let path, let reason):
            return "cannot load \(path) as a Llama-family GGUF model: \(reason)"
        case .invalidSetting(let name, let value, let advice):
            return "\(name) = \(value) is out of range; \(advice)"
        }
    }
}

extension GGUFTeacherError: LocalizedError {
    public var errorDescription: String? { description }
}

/// A teacher that runs a GGUF model in this process.
///
/// Calls are serialised (one model, one KV cache at a time); `Explainer` may still ask with any
/// concurrency, and a call that is cancelled while it waits or generates stores nothing.
public final class GGUFTeacher: Teacher, @unchecked Sendable {
    /// The model file.
    public let path: String
    /// The sampling settings.
    public let sampling: GGUFSampling
    /// The loaded model.
    public let model: LlamaModel
    private let generator: LlamaGenerator
    private let queue = DispatchQueue(label: "stepwise.gguf-teacher")

    /// Loads the model at `path`.
    /// - Parameters:
    ///   - path: A `.gguf` file of a Llama-family model (llama, mistral, qwen2).
    ///   - sampling: Temperature, top-p/top-k, token limit, stop strings, seed and chat mode.
    /// - Throws: `GGUFTeacherError.missingFile` (listing the GGUF files beside it) or `.unreadableModel`.
    public init(path: String, sampling: GGUFSampling) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw GGUFTeacherError.missingFile(path, nearby: GGUFTeacher.ggufFiles(near: path))
        }
        do {
            model = try LlamaModel(path: path)
        } catch {
            throw GGUFTeacherError.unreadableModel(path, reason: String(describing: error))
        }
        self.path = path
        self.sampling = sampling
        generator = LlamaGenerator(model: model)
    }

    /// The `.gguf` files in the folder of `path` (or in `path` itself when it is a folder), sorted.
    static func ggufFiles(near path: String) -> [String] {
        var isDirectory: ObjCBool = false
        let folder = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? path : URL(fileURLWithPath: path).deletingLastPathComponent().path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.lowercased().hasSuffix(".gguf") }.sorted().map {
            URL(fileURLWithPath: folder).appendingPathComponent($0).path
        }
    }

    /// "gguf", the file's name and the sampling settings (not its folder, so a moved file still hits).
    public var identity: TeacherIdentity {
        TeacherIdentity(kind: "gguf", model: URL(fileURLWithPath: path).lastPathComponent,
                        settings: TeacherIdentity.canonicalJSON(sampling))
    }

    /// Nil: the teacher answers in the prompt's format.
    public var answerFormat: AnswerFormat? { nil }

    /// Exactly the text the model reads: the chat template applied to `CoTPrompt.chat`, or the
    /// rendered few-shot text. Without a prompt the input is asked zero-shot.
    public func promptText(for example: Example, prompt: CoTPrompt?) -> String {
        if sampling.chat {
            let messages: [ChatMessage] = prompt?.chat(example) ?? [ChatMessage(role: .user, content: example.input)]
            return generator.template.render(messages.map { Models.ChatMessage(role: $0.role.rawValue, content: $0.content) })
        }
        return prompt?.render(example) ?? example.input
    }

    /// The stop strings of a call: the settings' own plus the format's next-example marker.
    func stops(for prompt: CoTPrompt?) -> [String] {
        var stops = sampling.stop
        if let marker = prompt?.format.nextExampleMarker, !stops.contains(marker) { stops.append(marker) }
        return stops
    }

    /// Generates one sample; waits its turn on the model, and stops at the next token when cancelled.
    public func generate(for example: Example, prompt: CoTPrompt?, sample: Int) async throws -> String {
        let text = promptText(for: example, prompt: prompt)
        let parameters = GenerationParameters(
            maxTokens: sampling.maxTokens, temperature: Float(sampling.temperature), topK: sampling.topK,
            topP: Float(sampling.topP), seed: sampling.seed &+ UInt64(max(0, sample)), stop: stops(for: prompt))
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String, Error>) in
                queue.async { [self] in
                    if flag.isCancelled { return continuation.resume(throwing: CancellationError()) }
                    do {
                        continuation.resume(returning: try self.complete(text, parameters: parameters, cancel: flag))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            flag.cancel()
        }
    }

    /// Runs one generation on the calling thread (the teacher's queue, or a test's).
    /// - Parameters:
    ///   - text: The prompt text, special tokens written as text.
    ///   - parameters: Sampling and limits.
    ///   - cancel: Checked at every token.
    /// - Throws: `CancellationError` when cancelled, `LlamaError` for a prompt the model cannot take.
    public func complete(_ text: String, parameters: GenerationParameters, cancel: CancellationFlag? = nil) throws -> String {
        model.threads = QuantMatmul.defaultThreads
        let result = try generator.generate(prompt: text, parameters: parameters, cancel: cancel)
        if result.finishReason == .cancelled { throw CancellationError() }
        return result.text
    }
}
