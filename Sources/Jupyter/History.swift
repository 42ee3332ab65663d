// The session's input history, kept in memory for `history_request`: tail, range and glob
// search (with `unique` and `n`), in IPython's shapes.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One executed cell that was stored in the history.
public struct HistoryEntry: Equatable, Sendable {
    /// The execution count the cell ran with.
    public var line: Int
    /// The cell's source.
    public var input: String
    /// The `text/plain` of the cell's result, if it had one.
    public var output: String?
}

/// The inputs of this session, in the order they ran.
public final class History {
    /// This session's number; requests for session 0 (or less, counted back) mean this one.
    public let session = 1
    /// Every stored entry, oldest first.
    public private(set) var entries: [HistoryEntry] = []

    /// An empty history.
    public init() {}

    /// Records a cell that ran with `store_history`.
    public func append(line: Int, input: String, output: String? = nil) {
        entries.append(HistoryEntry(line: line, input: input, output: output))
    }

    /// The last `n` entries, oldest first.
    public func tail(_ n: Int) -> [HistoryEntry] { Array(entries.suffix(max(0, n))) }

    /// Entries of `session` with `start <= line < stop` (no `stop`: to the end).
    public func range(session requested: Int, start: Int, stop: Int?) -> [HistoryEntry] {
        let resolved = requested <= 0 ? requested + session : requested
        guard resolved == session else { return [] }
        return entries.filter { entry in entry.line >= start && (stop.map { entry.line < $0 } ?? true) }
    }

    /// Entries whose input matches the glob `pattern` (as sqlite's GLOB: `*`, `?`, `[...]`,
    /// case-sensitive). With `unique`, only the latest of equal inputs; with `n`, the last `n`.
    public func search(_ pattern: String, n: Int?, unique: Bool) -> [HistoryEntry] {
        var found = entries.filter { fnmatch(pattern, $0.input, 0) == 0 }
        if unique {
            var seen = Set<String>()
            found = found.reversed().filter { seen.insert($0.input).inserted }.reversed()
        }
        if let n { found = Array(found.suffix(max(0, n))) }
        return found
    }

    /// The `history_reply` content for a `history_request`'s content.
    func reply(to request: JSON) -> JSON {
        let n = request["n"]?.int
        let found: [HistoryEntry]
        switch request["hist_access_type"]?.string ?? "tail" {
        case "range":
            found = range(session: request["session"]?.int ?? 0, start: request["start"]?.int ?? 1,
                          stop: request["stop"]?.int)
        case "search":
            found = search(request["pattern"]?.string ?? "*", n: n, unique: request["unique"]?.bool ?? false)
        default:
            found = tail(n ?? 10)
        }
        let withOutput = request["output"]?.bool ?? false
        let rows: [JSON] = found.map { entry in
            let input = JSON.string(entry.input)
            let value: JSON = withOutput ? [input, entry.output.map(JSON.string) ?? .null] : input
            return [.int(session), .int(entry.line), value]
        }
        return ["status": "ok", "history": .array(rows)]
    }
}
