// BufferPool: recycles tensor buffers by exact byte size, so a training step that repeats the
// same shapes stops calling malloc after its first iteration. Thread-safe; bounded.

import Foundation

/// A size-keyed free list of 64-byte aligned buffers.
public final class BufferPool: @unchecked Sendable {
    /// The pool every `Storage` uses.
    public static let shared = BufferPool()

    /// Bytes the pool may keep idle; beyond that, freed buffers go back to the system.
    public var capacityBytes: Int = 4 << 30
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var idleBytes = 0
    private let lock = NSLock()
    /// Counters: buffers allocated from the system, and buffers served from the pool.
    public private(set) var allocations = 0, reuses = 0

    @inline(__always) private static func bucket(_ bytes: Int) -> Int { (bytes + 63) & ~63 }

    func take(bytes: Int) -> UnsafeMutableRawPointer {
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
        guard posix_memalign(&p, 64, size) == 0, let buffer = p else {
            fatalError("BufferPool: out of memory allocating \(size) bytes")
        }
        return buffer
    }

    func give(_ p: UnsafeMutableRawPointer, bytes: Int) {
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
