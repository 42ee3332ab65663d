// Parallel: deterministic chunked work over both cores. Chunk boundaries depend only on the
// work size and `threads`, and every kernel writes each output element from exactly one chunk,
// so results never depend on scheduling.

import Dispatch
import Foundation

/// Thread settings for the engine's own kernels and for OpenBLAS.
public enum Parallel {
    /// Worker threads for elementwise work, reductions, fused kernels and BLAS.
    public static var threads: Int = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 64)) {
        didSet { threads = max(1, threads); BLASRuntime.threads = threads }
    }

    /// Runs `body` over `0..<count` split into at most `threads` contiguous chunks, each at least
    /// `grain` items long.
    @inline(__always)
    public static func forChunks(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let chunks = min(threads, max(1, count / max(grain, 1)))
        if chunks <= 1 { if count > 0 { body(0..<count) }; return }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks, hi = count * (c + 1) / chunks
                box.value(lo..<hi)
            }
        }
    }
}

/// Carries non-Sendable captures (raw pointers, closures) into `concurrentPerform`.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A raw pointer that may cross into worker threads; each task must write a disjoint range.
/// The one such wrapper of the stack (the engine's kernels and the quantised products use it).
public struct SendablePointer<T>: @unchecked Sendable {
    /// The pointer.
    public let p: UnsafeMutablePointer<T>
    /// Wraps a pointer.
    public init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}
