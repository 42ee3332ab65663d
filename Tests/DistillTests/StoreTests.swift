// The rationale store and the explain runner: SHA-256 and key stability, rows in and out, WAL,
// clear errors for files that are not stores, resume with hits/misses/failures accounting, failed
// calls retried (or not), cancellation that keeps completed calls, and bounded concurrency.
import Distill
import Foundation
import Tensor
import XCTest

/// A teacher that counts its calls and records how many run at once.
final class CountingTeacher: Teacher, @unchecked Sendable {
    private let lock = NSLock()
    private var callCount = 0
    private var inFlight = 0
    private var peak = 0
    let delay: Double

    init(delay: Double = 0) { self.delay = delay }

    var calls: Int { lock.lock(); defer { lock.unlock() }; return callCount }
    var peakInFlight: Int { lock.lock(); defer { lock.unlock() }; return peak }

    var identity: TeacherIdentity { TeacherIdentity(kind: "counting", model: "test", settings: "{}") }
    var answerFormat: AnswerFormat? { .equation }
    func promptText(for example: Example, prompt: CoTPrompt?) -> String { example.input }

    func generate(for example: Example, prompt: CoTPrompt?, sample: Int) async throws -> String {
        enter()
        if delay > 0 { try? await Task.sleep(nanoseconds: UInt64(delay * 1e9)) }
        leave()
        // Odd samples disagree with even ones, so votes have something to do.
        return sample % 2 == 0 ? "Add. The answer is (\(example.id.index) + 1)." : "Guess. The answer is (\(example.id.index) + 2)."
    }

    private func enter() {
        lock.lock()
        callCount += 1
        inFlight += 1
        peak = max(peak, inFlight)
        lock.unlock()
    }

    private func leave() { lock.lock(); inFlight -= 1; lock.unlock() }
}

final class StoreTests: XCTestCase {
    private func examples(_ count: Int, from start: Int = 0) -> [Example] {
        (start..<(start + count)).map {
            Example(id: ExampleID(split: "test", index: $0), input: "problem \($0)", label: "(\($0) + 1)")
        }
    }

    private func store(_ folder: TemporaryFolder, _ name: String = "calls.sqlite") throws -> RationaleStore {
        try RationaleStore(path: folder.path + "/" + name)
    }

    // MARK: - Keys

    func testSHA256MatchesTheStandardsVectors() {
        XCTAssertEqual(SHA256.hash("").hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hash("abc").hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex,
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hash(String(repeating: "a", count: 1_000_000)).hex,
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        XCTAssertEqual(SHA256.hash(String(repeating: "x", count: 55)).bytes.count, 32, "padding edge: 55 bytes")
        XCTAssertNotEqual(SHA256.hash(String(repeating: "x", count: 56)), SHA256.hash(String(repeating: "x", count: 57)))
    }

    func testCallKeyIsStableAndCoversEveryField() {
        let identity = TeacherIdentity(kind: "openai-chat", model: "smollm", settings: "{\"temperature\":0}")
        let key = CallKey.make(identity: identity, prompt: "Q: 1 + 1?\nA:", sample: 0)
        // Fixed forever: a changed key orphans every stored row. Bump "stepwise-call-v1" to change the recipe.
        XCTAssertEqual(key, SHA256.hash("stepwise-call-v1\n11:openai-chat\n6:smollm\n17:{\"temperature\":0}\n12:Q: 1 + 1?\nA:\n1:0\n").hex)
        XCTAssertEqual(key.count, 64)
        var variants = Set<String>([key])
        variants.insert(CallKey.make(identity: TeacherIdentity(kind: "openai-completions", model: "smollm",
                                                               settings: identity.settings), prompt: "Q: 1 + 1?\nA:", sample: 0))
        variants.insert(CallKey.make(identity: TeacherIdentity(kind: "openai-chat", model: "smollm2",
                                                               settings: identity.settings), prompt: "Q: 1 + 1?\nA:", sample: 0))
        variants.insert(CallKey.make(identity: TeacherIdentity(kind: "openai-chat", model: "smollm",
                                                               settings: "{\"temperature\":1}"), prompt: "Q: 1 + 1?\nA:", sample: 0))
        variants.insert(CallKey.make(identity: identity, prompt: "Q: 1 + 2?\nA:", sample: 0))
        variants.insert(CallKey.make(identity: identity, prompt: "Q: 1 + 1?\nA:", sample: 1))
        XCTAssertEqual(variants.count, 6)
        // Length prefixes keep field boundaries: moving text between fields changes the key.
        XCTAssertNotEqual(CallKey.make(identity: TeacherIdentity(kind: "a", model: "bc", settings: ""), prompt: "", sample: 0),
                          CallKey.make(identity: TeacherIdentity(kind: "ab", model: "c", settings: ""), prompt: "", sample: 0))
    }

    // MARK: - The file

    func testRowsRoundTripAndTheFileIsWAL() throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        XCTAssertEqual(try store.journalMode(), "wal")
        let row = StoredCall(key: "k1", teacher: "openai-chat", model: "m", prompt: "p", settings: "{}", exampleID: "test#0",
                             sample: 0, raw: "r. The answer is (1 + 1).", rationale: "r.", label: "(1 + 1)", parseFailure: nil,
                             latencyMS: 12.5, createdAt: StoredCall.timestamp(), status: .ok, error: nil)
        try store.recordNow(row)
        XCTAssertEqual(try store.call(key: "k1"), row)
        XCTAssertNil(try store.call(key: "k2"))
        XCTAssertEqual(try store.count(), 1)
        XCTAssertEqual(try store.count(status: .failed), 0)
        // A second connection (another process, a reopened notebook) sees the row.
        XCTAssertEqual(try RationaleStore(path: store.path).allCalls(), [row])
    }

    func testANonSQLiteFileGetsAnErrorNamingIt() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("notes.sqlite", "these are my notes, not a database\n")
        XCTAssertThrowsError(try RationaleStore(path: path), equals: StoreError.notADatabase(path: path))
        XCTAssertTrue(StoreError.notADatabase(path: path).description.contains(path))
    }

    func testADamagedSQLiteFileGetsAnErrorNamingIt() throws {
        let folder = try TemporaryFolder()
        var bytes = Array("SQLite format 3\u{0}".utf8)
        bytes += [UInt8](repeating: 0xA5, count: 4096 - bytes.count)
        let path = folder.path + "/damaged.sqlite"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try RationaleStore(path: path)) { error in
            XCTAssertTrue(error is StoreError, "\(error)")
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
    }

    func testAStoreTruncatedAtAnyByteGivesAStoreErrorOrItsRows() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/calls.sqlite"
        var rows: [StoredCall] = []
        do {
            let store = try RationaleStore(path: path)
            for index in 0..<40 {
                let row = StoredCall(key: "k\(index)", teacher: "openai-chat", model: "m", prompt: String(repeating: "p", count: 300),
                                     settings: "{}", exampleID: "test#\(index)", sample: 0, raw: "r. The answer is (1 + 1).",
                                     rationale: "r.", label: "(1 + 1)", parseFailure: nil, latencyMS: 1, createdAt: StoredCall.timestamp(),
                                     status: index % 3 == 0 ? .failed : .ok, error: index % 3 == 0 ? "boom" : nil)
                try store.recordNow(row)
                rows.append(row)
            }
        }  // closing the last connection checkpoints the WAL into the file
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var outcomes = [String: Int]()
        for cut in Set([1, 2, 100, 4096, original.count / 2, original.count - 4096, original.count - 100]) where cut < original.count {
            try original.prefix(original.count - cut).write(to: URL(fileURLWithPath: path))
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            do {
                let store = try RationaleStore(path: path)
                let read = try store.allCalls()
                XCTAssertTrue(Set(read.map(\.key)).isSubset(of: Set(rows.map(\.key))))
                outcomes["read", default: 0] += 1
            } catch let error as StoreError {
                XCTAssertTrue(error.description.contains(path), error.description)
                outcomes["error", default: 0] += 1
            } catch {
                XCTFail("cut \(cut) bytes: not a StoreError: \(error)")
            }
        }
        XCTAssertGreaterThan(outcomes["error", default: 0], 0, "\(outcomes)")
    }

    func testAFolderIsNotAStore() throws {
        let folder = try TemporaryFolder()
        XCTAssertThrowsError(try RationaleStore(path: folder.path),
                             equals: StoreError.cannotOpen(path: folder.path, reason: "it is a folder"))
    }

    // MARK: - Resume and accounting

    func testASecondRunIsAllHitsAndNewExamplesAreMisses() async throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        let teacher = CountingTeacher()
        let first = try await Explainer(teacher: teacher, prompt: nil, store: store, samples: 2, concurrency: 3).run(examples(5))
        XCTAssertEqual(first.stats, StoreStats(hits: 0, misses: 10, failures: 0))
        XCTAssertEqual(teacher.calls, 10)
        XCTAssertEqual(try store.count(), 10)

        let again = try await Explainer(teacher: teacher, prompt: nil, store: try self.store(folder), samples: 2).run(examples(5))
        XCTAssertEqual(again.stats, StoreStats(hits: 10, misses: 0, failures: 0))
        XCTAssertEqual(teacher.calls, 10, "nothing was asked twice")
        XCTAssertEqual(again.allSamples, first.allSamples)

        let more = try await Explainer(teacher: teacher, prompt: nil, store: store, samples: 2).run(examples(7))
        XCTAssertEqual(more.stats, StoreStats(hits: 10, misses: 4, failures: 0))
        let rows = try store.allCalls()
        XCTAssertEqual(Set(rows.map(\.key)).count, 14)
        XCTAssertEqual(Set(rows.map { "\($0.exampleID)/\($0.sample)" }).count, 14)
    }

    func testResultsCarrySamplesVotesAndAccuracy() async throws {
        let result = try await Explainer(teacher: CountingTeacher(), prompt: nil, store: nil, samples: 3, concurrency: 2)
            .run(examples(4))
        XCTAssertEqual(result.examples.count, 4)
        for explained in result.examples {
            XCTAssertEqual(explained.samples.count, 3)
            XCTAssertEqual(explained.vote.votes, 2, "samples 0 and 2 agree")
            XCTAssertEqual(explained.output?.label, "(\(explained.example.id.index) + 1)")
        }
        XCTAssertEqual(result.outputs.count, 4)
        XCTAssertEqual(result.accuracy(kind: .equation), 1)
    }

    func testFailedCallsAreStoredAndRetriedNextRun() async throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        let teacher = FailingTeacher(failingIndex: 2)
        let first = try await Explainer(teacher: teacher, prompt: nil, store: store, samples: 2).run(examples(4))
        XCTAssertEqual(first.stats, StoreStats(hits: 0, misses: 8, failures: 2))
        XCTAssertEqual(try store.count(status: .failed), 2)
        let failed = try store.allCalls().filter { $0.status == .failed }
        XCTAssertTrue(failed.allSatisfy { $0.exampleID == "test#2" && $0.raw == nil && ($0.error ?? "").contains("HTTP 500") })
        XCTAssertTrue(first.examples[2].samples.isEmpty)
        XCTAssertEqual(first.examples[2].failures.count, 2)
        XCTAssertEqual(first.outputs.count, 3, "an example whose calls all failed has no output")

        let skipping = try await Explainer(teacher: teacher, prompt: nil, store: store, samples: 2, retryFailed: false)
            .run(examples(4))
        XCTAssertEqual(skipping.stats, StoreStats(hits: 6, misses: 0, failures: 2))

        teacher.failingIndex = nil
        let retried = try await Explainer(teacher: teacher, prompt: nil, store: store, samples: 2).run(examples(4))
        XCTAssertEqual(retried.stats, StoreStats(hits: 6, misses: 2, failures: 0))
        XCTAssertEqual(try store.count(status: .ok), 8)
        XCTAssertEqual(try store.count(), 8, "a retried call replaces its failed row")
    }

    func testCancellationKeepsCompletedCallsAndTheNextRunResumes() async throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        let teacher = CountingTeacher(delay: 0.01)
        let flag = CancellationFlag()
        do {
            _ = try await Explainer(teacher: teacher, prompt: nil, store: store, samples: 1, concurrency: 1)
                .run(examples(20), cancel: flag) { progress in if progress.done >= 5 { flag.cancel() } }
            XCTFail("expected a cancellation")
        } catch let error as ExplainError {
            guard case .cancelled(let stats, let done, 20) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(stats.misses, done)
            XCTAssertTrue("\(error)".contains("run again to resume"))
        }
        let stored = try store.count()
        XCTAssertGreaterThanOrEqual(stored, 5)
        XCTAssertLessThan(stored, 20)
        let before = teacher.calls
        let resumed = try await Explainer(teacher: teacher, prompt: nil, store: store).run(examples(20))
        XCTAssertEqual(resumed.stats.hits, stored)
        XCTAssertEqual(resumed.stats.misses, 20 - stored)
        XCTAssertEqual(teacher.calls - before, 20 - stored)
    }

    func testConcurrencyIsBoundedAndProgressReachesTheTotal() async throws {
        let teacher = CountingTeacher(delay: 0.02)
        let seen = ProgressLog()
        _ = try await Explainer(teacher: teacher, prompt: nil, store: nil, samples: 2, concurrency: 3)
            .run(examples(8)) { seen.append($0) }
        XCTAssertLessThanOrEqual(teacher.peakInFlight, 3)
        XCTAssertGreaterThanOrEqual(teacher.peakInFlight, 2, "calls did overlap")
        XCTAssertEqual(seen.last?.done, 16)
        XCTAssertEqual(seen.last?.total, 16)
        XCTAssertEqual(seen.last?.misses, 16)
    }

    func testOptionsAreChecked() async throws {
        for (samples, concurrency, name) in [(0, 1, "samples"), (1, 0, "concurrency")] {
            do {
                _ = try await Explainer(teacher: CountingTeacher(), prompt: nil, store: nil, samples: samples,
                                        concurrency: concurrency).run(examples(1))
                XCTFail("expected an error")
            } catch let error as ExplainError {
                XCTAssertEqual(error, .invalidOption(name: name, value: 0))
            }
        }
    }

    func testReplayThroughTheStoreReproducesTheReleasedAccuracy() async throws {
        let folder = try TestData.folder("svamp")
        let temporary = try TemporaryFolder()
        let examples = try BenchmarkTask.svamp.loadSplit("test", from: folder)
        let replay = ReplayTeacher(task: .svamp, outputs: folder + "/llm")
        let result = try await Explainer(teacher: replay, prompt: nil, store: try store(temporary), concurrency: 8).run(examples)
        XCTAssertEqual(result.stats, StoreStats(hits: 0, misses: 200, failures: 0))
        XCTAssertEqual(result.accuracy(kind: .equation), 0.74, accuracy: 1e-9)
        XCTAssertEqual(result.outputs, try replay.explain(examples))
    }
}

/// Fails every call for one example index until told otherwise.
final class FailingTeacher: Teacher, @unchecked Sendable {
    private let lock = NSLock()
    private var failing: Int?

    init(failingIndex: Int?) { failing = failingIndex }

    var failingIndex: Int? {
        get { lock.lock(); defer { lock.unlock() }; return failing }
        set { lock.lock(); failing = newValue; lock.unlock() }
    }

    var identity: TeacherIdentity { TeacherIdentity(kind: "failing", model: "test", settings: "{}") }
    var answerFormat: AnswerFormat? { .equation }
    func promptText(for example: Example, prompt: CoTPrompt?) -> String { example.input }

    func generate(for example: Example, prompt: CoTPrompt?, sample: Int) async throws -> String {
        if example.id.index == failingIndex {
            throw TeacherServerError.http(status: 500, message: "boom", url: "http://127.0.0.1:1/v1", attempts: 3)
        }
        return "Add. The answer is (\(example.id.index) + 1)."
    }
}

/// Collects progress reports from the runner.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [ExplainProgress] = []
    func append(_ progress: ExplainProgress) { lock.lock(); entries.append(progress); lock.unlock() }
    var last: ExplainProgress? { lock.lock(); defer { lock.unlock() }; return entries.last }
}
