// BufferPool: recycles tensor buffers by size class, so a training step that repeats the same
// shapes stops calling malloc after its first iteration, and steps whose shapes vary (padded
// batches of different lengths) reuse each other's buffers instead of piling up idle ones.
// Thread-safe; bounded.

import Foundation

/// Free lists of 64-byte aligned buffers, one per size class.
public final class BufferPool: @unchecked Sendable {
    /// The pool every `Storage` uses.
    public static let shared = BufferPool()

    /// Bytes the pool may keep idle; beyond that, freed buffers go back to the system.
    public var capacityBytes: Int
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var idleBytes = 0
    private let lock = NSLock()
    /// Counters: buffers allocated from the system, and buffers served from the pool.
    public private(set) var allocations = 0, reuses = 0

    /// A pool of its own. `Storage` uses `shared`; a separate pool can be measured in isolation.
    /// - Parameters:
    ///   - capacityBytes: Bytes the pool may keep idle.
    public init(capacityBytes: Int = 512 << 20) {
        self.capacityBytes = capacityBytes
    }

    /// The size class of a request: 64-byte multiples up to 4 KiB, then the next of 2^k and
    /// 1.5·2^k, so a buffer serves any request up to a third smaller than it.
    @inline(__always) static func bucket(_ bytes: Int) -> Int {
        let aligned = (bytes + 63) & ~63
        if aligned <= 4096 { return aligned }
        let power = 1 << (Int.bitWidth - (aligned - 1).leadingZeroBitCount)   // next power of two ≥ aligned
        let between = power / 4 * 3
        return aligned <= between ? between : power
    }

    /// A 64-byte aligned buffer of at least `bytes` bytes, from the pool when one of its size
    /// class is idle. Give it back with `give(_:bytes:)` and the same byte count.
    public func take(bytes: Int) -> UnsafeMutableRawPointer {
        // Sizes read from files are validated before they get here; a request this large can
        // only be a bug, and rounding it to a bucket would overflow, so name it and stop.
        guard bytes >= 0, bytes <= 1 << 48 else {
            fatalError("BufferPool: a request for \(bytes) bytes is beyond any machine; a size escaped validation")
        }
        let size = Self.bucket(bytes)
        lock.lock()
        if var list = free[size], let p = list.popLast() {
            free[size] = list
            idleBytes -= size
            reuses += 1
            lock.unlock()
            return p
        }
        allocations += 1
        lock.unlock()
        var p: UnsafeMutableRawPointer?
        let status = posix_memalign(&p, 64, size)
        guard status == 0, let buffer = p else {
            fatalError("BufferPool: out of memory allocating \(size) bytes (posix_memalign: \(String(cString: strerror(status))))")
        }
        return buffer
    }

    /// Returns a buffer from `take(bytes:)`: it stays idle for reuse while the pool is under
    /// its capacity, else it goes back to the system.
    public func give(_ p: UnsafeMutableRawPointer, bytes: Int) {
        let size = Self.bucket(bytes)
        lock.lock()
        if idleBytes + size <= capacityBytes {
            free[size, default: []].append(p)
            idleBytes += size
            lock.unlock()
        } else {
            lock.unlock()
            Foundation.free(p)
        }
    }

    /// Returns every idle buffer to the system.
    public func drain() {
        lock.lock()
        let lists = free
        free = [:]
        idleBytes = 0
        lock.unlock()
        for (_, list) in lists { for p in list { Foundation.free(p) } }
    }

    /// Bytes held idle in the pool right now.
    public var idle: Int { lock.lock(); defer { lock.unlock() }; return idleBytes }
}
