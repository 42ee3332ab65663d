// The HTTP side of server teachers: the typed errors a person can act on, the API key that never
// prints, and a POST with per-request timeouts, retries with seeded exponential backoff and
// jitter on 5xx and network errors, and rate-limit handling that honours `Retry-After` on 429.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An API key. It prints, dumps and reflects as `<redacted>`, so that no description, log line or
/// error message built from a value holding one can show it.
public struct Secret: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The key itself, for the Authorization header only.
    let value: String

    /// Wraps a key.
    /// - Parameters:
    ///   - value: The key.
    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// The text with every occurrence of the key replaced, for server messages that might echo it.
    /// - Parameters:
    ///   - text: Text from outside (a server's error body).
    func redacting(_ text: String) -> String {
        value.count < 4 ? text : text.replacingOccurrences(of: value, with: "<redacted>")
    }

    /// A decoded JSON value with the key redacted from every string in it, keys included, so a
    /// server that echoes the request's headers into its completion cannot put the key into the
    /// store or onto the screen.
    func redacting(json value: Any) -> Any {
        switch value {
        case let text as String:
            return redacting(text)
        case let array as [Any]:
            return array.map { redacting(json: $0) }
        case let object as [String: Any]:
            var out: [String: Any] = [:]
            for (key, item) in object { out[redacting(key)] = redacting(json: item) }
            return out
        default:
            return value
        }
    }
}

/// Follows a redirect only with the request's own credentials when it stays on the same origin
/// (scheme, host and port); a redirect to any other origin loses the `Authorization` header, as
/// curl and browsers do, so a key never reaches a server it was not meant for.
public final class CredentialGuard: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    /// Whether two URLs share scheme, host and port (the port defaulted by scheme).
    public static func sameOrigin(_ a: URL?, _ b: URL?) -> Bool {
        guard let a, let b else { return false }
        func port(_ url: URL) -> Int? { url.port ?? (url.scheme?.lowercased() == "https" ? 443 : url.scheme?.lowercased() == "http" ? 80 : nil) }
        return a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased() && port(a) == port(b)
    }

    /// The request to follow a redirect with: `next`, without credentials when it leaves `original`'s origin.
    public static func redirected(_ next: URLRequest, from original: URL?) -> URLRequest {
        guard !sameOrigin(original, next.url) else { return next }
        var stripped = next
        stripped.setValue(nil, forHTTPHeaderField: "Authorization")
        stripped.setValue(nil, forHTTPHeaderField: "Cookie")
        return stripped
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(Self.redirected(request, from: task.originalRequest?.url))
    }
}

/// What can go wrong talking to a teacher's server. Messages name the URL and what to do; they
/// never contain the API key.
public enum TeacherServerError: Error, Equatable, CustomStringConvertible {
    /// The server answered with an HTTP error that retrying does not fix (4xx other than 408/429),
    /// or a 5xx after the last retry; `message` is the server's own error text.
    case http(status: Int, message: String, url: String, attempts: Int)
    /// The answer was not the JSON the endpoint promises.
    case badResponse(url: String, reason: String)
    /// Every attempt timed out.
    case timedOut(url: String, attempts: Int, timeout: Double)
    /// The connection failed on every attempt (refused, reset, DNS).
    case network(url: String, reason: String, attempts: Int)
    /// The server kept answering 429 Too Many Requests.
    case rateLimited(url: String, attempts: Int)
    /// The environment variable that should hold the API key is unset or empty.
    case missingAPIKey(variable: String)
    /// The base URL does not parse as an http(s) URL.
    case invalidBaseURL(String)

    public var description: String {
        switch self {
        case .http(let status, let message, let url, let attempts):
            let hint = status == 401 || status == 403 ? " (check the API key's variable and its permissions)"
                : status == 404 ? " (check the base URL, the endpoint and the model name)" : ""
            return "\(url) answered HTTP \(status) after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(message)\(hint)"
        case .badResponse(let url, let reason):
            return "\(url) sent an answer that is not an OpenAI-style completion: \(reason)"
        case .timedOut(let url, let attempts, let timeout):
            return "\(url) did not answer within \(timeout) s, \(attempts) times; raise the timeout or lower max_tokens"
        case .network(let url, let reason, let attempts):
            return "cannot reach \(url) after \(attempts) attempts: \(reason); is the server running?"
        case .rateLimited(let url, let attempts):
            return "\(url) still answered 429 Too Many Requests after \(attempts) attempts; lower the concurrency"
        case .missingAPIKey(let variable):
            return "the environment variable \(variable) that should hold the API key is unset or empty"
        case .invalidBaseURL(let text):
            return "\"\(text)\" is not an http(s) base URL; use e.g. http://127.0.0.1:8080"
        }
    }
}

extension TeacherServerError: LocalizedError {
    public var errorDescription: String? { description }
}

/// When and how long to wait before trying a request again.
public struct RetryPolicy: Hashable, Sendable {
    /// Retries after the first attempt (so at most `maxRetries + 1` attempts).
    public var maxRetries: Int
    /// The first backoff, in seconds; attempt `n` waits about `baseDelay * 2^n`.
    public var baseDelay: Double
    /// The longest backoff, in seconds.
    public var maxDelay: Double
    /// The longest `Retry-After` honoured, in seconds; a longer one is cut to this.
    public var maxRetryAfter: Double
    /// The seed of the jitter; with the call's key it fixes every delay, so runs are reproducible.
    public var seed: UInt64

    /// Creates a policy.
    /// - Parameters:
    ///   - maxRetries: Retries after the first attempt.
    ///   - baseDelay: The first backoff in seconds.
    ///   - maxDelay: The cap on a backoff in seconds.
    ///   - maxRetryAfter: The cap on a server's `Retry-After` in seconds.
    ///   - seed: The jitter's seed.
    public init(maxRetries: Int = 4, baseDelay: Double = 0.5, maxDelay: Double = 30, maxRetryAfter: Double = 120,
                seed: UInt64 = 0) {
        self.maxRetries = max(0, maxRetries)
        self.baseDelay = max(0, baseDelay)
        self.maxDelay = max(0, maxDelay)
        self.maxRetryAfter = max(0, maxRetryAfter)
        self.seed = seed
    }

    /// The wait before retry number `attempt` (0 for the first retry): the server's `Retry-After`
    /// when it gave one, else "equal jitter" backoff, uniform in `[d/2, d]` for
    /// `d = min(maxDelay, baseDelay * 2^attempt)`, drawn from the seed, the stream and the attempt.
    /// - Parameters:
    ///   - attempt: The 0-based retry number.
    ///   - retryAfter: The server's `Retry-After` in seconds, if any.
    ///   - stream: Distinguishes requests (the call key's hash), so parallel calls do not retry in step.
    public func delay(attempt: Int, retryAfter: Double? = nil, stream: UInt64 = 0) -> Double {
        if let retryAfter { return min(max(0, retryAfter), maxRetryAfter) }
        let ceiling = min(maxDelay, baseDelay * pow(2, Double(min(attempt, 62))))
        var generator = SplitMix64(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(attempt))
        return ceiling / 2 + generator.unitDouble() * ceiling / 2
    }

    /// Parses a `Retry-After` header: delay seconds, or an HTTP date (RFC 9110).
    /// - Parameters:
    ///   - header: The header's value.
    ///   - now: The current time, for dates.
    public static func parseRetryAfter(_ header: String?, now: Date = Date()) -> Double? {
        guard let text = header?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Double(text), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}

/// POSTs JSON with retries. One client serves all calls of a teacher.
struct RetryingClient: Sendable {
    let session: URLSession
    let policy: RetryPolicy
    let timeout: Double
    let apiKey: Secret?

    /// POSTs a JSON body and returns the decoded JSON object of the first successful answer.
    /// - Parameters:
    ///   - url: The endpoint.
    ///   - body: The JSON body.
    ///   - stream: The call's jitter stream.
    /// - Throws: `TeacherServerError`, or `CancellationError` when the task is cancelled.
    func post(_ url: URL, body: Data, stream: UInt64) async throws -> [String: Any] {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let apiKey { request.setValue("Bearer \(apiKey.value)", forHTTPHeaderField: "Authorization") }
        let place = url.absoluteString
        var attempt = 0
        while true {
            try Task.checkCancellation()
            switch try await attemptOnce(request, url: place, attempt: attempt) {
            case .success(let object):
                return object
            case .retry(let failure, let retryAfter):
                guard attempt < policy.maxRetries else {
                    if case .http(429, _, _, _) = failure { throw TeacherServerError.rateLimited(url: place, attempts: attempt + 1) }
                    throw failure
                }
                let wait = policy.delay(attempt: attempt, retryAfter: retryAfter, stream: stream)
                try await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000))
                attempt += 1
            }
        }
    }

    private enum Attempt {
        case success([String: Any])
        case retry(TeacherServerError, retryAfter: Double?)
    }

    /// One attempt: the decoded answer, a failure worth retrying (5xx, 408, 429, timeouts, network),
    /// or a thrown error that retrying does not fix.
    private func attemptOnce(_ request: URLRequest, url place: String, attempt: Int) async throws -> Attempt {
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request, delegate: CredentialGuard())
        } catch let error as URLError {
            if error.code == .cancelled || Task.isCancelled { throw CancellationError() }
            if error.code == .timedOut {
                return .retry(.timedOut(url: place, attempts: attempt + 1, timeout: timeout), retryAfter: nil)
            }
            return .retry(.network(url: place, reason: sanitized(error.localizedDescription), attempts: attempt + 1),
                          retryAfter: nil)
        } catch {
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            return .retry(.network(url: place, reason: sanitized(error.localizedDescription), attempts: attempt + 1),
                          retryAfter: nil)
        }
        guard let http = response as? HTTPURLResponse else {
            throw TeacherServerError.badResponse(url: place, reason: "not an HTTP response")
        }
        if (200..<300).contains(http.statusCode) {
            let object = try decodeObject(data, url: place)
            return .success(apiKey.flatMap { $0.redacting(json: object) as? [String: Any] } ?? object)
        }
        let failure = TeacherServerError.http(status: http.statusCode, message: sanitized(Self.errorMessage(data)),
                                              url: place, attempts: attempt + 1)
        switch http.statusCode {
        case 429:
            return .retry(failure, retryAfter: RetryPolicy.parseRetryAfter(http.value(forHTTPHeaderField: "Retry-After")))
        case 408, 500...599:
            return .retry(failure, retryAfter: nil)
        default:
            throw failure
        }
    }

    private func decodeObject(_ data: Data, url: String) throws -> [String: Any] {
        guard let value = try? JSONSerialization.jsonObject(with: data, options: []) else {
            let start = String(decoding: data.prefix(200), as: UTF8.self)
            throw TeacherServerError.badResponse(url: url, reason: "invalid JSON: \(sanitized(start))")
        }
        guard let object = value as? [String: Any] else {
            throw TeacherServerError.badResponse(url: url, reason: "expected a JSON object")
        }
        return object
    }

    private func sanitized(_ text: String) -> String { apiKey?.redacting(text) ?? text }

    /// The server's error text: `error.message`, `error` as a string, `detail`, or the body's start.
    static func errorMessage(_ data: Data) -> String {
        if let object = (try? JSONSerialization.jsonObject(with: data, options: [])) as? [String: Any] {
            if let error = object["error"] as? [String: Any], let message = error["message"] as? String { return message }
            if let error = object["error"] as? String { return error }
            if let detail = object["detail"] as? String { return detail }
            if let message = object["message"] as? String { return message }
        }
        let text = String(decoding: data.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "(empty body)" : text
    }
}
