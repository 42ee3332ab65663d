// The teacher that talks to an OpenAI-compatible server: llama.cpp's llama-server or
// llama_cpp.server, vLLM, Ollama, or a hosted API. Chat mode sends `CoTPrompt.chat` messages to
// `/v1/chat/completions`; completion mode sends `CoTPrompt.render` text to `/v1/completions`.
// One HTTP call per sample; the runner bounds how many run at once.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How to reach and sample an OpenAI-compatible server.
public struct OpenAITeacherConfiguration: Hashable, Sendable {
    /// Which endpoint, and so which form of the prompt, to use.
    public enum Endpoint: String, Hashable, Sendable, CaseIterable {
        /// `/v1/chat/completions` with messages from `CoTPrompt.chat`.
        case chat
        /// `/v1/completions` with text from `CoTPrompt.render`.
        case completions
    }

    /// The server's base URL, with or without a trailing `/v1` (`http://127.0.0.1:8080`).
    public var baseURL: String
    /// The model's name as the server knows it.
    public var model: String
    /// Chat or completions.
    public var endpoint: Endpoint
    /// Temperature, top_p, max_tokens, stop strings and seed.
    public var sampling: SamplingSettings
    /// The environment variable that holds the API key, or nil for servers without one. The key is
    /// read once, at `OpenAITeacher.init`, and is never printed or stored.
    public var apiKeyVariable: String?
    /// The timeout of one request, in seconds; at least 1 (FoundationNetworking on Linux rounds a
    /// shorter timeout down to none left, so every request would time out at once).
    public var timeout: Double
    /// Retries and backoff.
    public var retry: RetryPolicy

    /// Creates a configuration.
    /// - Parameters:
    ///   - baseURL: The server's base URL.
    ///   - model: The model's name.
    ///   - endpoint: Chat (default) or completions.
    ///   - sampling: The sampling settings.
    ///   - apiKeyVariable: The environment variable holding the API key, or nil.
    ///   - timeout: Seconds per request.
    ///   - retry: Retries and backoff.
    public init(baseURL: String, model: String, endpoint: Endpoint = .chat, sampling: SamplingSettings = SamplingSettings(),
                apiKeyVariable: String? = nil, timeout: Double = 120, retry: RetryPolicy = RetryPolicy()) {
        self.baseURL = baseURL
        self.model = model
        self.endpoint = endpoint
        self.sampling = sampling
        self.apiKeyVariable = apiKeyVariable
        self.timeout = max(1, timeout)
        self.retry = retry
    }

    /// The endpoint's full URL: the base URL, `/v1` unless it ends with it, then the endpoint's path.
    /// - Throws: `TeacherServerError.invalidBaseURL`.
    public func endpointURL() throws -> URL {
        var base = baseURL.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        guard let parsed = URL(string: base), let scheme = parsed.scheme?.lowercased(),
              scheme == "http" || scheme == "https", parsed.host != nil else {
            throw TeacherServerError.invalidBaseURL(baseURL)
        }
        if !base.hasSuffix("/v1") { base += "/v1" }
        let path = endpoint == .chat ? "/chat/completions" : "/completions"
        guard let url = URL(string: base + path) else { throw TeacherServerError.invalidBaseURL(baseURL) }
        return url
    }
}

/// A teacher served over HTTP by any OpenAI-compatible server.
///
/// Its identity is the endpoint kind, the model name and the sampling settings; the base URL,
/// timeout, retries and key are left out, so moving from a local server to a cluster that serves
/// the same model under the same name reuses the store.
public struct OpenAITeacher: Teacher, CustomStringConvertible {
    /// The configuration (which holds the key's variable name, never the key).
    public let configuration: OpenAITeacherConfiguration
    private let url: URL
    private let client: RetryingClient

    /// Creates a teacher, reading the API key from the named environment variable.
    /// - Parameters:
    ///   - configuration: Server, model, endpoint, sampling and retries.
    ///   - environment: Where to read the key from (the process environment unless told).
    /// - Throws: `TeacherServerError.invalidBaseURL`, or `.missingAPIKey` when the variable is named
    ///   but unset or empty.
    public init(configuration: OpenAITeacherConfiguration,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var key: Secret?
        if let variable = configuration.apiKeyVariable {
            guard let value = environment[variable], !value.isEmpty else {
                throw TeacherServerError.missingAPIKey(variable: variable)
            }
            key = Secret(value)
        }
        self.configuration = configuration
        self.url = try configuration.endpointURL()
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForRequest = configuration.timeout
        sessionConfiguration.timeoutIntervalForResource = configuration.timeout
        sessionConfiguration.httpMaximumConnectionsPerHost = 64
        sessionConfiguration.urlCache = nil
        self.client = RetryingClient(session: URLSession(configuration: sessionConfiguration, delegate: CredentialGuard(), delegateQueue: nil),
                                     policy: configuration.retry, timeout: configuration.timeout, apiKey: key)
    }

    public var description: String {
        let key = configuration.apiKeyVariable.map { ", key from $\($0)" } ?? ""
        return "OpenAITeacher(\(configuration.endpoint.rawValue) \(configuration.model) at \(url.absoluteString)\(key))"
    }

    public var identity: TeacherIdentity {
        TeacherIdentity(kind: "openai-\(configuration.endpoint.rawValue)", model: configuration.model,
                        settings: TeacherIdentity.canonicalJSON(configuration.sampling))
    }

    /// Nil: a server teacher answers in the prompt's format.
    public var answerFormat: AnswerFormat? { nil }

    /// In chat mode the messages as canonical JSON; in completion mode the rendered text.
    /// Without a prompt the example's input is asked zero-shot.
    public func promptText(for example: Example, prompt: CoTPrompt?) -> String {
        switch configuration.endpoint {
        case .chat:
            let messages = Self.messages(for: example, prompt: prompt).map { ["role": $0.role.rawValue, "content": $0.content] }
            return TeacherIdentity.canonicalJSON(messages)
        case .completions:
            return prompt?.render(example) ?? example.input
        }
    }

    /// One HTTP call (with retries) for one sample; the sample's seed is the base seed plus its index.
    /// - Throws: `TeacherServerError`, or `CancellationError` when the task is cancelled.
    public func generate(for example: Example, prompt: CoTPrompt?, sample: Int) async throws -> String {
        let body = try requestBody(for: example, prompt: prompt, sample: sample)
        let stream = SHA256.hash(promptText(for: example, prompt: prompt) + "#\(sample)").bytes
            .prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let object = try await client.post(url, body: body, stream: stream)
        return try Self.text(of: object, endpoint: configuration.endpoint, url: url.absoluteString)
    }

    /// The JSON body of one request (sorted keys), as sent.
    /// - Parameters:
    ///   - example: The example asked about.
    ///   - prompt: The few-shot prompt, or nil for zero-shot.
    ///   - sample: The 0-based sample index.
    public func requestBody(for example: Example, prompt: CoTPrompt?, sample: Int) throws -> Data {
        let sampling = configuration.sampling
        var body: [String: Any] = ["model": configuration.model, "stream": false]
        switch configuration.endpoint {
        case .chat:
            body["messages"] = Self.messages(for: example, prompt: prompt).map { ["role": $0.role.rawValue, "content": $0.content] }
        case .completions:
            body["prompt"] = prompt?.render(example) ?? example.input
        }
        if let temperature = sampling.temperature { body["temperature"] = temperature }
        if let topP = sampling.topP { body["top_p"] = topP }
        if let maxTokens = sampling.maxTokens { body["max_tokens"] = maxTokens }
        if !sampling.stop.isEmpty { body["stop"] = sampling.stop }
        // JSON numbers beyond 2^53 lose precision in many servers; keep seeds in Int range.
        if let seed = sampling.seed(forSample: sample) { body["seed"] = Int(truncatingIfNeeded: seed & 0x7FFF_FFFF) }
        return try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
    }

    static func messages(for example: Example, prompt: CoTPrompt?) -> [ChatMessage] {
        prompt?.chat(example) ?? [ChatMessage(role: .user, content: example.input)]
    }

    /// The generated text of an answer: `choices[0].message.content` or `choices[0].text`.
    static func text(of object: [String: Any], endpoint: OpenAITeacherConfiguration.Endpoint, url: String) throws -> String {
        guard let choices = object["choices"] as? [Any], let first = choices.first as? [String: Any] else {
            throw TeacherServerError.badResponse(url: url, reason: "no choices in the answer")
        }
        switch endpoint {
        case .chat:
            guard let message = first["message"] as? [String: Any], let content = message["content"] as? String else {
                throw TeacherServerError.badResponse(url: url, reason: "choices[0].message.content is missing")
            }
            return content
        case .completions:
            guard let text = first["text"] as? String else {
                throw TeacherServerError.badResponse(url: url, reason: "choices[0].text is missing")
            }
            return text
        }
    }
}
