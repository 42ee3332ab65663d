// Sweeps: methods × data fractions × seeds, the grid behind the paper's data-size figures.
//
// A sweep knows nothing of students or trainers: each cell is handed to a closure that trains
// and evaluates, and returns a record. The sweep orders the cells, journals every finished
// record to a JSON Lines file the moment it completes (so an interrupted or killed sweep
// resumes where it stopped, and never re-runs a finished cell), and aggregates the records into
// mean ± standard deviation per method and fraction, exported as CSV and JSON.
import Foundation
import Tensor

/// One point of a sweep's grid.
public struct SweepCell: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The method's name ("finetune", "distill", "step-by-step").
    public var method: String
    /// The share of the training split used, in (0, 1].
    public var fraction: Double
    /// The seed of the subsample and of training.
    public var seed: UInt64

    /// Creates a cell.
    public init(method: String, fraction: Double, seed: UInt64) {
        self.method = method
        self.fraction = fraction
        self.seed = seed
    }

    public var description: String { "\(method) fraction=\(SweepFormat.number(fraction)) seed=\(seed)" }
}

/// What one cell of a sweep measured.
public struct SweepRecord: Hashable, Sendable, Codable {
    /// The cell.
    public var cell: SweepCell
    /// Test accuracy in [0, 1].
    public var accuracy: Double
    /// Training examples used (after subsampling and filtering).
    public var trainExamples: Int
    /// Optimizer steps taken.
    public var steps: Int
    /// Wall time of training plus evaluation, in seconds.
    public var seconds: Double
    /// Why training stopped ("finished", "early-stop").
    public var stopReason: String
    /// What the cell trained on: its streams, sizes, rates, seed and the SHA-256 of the data;
    /// nil in journals written before mixtures.
    public var mixture: MixtureManifest?

    /// The SHA-256 of the data the cell trained on, when the record has its manifest.
    public var data: String? { mixture?.hash }

    /// Creates a record.
    public init(cell: SweepCell, accuracy: Double, trainExamples: Int, steps: Int, seconds: Double,
                stopReason: String = "finished", mixture: MixtureManifest? = nil) {
        self.cell = cell
        self.accuracy = accuracy
        self.trainExamples = trainExamples
        self.steps = steps
        self.seconds = seconds
        self.stopReason = stopReason
        self.mixture = mixture
    }
}

/// The mean and spread of one method at one fraction, over its seeds.
public struct SweepPoint: Hashable, Sendable, Codable {
    /// The method's name.
    public var method: String
    /// The fraction of the training split.
    public var fraction: Double
    /// Mean test accuracy over seeds.
    public var mean: Double
    /// Sample standard deviation over seeds (0 for a single seed).
    public var std: Double
    /// Seeds that finished.
    public var runs: Int
    /// Mean training examples.
    public var trainExamples: Double
    /// Mean wall time in seconds.
    public var seconds: Double
}

/// What can go wrong setting up or resuming a sweep.
public enum SweepError: Error, Equatable, CustomStringConvertible {
    /// The grid has no cells.
    case emptyGrid(String)
    /// A fraction is outside (0, 1].
    case invalidFraction(Double)
    /// The journal file cannot be read back.
    case badJournal(path: String, line: Int, reason: String)
    /// An output file cannot be written.
    case cannotWrite(path: String, reason: String)
    /// A journal's recorded settings differ from the ones given now (`changed`: now; `was`: then).
    case settingsChanged(path: String, changed: [String], was: [String])

    public var description: String {
        switch self {
        case .emptyGrid(let what): return "the sweep has no \(what); give at least one"
        case .invalidFraction(let f): return "fraction \(f) is outside (0, 1]"
        case .cannotWrite(let path, let reason): return "cannot write \(path): \(reason)"
        case .settingsChanged(let path, let changed, let was):
            return "\(path) records a sweep made with other settings (now \(changed.joined(separator: ", ")); "
                + "then \(was.joined(separator: ", "))); use another journal or folder, or those settings"
        case .badJournal(let path, let line, let reason):
            return "the sweep journal \(path) is unreadable at line \(line): \(reason); move it away to start over"
        }
    }
}

/// A grid of methods × fractions × seeds.
public struct Sweep: Sendable {
    /// Method names, in the order tables and plots show them.
    public var methods: [String]
    /// Fractions of the training split, ascending in tables and plots.
    public var fractions: [Double]
    /// Seeds; each (method, fraction) runs once per seed.
    public var seeds: [UInt64]

    /// Creates a sweep.
    /// - Throws: `SweepError` for an empty axis or a fraction outside (0, 1].
    public init(methods: [String], fractions: [Double], seeds: [UInt64]) throws {
        guard !methods.isEmpty else { throw SweepError.emptyGrid("methods") }
        guard !fractions.isEmpty else { throw SweepError.emptyGrid("fractions") }
        guard !seeds.isEmpty else { throw SweepError.emptyGrid("seeds") }
        if let bad = fractions.first(where: { !($0 > 0 && $0 <= 1) }) { throw SweepError.invalidFraction(bad) }
        self.methods = methods
        self.fractions = fractions.sorted()
        self.seeds = seeds
    }

    /// Every cell, seed-major then fraction then method, so that a partial sweep already holds
    /// one full comparison per seed.
    public var cells: [SweepCell] {
        seeds.flatMap { seed in
            fractions.flatMap { fraction in methods.map { SweepCell(method: $0, fraction: fraction, seed: seed) } }
        }
    }

    /// Runs every cell not already in the journal, appending each record to it as it finishes.
    /// - Parameters:
    ///   - journal: A JSON Lines file of finished records; nil keeps nothing on disk.
    ///   - cancel: Checked before each cell; a set flag stops the sweep and returns what finished.
    ///   - progress: Called after each cell with the record and how many cells are done.
    ///   - body: Trains and evaluates one cell.
    /// - Returns: The records of the grid's cells that finished (journaled ones included), in grid order.
    /// - Throws: `SweepError.badJournal`, file errors, or what `body` throws.
    public func run(journal: URL?, cancel: CancellationFlag? = nil,
                    progress: (SweepRecord, _ done: Int, _ total: Int) -> Void = { _, _, _ in },
                    body: (_ cell: SweepCell, _ methodIndex: Int) throws -> SweepRecord) throws -> SweepResult {
        var done: [SweepCell: SweepRecord] = [:]
        if let journal { for record in try SweepJournal.read(journal) { done[record.cell] = record } }
        let grid = cells
        var finished = grid.filter { done[$0] != nil }.count
        for cell in grid where done[cell] == nil {
            if cancel?.isCancelled == true { break }
            var record = try body(cell, methods.firstIndex(of: cell.method) ?? 0)
            record.cell = cell
            if let journal { try SweepJournal.append(record, to: journal) }
            done[cell] = record
            finished += 1
            progress(record, finished, grid.count)
        }
        return SweepResult(methods: methods, fractions: fractions, records: grid.compactMap { done[$0] })
    }
}

/// The records of a sweep and their summary.
public struct SweepResult: Sendable, Codable {
    /// Method names in display order.
    public var methods: [String]
    /// Fractions, ascending.
    public var fractions: [Double]
    /// One record per finished cell.
    public var records: [SweepRecord]

    /// Creates a result from records.
    public init(methods: [String], fractions: [Double], records: [SweepRecord]) {
        self.methods = methods
        self.fractions = fractions
        self.records = records
    }

    /// Mean ± std per (method, fraction) that has at least one record, method-major.
    public var points: [SweepPoint] {
        methods.flatMap { method in
            fractions.compactMap { fraction -> SweepPoint? in
                let runs = records.filter { $0.cell.method == method && $0.cell.fraction == fraction }
                guard !runs.isEmpty else { return nil }
                let n = Double(runs.count)
                let mean = runs.map(\.accuracy).reduce(0, +) / n
                let variance = runs.count < 2 ? 0 : runs.map { ($0.accuracy - mean) * ($0.accuracy - mean) }.reduce(0, +) / (n - 1)
                return SweepPoint(method: method, fraction: fraction, mean: mean, std: variance.squareRoot(), runs: runs.count,
                                  trainExamples: Double(runs.map(\.trainExamples).reduce(0, +)) / n,
                                  seconds: runs.map(\.seconds).reduce(0, +) / n)
            }
        }
    }

    /// One line per record: method, fraction, seed, accuracy, train examples, steps, seconds, stop
    /// reason, and the hash of the data the cell trained on.
    public var recordsCSV: String {
        var lines = ["method,fraction,seed,accuracy,train_examples,steps,seconds,stop_reason,data"]
        for r in records {
            lines.append([SweepFormat.csvField(r.cell.method), SweepFormat.number(r.cell.fraction), "\(r.cell.seed)",
                          SweepFormat.fixed(r.accuracy, 4), "\(r.trainExamples)", "\(r.steps)",
                          SweepFormat.fixed(r.seconds, 1), SweepFormat.csvField(r.stopReason), r.data ?? ""].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One line per (method, fraction): mean, std and run count.
    public var summaryCSV: String {
        var lines = ["method,fraction,mean_accuracy,std_accuracy,runs,train_examples,seconds"]
        for p in points {
            lines.append([SweepFormat.csvField(p.method), SweepFormat.number(p.fraction), SweepFormat.fixed(p.mean, 4),
                          SweepFormat.fixed(p.std, 4), "\(p.runs)", SweepFormat.fixed(p.trainExamples, 1),
                          SweepFormat.fixed(p.seconds, 1)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The records and the summary as one JSON document (sorted keys, so equal sweeps give equal text).
    public func json() throws -> String {
        struct Document: Codable { var methods: [String]; var fractions: [Double]; var records: [SweepRecord]; var summary: [SweepPoint] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(Document(methods: methods, fractions: fractions, records: records, summary: points))
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// A plain-text table: methods down, fractions across, "mean ± std" in percent.
    public var table: String {
        let header = ["method"] + fractions.map { "\(SweepFormat.number($0 * 100))%" }
        var rows = [header]
        let byKey = Dictionary(points.map { ("\($0.method)|\($0.fraction)", $0) }, uniquingKeysWith: { a, _ in a })
        for method in methods {
            rows.append([method] + fractions.map { f in
                guard let p = byKey["\(method)|\(f)"] else { return "-" }
                return p.runs > 1 ? "\(SweepFormat.fixed(p.mean * 100, 1)) ± \(SweepFormat.fixed(p.std * 100, 1))"
                                  : SweepFormat.fixed(p.mean * 100, 1)
            })
        }
        let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                                                     : String(repeating: " ", count: widths[c] - cell.count) + cell }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Writes `records.csv`, `summary.csv` and `sweep.json` into `directory` (created if needed),
    /// each through a temporary file and a rename.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try SweepFormat.atomicWrite(recordsCSV, to: directory.appendingPathComponent("records.csv"))
        try SweepFormat.atomicWrite(summaryCSV, to: directory.appendingPathComponent("summary.csv"))
        try SweepFormat.atomicWrite(try json(), to: directory.appendingPathComponent("sweep.json"))
    }
}

/// The journal of finished sweep cells: one JSON record per line, appended and flushed per cell.
public enum SweepJournal {
    /// Ties a journal to the settings its cells were made with, so that a re-run with other
    /// settings cannot mix old cells into new results. The first call writes `settings` (one
    /// `name=value` each) to `file`; later calls throw `SweepError.settingsChanged` naming what differs.
    /// - Parameters:
    ///   - file: The settings file (`settings.txt` in a sweep folder, or beside a journal).
    ///   - settings: Every setting that changes a cell's result; the grid itself is left out.
    public static func claim(_ file: URL, settings: [String]) throws {
        let current = settings.joined(separator: "\n") + "\n"
        if let stored = try? String(contentsOf: file, encoding: .utf8) {
            guard stored != current else { return }
            let before = stored.split(separator: "\n").map(String.init), now = settings
            throw SweepError.settingsChanged(path: file.path, changed: now.filter { !before.contains($0) },
                                             was: before.filter { !now.contains($0) })
        }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try SweepFormat.atomicWrite(current, to: file)
    }

    /// Reads every record; a missing file reads as none. A torn last line (a kill mid-write) is ignored.
    /// - Throws: `SweepError.badJournal` for a corrupt line before the last.
    public static func read(_ url: URL) throws -> [SweepRecord] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let text = try String(contentsOf: url, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var records: [SweepRecord] = []
        for (index, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                records.append(try JSONDecoder().decode(SweepRecord.self, from: Data(line.utf8)))
            } catch {
                let isLast = index == lines.count - 1 || (index == lines.count - 2 && lines.last?.isEmpty == true)
                if isLast && !text.hasSuffix("\n") { continue }
                throw SweepError.badJournal(path: url.path, line: index + 1, reason: "not a sweep record")
            }
        }
        return records
    }

    /// Appends one record as a line and syncs the file.
    public static func append(_ record: SweepRecord, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(record)
        data.append(0x0A)
        if !FileManager.default.fileExists(atPath: url.path) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        // A torn line (a kill mid-write) was never a finished record: cut it off before appending.
        let existing = try Data(contentsOf: url)
        if let last = existing.last, last != 0x0A {
            let keep = existing.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            try handle.truncate(atOffset: UInt64(keep))
        }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
        try handle.synchronize()
    }
}

/// Number formatting shared by the sweep's tables and files (locale-independent).
enum SweepFormat {
    /// A fraction or percentage without trailing zeros: 0.125, 0.5, 1, 12.5.
    static func number(_ x: Double) -> String {
        if x == x.rounded() && abs(x) < 1e15 { return String(Int(x)) }
        var s = String(format: "%.6f", x)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

    /// Fixed decimals.
    static func fixed(_ x: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", x) }

    /// A CSV field, quoted when it holds a comma, quote or newline.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Writes text through a temporary file in the same folder and a rename.
    static func atomicWrite(_ text: String, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        try Data(text.utf8).write(to: temporary)
        // rename(2) replaces an existing file atomically; Foundation's replaceItemAt fails on Linux
        // when the file exists, which made a second write into the same folder throw.
        guard rename(temporary.path, url.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw SweepError.cannotWrite(path: url.path, reason: String(cString: strerror(code)))
        }
    }
}
