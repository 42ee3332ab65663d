// The rationale store: one SQLite file (WAL) next to the notebook, one row per teacher call,
// keyed by `CallKey`. A row is written the moment its call completes, so a killed run loses
// nothing that finished, and the next run asks the teacher only for what is missing.
import Foundation
import GRDB

/// One teacher call as stored: what was asked, what came back, and how it parsed.
public struct StoredCall: Hashable, Sendable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "teacher_calls"

    /// Whether a call returned an output.
    public enum Status: String, Hashable, Sendable, Codable {
        case ok, failed
    }

    /// The call's key (`CallKey.make`): 64 hex digits.
    public var key: String
    /// The teacher's kind ("openai-chat", "replay", ...).
    public var teacher: String
    /// The model's name.
    public var model: String
    /// Exactly what the teacher saw (`Teacher.promptText`).
    public var prompt: String
    /// The teacher's output-changing settings as canonical JSON.
    public var settings: String
    /// The example's id, `split#index`.
    public var exampleID: String
    /// The 0-based sample index.
    public var sample: Int
    /// The raw output; nil when the call failed.
    public var raw: String?
    /// The parsed rationale, when the output parsed.
    public var rationale: String?
    /// The parsed label, when the output parsed.
    public var label: String?
    /// Why the output did not parse, when it did not.
    public var parseFailure: String?
    /// How long the call took, in milliseconds (retries included).
    public var latencyMS: Double
    /// When the row was written: ISO 8601 UTC with milliseconds.
    public var createdAt: String
    /// `ok`, or `failed` with `error`.
    public var status: Status
    /// The error of a failed call (never holding an API key).
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case key, teacher, model, prompt, settings, exampleID = "example_id", sample, raw, rationale, label
        case parseFailure = "parse_failure", latencyMS = "latency_ms", createdAt = "created_at", status, error
    }

    /// Creates a row.
    public init(key: String, teacher: String, model: String, prompt: String, settings: String, exampleID: String,
                sample: Int, raw: String?, rationale: String?, label: String?, parseFailure: String?,
                latencyMS: Double, createdAt: String, status: Status, error: String?) {
        self.key = key
        self.teacher = teacher
        self.model = model
        self.prompt = prompt
        self.settings = settings
        self.exampleID = exampleID
        self.sample = sample
        self.raw = raw
        self.rationale = rationale
        self.label = label
        self.parseFailure = parseFailure
        self.latencyMS = latencyMS
        self.createdAt = createdAt
        self.status = status
        self.error = error
    }

    /// The current time in the `created_at` format.
    public static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

/// What a run found in the store and what it had to ask for.
public struct StoreStats: Hashable, Sendable, CustomStringConvertible {
    /// Calls answered from the store (rows with status ok).
    public var hits = 0
    /// Calls the teacher was asked for in this run (missing rows, and failed rows being retried).
    public var misses = 0
    /// Calls without an output at the end of the run: failed in this run, or failed before and not retried.
    public var failures = 0

    /// Creates stats.
    public init(hits: Int = 0, misses: Int = 0, failures: Int = 0) {
        self.hits = hits
        self.misses = misses
        self.failures = failures
    }

    public var description: String { "hits=\(hits) misses=\(misses) failures=\(failures)" }
}

/// What can go wrong opening or using the store. Each message names the file.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The file exists but is not an SQLite database.
    case notADatabase(path: String)
    /// SQLite reports the file as damaged.
    case corrupt(path: String, reason: String)
    /// The file holds a `teacher_calls` table without the columns this version needs.
    case incompatibleSchema(path: String, missing: [String])
    /// The file cannot be opened or written (permissions, a folder, a full disk).
    case cannotOpen(path: String, reason: String)

    public var description: String {
        switch self {
        case .notADatabase(let path):
            return "\(path) is not an SQLite database; point the store at a new file or at a rationale store"
        case .corrupt(let path, let reason):
            return "the rationale store \(path) is damaged (\(reason)); move it aside and re-run to rebuild it"
        case .incompatibleSchema(let path, let missing):
            return "\(path) has a teacher_calls table without the columns \(missing.joined(separator: ", ")); "
                + "use another file"
        case .cannotOpen(let path, let reason):
            return "cannot open the rationale store \(path): \(reason)"
        }
    }
}

extension StoreError: LocalizedError {
    public var errorDescription: String? { description }
}

/// The SQLite file of teacher calls. Safe to use from many tasks at once; writes are serialised.
public final class RationaleStore: Sendable {
    /// The file's path.
    public let path: String
    private let database: DatabaseQueue

    /// Opens (or creates) a store, in WAL mode, and checks its schema.
    /// - Parameters:
    ///   - path: The SQLite file, e.g. next to the notebook.
    /// - Throws: `StoreError` naming the file when it is not SQLite, is damaged or cannot be opened.
    public init(path: String) throws {
        self.path = path
        try Self.checkHeader(path)
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(10)
        // WAL with synchronous=NORMAL keeps every committed row through a crash of the process;
        // only a power loss can drop the last commits.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
            try database.read { db in
                let columns = Set(try db.columns(in: StoredCall.databaseTableName).map(\.name))
                let missing = StoredCall.CodingKeys.allNames.filter { !columns.contains($0) }
                if !missing.isEmpty { throw StoreError.incompatibleSchema(path: path, missing: missing) }
            }
        } catch {
            let mapped = Self.storeError(error, path: path)
            throw mapped is StoreError ? mapped : StoreError.cannotOpen(path: path, reason: "\(error)")
        }
    }

    /// The journal mode SQLite reports ("wal").
    public func journalMode() throws -> String {
        try guarded { try database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" } }
    }

    /// The rows with these keys, by key (missing keys are absent).
    /// - Parameters:
    ///   - keys: Call keys.
    public func calls(keys: [String]) throws -> [String: StoredCall] {
        var found: [String: StoredCall] = [:]
        try guarded {
            try database.read { db in
                // SQLite limits the variables of one statement; 500 stays well under every build's limit.
                var start = 0
                while start < keys.count {
                    let chunk = Array(keys[start..<min(keys.count, start + 500)])
                    for call in try StoredCall.filter(chunk.contains(Column("key"))).fetchAll(db) { found[call.key] = call }
                    start += 500
                }
            }
        }
        return found
    }

    /// The row with this key, if any.
    /// - Parameters:
    ///   - key: A call key.
    public func call(key: String) throws -> StoredCall? {
        try calls(keys: [key])[key]
    }

    /// Writes a row at once, replacing a row with the same key (a failed call being retried).
    /// - Parameters:
    ///   - call: The row.
    public func record(_ call: StoredCall) async throws {
        do {
            try await database.write { db in try call.save(db) }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// Writes a row at once, synchronously.
    /// - Parameters:
    ///   - call: The row.
    public func recordNow(_ call: StoredCall) throws {
        try guarded { try database.write { db in try call.save(db) } }
    }

    /// Every row, oldest first.
    public func allCalls() throws -> [StoredCall] {
        try guarded { try database.read { db in try StoredCall.order(Column("created_at"), Column("key")).fetchAll(db) } }
    }

    /// The number of rows, optionally only those with a status.
    /// - Parameters:
    ///   - status: Count only rows with this status.
    public func count(status: StoredCall.Status? = nil) throws -> Int {
        try guarded {
            try database.read { db in
                guard let status else { return try StoredCall.fetchCount(db) }
                return try StoredCall.filter(Column("status") == status.rawValue).fetchCount(db)
            }
        }
    }

    // MARK: - Opening and errors

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 teacher_calls") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS teacher_calls (
                    key TEXT PRIMARY KEY NOT NULL,
                    teacher TEXT NOT NULL,
                    model TEXT NOT NULL,
                    prompt TEXT NOT NULL,
                    settings TEXT NOT NULL,
                    example_id TEXT NOT NULL,
                    sample INTEGER NOT NULL,
                    raw TEXT,
                    rationale TEXT,
                    label TEXT,
                    parse_failure TEXT,
                    latency_ms REAL NOT NULL,
                    created_at TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
                    error TEXT
                );
                CREATE INDEX IF NOT EXISTS teacher_calls_example ON teacher_calls (example_id, sample);
                """)
        }
        return migrator
    }

    /// Rejects an existing, non-empty file that does not start with SQLite's magic string, before
    /// SQLite gets to guess.
    private static func checkHeader(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        if isDirectory.boolValue { throw StoreError.cannotOpen(path: path, reason: "it is a folder") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError.cannotOpen(path: path, reason: "the file cannot be read")
        }
        defer { try? handle.close() }
        let header = handle.readData(ofLength: 16)
        if header.isEmpty { return }
        if header != Data("SQLite format 3\u{0}".utf8) { throw StoreError.notADatabase(path: path) }
    }

    private func guarded<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// A decoding error in a sentence: the column and what was wrong.
    private static func describe(_ error: DecodingError) -> String {
        func column(_ path: [CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .dataCorrupted(let context): return "column \(column(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, _): return "column \(key.stringValue) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "column \(column(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func storeError(_ error: Error, path: String) -> Error {
        if let error = error as? StoreError { return error }
        // A damaged file can hold rows whose columns no longer decode (a truncated page).
        if let decoding = error as? DecodingError {
            return StoreError.corrupt(path: path, reason: "a row cannot be read (\(Self.describe(decoding)))")
        }
        if String(describing: type(of: error)).contains("DecodingError") {
            return StoreError.corrupt(path: path, reason: "a row cannot be read (\(error))")
        }
        guard let error = error as? DatabaseError else { return error }
        switch error.resultCode {
        case .SQLITE_NOTADB: return StoreError.notADatabase(path: path)
        case .SQLITE_CORRUPT: return StoreError.corrupt(path: path, reason: error.message ?? "malformed")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_FULL, .SQLITE_IOERR:
            return StoreError.cannotOpen(path: path, reason: error.message ?? "\(error.resultCode)")
        default:
            return error
        }
    }
}

extension StoredCall.CodingKeys: CaseIterable {
    static var allNames: [String] { allCases.map(\.rawValue) }
}
