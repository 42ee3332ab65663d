// The one cancellation flag of the whole stack: an interrupt (a Jupyter interrupt_request, Ctrl-C,
// a signal handler) sets it on one thread, and the work that polls it (generation between tokens,
// training between micro-batches, a teacher run between calls) stops at its next check. It lives
// in the lowest layer so that every layer above passes the same type down.
import Foundation

/// A flag that asks a run to stop, set from another thread.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    /// Creates an unset flag.
    public init() {}

    /// Whether a stop was asked for.
    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    /// Asks the run to stop. Each user of the flag says what stopping means for it (a teacher run
    /// starts no new call; training keeps its last completed step).
    public func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }
}
