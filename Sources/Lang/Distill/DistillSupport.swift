// What the distillation builtins share: turning Distill's typed errors into CellErrors, reading
// host objects out of arguments, describing a folder for "bad path" messages, documented members
// of host objects, and running async work from a cell with live progress and interrupts.
import Distill
import Foundation
import Tensor
import NN

/// The builtins of the distillation layer, registered in every interpreter by `BuiltinRegistry.standard()`.
let distillBuiltins: [Builtin] = taskBuiltins + teacherBuiltins + promptBuiltins + plotBuiltins + studentBuiltins + trainingBuiltins + evaluationBuiltins + sweepBuiltins + mixtureBuiltins + instructionBuiltins

/// A Distill error as a CellError: its own description (every Distill error names what to fix).
func cellError(_ error: Error) -> CellError {
    if let error = error as? CellError { return error }
    if error is CancellationError { return CellError(.interrupted, "the cell was interrupted") }
    if let error = error as? TrainingError, error == .cancelled { return CellError(.interrupted, error.description) }
    if let error = error as? SyntheticError, case .interrupted = error { return CellError(.interrupted, error.description) }
    return CellError(.value, String(describing: error))
}

/// Runs `body`, turning any non-CellError into a CellError.
func converting<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch { throw cellError(error) }
}

extension Arguments {
    /// A learning-rate schedule named by a string argument; a ValueError listing the schedules otherwise.
    func schedule(_ name: String) throws -> LRSchedule.Kind {
        let text = try string(name)
        guard let schedule = LRSchedule.Kind(rawValue: text.lowercased()) else {
            throw CellError(.value, "unknown schedule \"\(text)\"; use \"constant\", \"linear\", \"cosine\" or \"inverse-sqrt\"")
        }
        return schedule
    }

    /// The argument as a host object of type `T`; a TypeError naming `expected` otherwise.
    func host<T: HostObject>(_ name: String, _ type: T.Type, expected: String) throws -> T {
        guard case .host(let object) = self[name], let typed = object as? T else {
            throw CellError(.type, "`\(callee)` expects `\(name)` to be \(expected), got \(self[name].typeName)")
        }
        return typed
    }

    /// The argument as a String, or nil when it is nil or left out.
    func optionalString(_ name: String) throws -> String? {
        if case .null = self[name] { return nil }
        return try string(name)
    }

    /// The argument as a seed: a non-negative Int.
    func seed(_ name: String) throws -> UInt64 {
        let value = try integer(name)
        guard value >= 0 else { throw CellError(.value, "`\(callee)` needs a non-negative `\(name)`, got \(value)") }
        return UInt64(value)
    }
}

/// A few words on what is at `path`, for errors about a wrong path: what the folder holds, or,
/// when nothing is there, what its parent holds.
func describeLocation(_ path: String) -> String {
    // Absolute, so the message says exactly where it looked: a relative path resolves against
    // the working folder, which in the kernel is the notebook's folder.
    let path = URL(fileURLWithPath: path).standardizedFileURL.path
    let manager = FileManager.default
    func listing(_ folder: String) -> String {
        let names = ((try? manager.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        if names.isEmpty { return "nothing" }
        let shown = names.prefix(12).joined(separator: ", ")
        return names.count > 12 ? "\(shown), … (\(names.count) entries)" : shown
    }
    var isDirectory: ObjCBool = false
    if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
        return isDirectory.boolValue ? "\(path) holds: \(listing(path))" : "\(path) is a file, not a folder"
    }
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
    if manager.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue {
        return "nothing is at \(path); \(parent) holds: \(listing(parent))"
    }
    return "nothing is at \(path), and its folder \(parent) does not exist either (the current folder is \(manager.currentDirectoryPath))"
}

/// A method of a host object as a function value, with the receiver already captured by `body`.
func hostMethod(_ name: String, _ parameters: [Parameter], returns: String, documentation: String,
                _ body: @escaping (Arguments, BuiltinContext) throws -> Value) -> Value {
    .function(.builtin(Builtin(name, parameters, returns: returns, documentation: documentation) { arguments, context in
        try converting { try body(arguments, context) }
    }))
}

/// A value with a prepared rendering (`why.show(5)`, `p.render(x)` in HTML): it shows as its bundle.
public final class RenderedValue: HostObject {
    /// The type name users see.
    public let typeName: String
    private let bundle: MimeBundle
    /// A value that renders as `bundle`.
    public init(typeName: String, bundle: MimeBundle) {
        self.typeName = typeName
        self.bundle = bundle
    }
    public func render() -> MimeBundle { bundle }
}

/// Limits how often a live display is replaced: at most once per `interval` seconds, except the last.
struct DisplayThrottle {
    let interval: Double
    private var last: Double = -Double.infinity

    init(interval: Double = 0.25) { self.interval = interval }

    /// True when enough time has passed since the last update (and records this one).
    mutating func ready(now: Double = Date().timeIntervalSinceReferenceDate) -> Bool {
        guard now - last >= interval else { return false }
        last = now
        return true
    }
}

/// Carries a value between threads under a lock.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}

/// Runs async work from a builtin (which runs on the cell's worker thread) and waits for it.
///
/// Every `poll` seconds it passes an interrupt on to `cancel` and calls `tick` (for live
/// displays), so a long call stays responsive: the work sees the cancellation within `poll`.
func runBlocking<T>(_ context: BuiltinContext, cancel: CancellationFlag, poll: Double = 0.05, tick: () -> Void = {},
                    _ work: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Locked<Result<T, Error>?>(nil)
    let finished = DispatchSemaphore(value: 0)
    Task.detached {
        do { result.value = .success(try await work()) } catch { result.value = .failure(error) }
        finished.signal()
    }
    while finished.wait(timeout: .now() + poll) == .timedOut {
        if context.isCancelled { cancel.cancel() }
        tick()
    }
    tick()
    switch result.value {
    case .success(let value)?: return value
    case .failure(let error)?: throw error
    case nil: throw CellError(.runtime, "the background work ended without a result")
    }
}

/// Runs synchronous work (training, evaluation, generation) on its own thread with a large stack
/// and waits for it, passing an interrupt on to `cancel` and calling `tick` every `poll` seconds.
/// When the work stops because of the interrupt, the error is `interrupted()`'s message, which
/// names what was interrupted ("evaluation was interrupted after 40 of 200 examples").
func runOnLargeStack<T>(_ context: BuiltinContext, cancel: CancellationFlag, poll: Double = 0.05, tick: () -> Void = {},
                        interrupted: (() -> String)? = nil, _ work: @escaping () throws -> T) throws -> T {
    let result = Locked<Result<T, Error>?>(nil)
    let finished = DispatchSemaphore(value: 0)
    let thread = Thread {
        do { result.value = .success(try work()) } catch { result.value = .failure(error) }
        finished.signal()
    }
    thread.stackSize = 64 << 20
    thread.start()
    while finished.wait(timeout: .now() + poll) == .timedOut {
        if context.isCancelled { cancel.cancel() }
        tick()
    }
    tick()
    switch result.value {
    case .success(let value)?: return value
    case .failure(let error)?:
        let converted = cellError(error)
        if converted.kind == ErrorKind.interrupted.rawValue, let interrupted { throw CellError(.interrupted, interrupted()) }
        throw converted
    case nil: throw CellError(.runtime, "the background work ended without a result")
    }
}
