// The OpenAI-compatible teacher against the in-process loopback server: request bodies, retries on
// 5xx, Retry-After on 429, errors that are not retried, bad JSON, timeouts, refused connections,
// and an API key that reaches the server but never an error, a description or the store.
import Distill
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Tensor
import XCTest

final class TeacherHTTPTests: XCTestCase {
    private let example = Example(id: ExampleID(split: "test", index: 3), input: "Sam has 3 apples and buys 4. How many?",
                                  label: "( 3.0 + 4.0 )")
    private let secret = "sk-test-9f8e7d6c5b4a"

    private func prompt() throws -> CoTPrompt {
        try CoTPrompt(format: .equation, exemplars: [
            Exemplar(input: "Ann has 2 pens and gets 5 more. How many?", rationale: "2 + 5 = 7.", label: "(2 + 5)"),
        ])
    }

    private func teacher(_ server: TestHTTPServer, endpoint: OpenAITeacherConfiguration.Endpoint = .chat,
                         retries: Int = 2, timeout: Double = 10, keyVariable: String? = nil,
                         sampling: SamplingSettings = SamplingSettings()) throws -> OpenAITeacher {
        let configuration = OpenAITeacherConfiguration(
            baseURL: server.baseURL, model: "tiny", endpoint: endpoint, sampling: sampling, apiKeyVariable: keyVariable,
            timeout: timeout, retry: RetryPolicy(maxRetries: retries, baseDelay: 0.01, maxDelay: 0.05, seed: 1))
        return try OpenAITeacher(configuration: configuration, environment: ["TEACHER_KEY": secret])
    }

    func testChatRequestCarriesMessagesSamplingAndPerSampleSeed() async throws {
        let server = try TestHTTPServer { _, _ in .completion("3 + 4 = 7. The answer is (3 + 4).") }
        defer { server.stop() }
        let sampling = SamplingSettings(temperature: 0.7, topP: 0.9, maxTokens: 64, stop: ["\n\nQ:"], seed: 100)
        let chat = try teacher(server, sampling: sampling)
        let prompt = try prompt()
        let raw = try await chat.generate(for: example, prompt: prompt, sample: 2)
        XCTAssertEqual(raw, "3 + 4 = 7. The answer is (3 + 4).")
        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.path, "/v1/chat/completions")
        let body = request.json
        XCTAssertEqual(body["model"] as? String, "tiny")
        XCTAssertEqual(body["temperature"] as? Double, 0.7)
        XCTAssertEqual(body["top_p"] as? Double, 0.9)
        XCTAssertEqual(body["max_tokens"] as? Int, 64)
        XCTAssertEqual(body["stop"] as? [String], ["\n\nQ:"])
        XCTAssertEqual(body["seed"] as? Int, 102, "sample i is asked with seed + i")
        let messages = try XCTUnwrap(body["messages"] as? [[String: String]])
        XCTAssertEqual(messages.map { $0["content"] ?? "" }, prompt.chat(example).map(\.content))
        XCTAssertEqual(messages.map { $0["role"] ?? "" }, prompt.chat(example).map(\.role.rawValue))
        XCTAssertNil(request.headers["authorization"])
    }

    func testCompletionRequestSendsTheRenderedPrompt() async throws {
        let server = try TestHTTPServer { _, _ in .completion(" 3 + 4 = 7. The answer is (3 + 4).\n\nQ: next", chat: false) }
        defer { server.stop() }
        let completion = try teacher(server, endpoint: .completions)
        let prompt = try prompt()
        let raw = try await completion.generate(for: example, prompt: prompt, sample: 0)
        XCTAssertTrue(raw.hasPrefix(" 3 + 4 = 7."))
        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.path, "/v1/completions")
        XCTAssertEqual(request.json["prompt"] as? String, prompt.render(example))
        XCTAssertEqual(completion.promptText(for: example, prompt: prompt), prompt.render(example))
    }

    func testBaseURLWithOrWithoutV1() throws {
        for base in ["http://127.0.0.1:9", "http://127.0.0.1:9/", "http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1/"] {
            let url = try OpenAITeacherConfiguration(baseURL: base, model: "m").endpointURL()
            XCTAssertEqual(url.absoluteString, "http://127.0.0.1:9/v1/chat/completions", base)
        }
        XCTAssertThrowsError(try OpenAITeacherConfiguration(baseURL: "127.0.0.1:9", model: "m").endpointURL(),
                             equals: TeacherServerError.invalidBaseURL("127.0.0.1:9"))
    }

    func testServerErrorsAreRetriedWithBackoffThenSucceed() async throws {
        let server = try TestHTTPServer { number, _ in
            number < 2 ? CannedResponse(status: 503, body: "{\"error\":{\"message\":\"loading model\"}}")
                       : .completion("ok. The answer is (1 + 1).")
        }
        defer { server.stop() }
        let raw = try await teacher(server, retries: 3).generate(for: example, prompt: nil, sample: 0)
        XCTAssertEqual(raw, "ok. The answer is (1 + 1).")
        XCTAssertEqual(server.requests.count, 3)
    }

    func testPersistentServerErrorNamesStatusMessageAndAttempts() async throws {
        let server = try TestHTTPServer { _, _ in CannedResponse(status: 500, body: "{\"error\":{\"message\":\"out of memory\"}}") }
        defer { server.stop() }
        do {
            _ = try await teacher(server, retries: 2).generate(for: example, prompt: nil, sample: 0)
            XCTFail("expected an error")
        } catch let error as TeacherServerError {
            XCTAssertEqual(error, .http(status: 500, message: "out of memory",
                                        url: "\(server.baseURL)/v1/chat/completions", attempts: 3))
            XCTAssertTrue(error.description.contains("HTTP 500"))
            XCTAssertTrue(error.description.contains("out of memory"))
        }
        XCTAssertEqual(server.requests.count, 3)
    }

    func testClientErrorsAreNotRetried() async throws {
        let server = try TestHTTPServer { _, _ in CannedResponse(status: 404, body: "{\"detail\":\"model 'tiny' not found\"}") }
        defer { server.stop() }
        do {
            _ = try await teacher(server, retries: 3).generate(for: example, prompt: nil, sample: 0)
            XCTFail("expected an error")
        } catch let error as TeacherServerError {
            guard case .http(404, let message, _, 1) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(message, "model 'tiny' not found")
            XCTAssertTrue(error.description.contains("check the base URL"))
        }
        XCTAssertEqual(server.requests.count, 1)
    }

    func testRateLimitHonoursRetryAfter() async throws {
        let server = try TestHTTPServer { number, _ in
            number == 0 ? CannedResponse(status: 429, body: "{\"error\":\"slow down\"}", headers: ["Retry-After": "1"])
                        : .completion("fine. The answer is (2 * 3).")
        }
        defer { server.stop() }
        let start = Date()
        let raw = try await teacher(server, retries: 2).generate(for: example, prompt: nil, sample: 0)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(raw, "fine. The answer is (2 * 3).")
        XCTAssertEqual(server.requests.count, 2)
        XCTAssertGreaterThanOrEqual(elapsed, 0.95, "the retry waited for Retry-After, not the 10 ms backoff")
    }

    func testRateLimitGivesUpWithATypedError() async throws {
        let server = try TestHTTPServer { _, _ in CannedResponse(status: 429, body: "{}", headers: ["Retry-After": "0"]) }
        defer { server.stop() }
        do {
            _ = try await teacher(server, retries: 2).generate(for: example, prompt: nil, sample: 0)
            XCTFail("expected an error")
        } catch let error as TeacherServerError {
            XCTAssertEqual(error, .rateLimited(url: "\(server.baseURL)/v1/chat/completions", attempts: 3))
        }
        XCTAssertEqual(server.requests.count, 3)
    }

    func testBadJSONIsATypedError() async throws {
        let server = try TestHTTPServer { number, _ in
            number == 0 ? CannedResponse(status: 200, body: "<html>proxy</html>") : CannedResponse(status: 200, body: "{\"choices\":[]}")
        }
        defer { server.stop() }
        let chat = try teacher(server)
        for expected in ["invalid JSON", "no choices"] {
            do {
                _ = try await chat.generate(for: example, prompt: nil, sample: 0)
                XCTFail("expected an error")
            } catch let error as TeacherServerError {
                guard case .badResponse(_, let reason) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains(expected), reason)
            }
        }
    }

    func testTimeoutAfterRetries() async throws {
        let server = try TestHTTPServer { _, _ in CannedResponse(status: 200, body: "{}", delay: 2.5) }
        defer { server.stop() }
        let start = Date()
        do {
            _ = try await teacher(server, retries: 1, timeout: 1).generate(for: example, prompt: nil, sample: 0)
            XCTFail("expected an error")
        } catch let error as TeacherServerError {
            guard case .timedOut(_, 2, 1) = error else { return XCTFail("\(error)") }
        }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 1.9, "each attempt waited its full second")
        XCTAssertEqual(server.requests.count, 2)
    }

    func testRefusedConnectionIsANetworkErrorAfterRetries() async throws {
        let server = try TestHTTPServer { _, _ in .completion("unused") }
        let chat = try teacher(server, retries: 1)
        server.stop()
        do {
            _ = try await chat.generate(for: example, prompt: nil, sample: 0)
            XCTFail("expected an error")
        } catch let error as TeacherServerError {
            guard case .network(_, _, 2) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.description.contains("is the server running"))
        }
    }

    func testSamplesAreSeparateSeededCallsAndVote() async throws {
        let server = try TestHTTPServer { _, request in
            let seed = request.json["seed"] as? Int ?? -1
            return .completion(seed == 11 ? "Hmm. The answer is (2 + 2)." : "Add. The answer is (1 + 1).")
        }
        defer { server.stop() }
        let folder = try TemporaryFolder()
        let store = try RationaleStore(path: folder.path + "/calls.sqlite")
        let chat = try teacher(server, sampling: SamplingSettings(temperature: 0.8, seed: 10))
        let result = try await Explainer(teacher: chat, prompt: try prompt(), store: store, samples: 3, concurrency: 3)
            .run([example])
        XCTAssertEqual(Set(server.requests.compactMap { $0.json["seed"] as? Int }), [10, 11, 12])
        XCTAssertEqual(result.examples.first?.samples.count, 3)
        XCTAssertEqual(result.examples.first?.vote.label, "(1 + 1)")
        XCTAssertEqual(result.examples.first?.vote.votes, 2)
        XCTAssertEqual(try store.allCalls().map(\.sample).sorted(), [0, 1, 2])
    }

    func testInterruptAbandonsTheCallInFlightWithinASecond() async throws {
        let server = try TestHTTPServer { _, _ in CannedResponse(status: 200, body: "{}", delay: 5) }
        defer { server.stop() }
        let folder = try TemporaryFolder()
        let store = try RationaleStore(path: folder.path + "/calls.sqlite")
        let flag = CancellationFlag()
        let start = Date()
        Task.detached {
            try? await Task.sleep(nanoseconds: 300_000_000)
            flag.cancel()
        }
        do {
            _ = try await Explainer(teacher: try teacher(server), prompt: try prompt(), store: store, concurrency: 1)
                .run([example], cancel: flag)
            XCTFail("expected a cancellation")
        } catch let error as ExplainError {
            guard case .cancelled(_, 0, 1) = error else { return XCTFail("\(error)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.5)
        XCTAssertEqual(try store.count(), 0, "an abandoned call is neither ok nor failed")
    }

    // MARK: - The API key

    func testAPIKeyIsSentButNeverShown() async throws {
        let secret = self.secret
        let server = try TestHTTPServer { _, request in
            // A careless server that echoes the header it rejects.
            CannedResponse(status: 401, body: "{\"error\":{\"message\":\"invalid key \(request.headers["authorization"] ?? "")\"}}")
        }
        defer { server.stop() }
        let chat = try teacher(server, keyVariable: "TEACHER_KEY")
        var thrown: Error?
        do {
            _ = try await chat.generate(for: example, prompt: nil, sample: 0)
        } catch {
            thrown = error
        }
        XCTAssertEqual(server.requests.first?.headers["authorization"], "Bearer \(secret)")
        let error = try XCTUnwrap(thrown)
        var dumped = ""
        dump(chat, to: &dumped)
        for text in ["\(error)", String(reflecting: error), error.localizedDescription, "\(chat)", String(reflecting: chat),
                     dumped, chat.identity.description, "\(chat.configuration)"] {
            XCTAssertFalse(text.contains(secret), "the key leaked into: \(text)")
        }
        XCTAssertTrue("\(error)".contains("<redacted>"), "\(error)")
        XCTAssertTrue("\(error)".contains("check the API key"))

        // Nor does it reach the store: the failed call's row holds the redacted message.
        let folder = try TemporaryFolder()
        let store = try RationaleStore(path: folder.path + "/calls.sqlite")
        let result = try await Explainer(teacher: chat, prompt: try prompt(), store: store, concurrency: 1).run([example])
        XCTAssertEqual(result.stats, StoreStats(hits: 0, misses: 1, failures: 1))
        let rows = try store.allCalls()
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows.first?.status, .failed)
        for row in rows {
            let text = [row.key, row.teacher, row.model, row.prompt, row.settings, row.raw ?? "", row.error ?? ""].joined()
            XCTAssertFalse(text.contains(secret))
        }
        let file = try Data(contentsOf: URL(fileURLWithPath: folder.path + "/calls.sqlite"))
            + ((try? Data(contentsOf: URL(fileURLWithPath: folder.path + "/calls.sqlite-wal"))) ?? Data())
        XCTAssertNil(file.range(of: Data(secret.utf8)), "the key is in the database file")
    }

    func testAKeyEchoedInAnAnswerIsRedactedBeforeItIsStoredOrShown() async throws {
        let server = try TestHTTPServer { _, request in
            // A server that echoes the request's headers into its completion.
            .completion("headers: authorization=\(request.headers["authorization"] ?? ""). 3 + 4 = 7. The answer is (3 + 4).")
        }
        defer { server.stop() }
        let chat = try teacher(server, keyVariable: "TEACHER_KEY")
        let raw = try await chat.generate(for: example, prompt: nil, sample: 0)
        XCTAssertEqual(server.requests.first?.headers["authorization"], "Bearer \(secret)")
        XCTAssertEqual(raw, "headers: authorization=Bearer <redacted>. 3 + 4 = 7. The answer is (3 + 4).")
        let folder = try TemporaryFolder()
        let store = try RationaleStore(path: folder.path + "/calls.sqlite")
        let result = try await Explainer(teacher: chat, prompt: try prompt(), store: store, concurrency: 1).run([example])
        XCTAssertEqual(result.stats.failures, 0)
        for row in try store.allCalls() {
            XCTAssertFalse((row.raw ?? "").contains(secret), row.raw ?? "")
            XCTAssertTrue((row.raw ?? "").contains("<redacted>"))
        }
        XCTAssertFalse(result.allSamples.map { "\($0)" }.joined().contains(secret))
        let file = try Data(contentsOf: URL(fileURLWithPath: folder.path + "/calls.sqlite"))
            + ((try? Data(contentsOf: URL(fileURLWithPath: folder.path + "/calls.sqlite-wal"))) ?? Data())
        XCTAssertNil(file.range(of: Data(secret.utf8)), "the key is in the database file")
    }

    func testACrossOriginRedirectLosesTheKeyAndASameOriginOneKeepsIt() async throws {
        let elsewhere = try TestHTTPServer { _, _ in .completion("3 + 4 = 7. The answer is (3 + 4).") }
        defer { elsewhere.stop() }
        let target = elsewhere.baseURL + "/v1/chat/completions"
        let server = try TestHTTPServer { _, _ in CannedResponse(status: 307, body: "", headers: ["Location": target]) }
        defer { server.stop() }
        let chat = try teacher(server, keyVariable: "TEACHER_KEY")
        _ = try? await chat.generate(for: example, prompt: nil, sample: 0)
        XCTAssertEqual(server.requests.first?.headers["authorization"], "Bearer \(secret)")
        XCTAssertEqual(elsewhere.requests.count, 1, "the redirect was followed")
        for request in elsewhere.requests {
            XCTAssertNil(request.headers["authorization"], "the key went to another origin")
        }
        // The guard's rule itself: same scheme, host and port keep credentials; another port does not.
        let original = URL(string: "http://127.0.0.1:8080/v1/chat/completions")
        var next = URLRequest(url: URL(string: "http://127.0.0.1:8080/v2")!)
        next.setValue("Bearer k", forHTTPHeaderField: "Authorization")
        XCTAssertEqual(CredentialGuard.redirected(next, from: original).value(forHTTPHeaderField: "Authorization"), "Bearer k")
        for other in ["http://127.0.0.1:8081/v2", "https://127.0.0.1:8080/v2", "http://localhost:8080/v2", "http://evil.example/v2"] {
            next.url = URL(string: other)
            XCTAssertNil(CredentialGuard.redirected(next, from: original).value(forHTTPHeaderField: "Authorization"), other)
        }
    }

    func testMissingKeyVariableNamesTheVariable() throws {
        let configuration = OpenAITeacherConfiguration(baseURL: "http://127.0.0.1:9", model: "m", apiKeyVariable: "NO_SUCH_KEY")
        XCTAssertThrowsError(try OpenAITeacher(configuration: configuration, environment: [:]),
                             equals: TeacherServerError.missingAPIKey(variable: "NO_SUCH_KEY"))
        XCTAssertEqual("\(Secret("abc-123"))", "<redacted>")
        XCTAssertEqual(String(reflecting: Secret("abc-123")), "<redacted>")
    }
}
