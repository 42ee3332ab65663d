// Quantised matrix-vector and matrix-matrix products over encoded rows, split across threads
// in fixed contiguous row chunks. Each output element is computed by one thread in a fixed
// order, so results do not depend on the thread count.
import Foundation
import Tensor

/// A row-major matrix of encoded rows (`rows × columns`, each row `columns` elements).
public struct QuantizedMatrix: @unchecked Sendable {
    /// Element encoding.
    public let type: GGMLType
    /// Number of rows (output features).
    public let rows: Int
    /// Elements per row (input features).
    public let columns: Int
    /// The first byte of row 0.
    public let data: UnsafeRawPointer
    /// Whatever keeps `data` alive (the GGUF storage, a test's array box).
    public let owner: AnyObject?

    /// Wraps encoded rows; `columns` must be a whole number of `type`'s blocks.
    public init(type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer, owner: AnyObject?) {
        precondition(columns % type.traits.blockSize == 0, "row length \(columns) is not whole \(type) blocks")
        self.type = type
        self.rows = rows
        self.columns = columns
        self.data = data
        self.owner = owner
        self.rowBytes = type.traits.rowBytes(columns)
    }

    /// Bytes per encoded row.
    public let rowBytes: Int

    /// The encoded bytes of row `r`.
    @inline(__always) public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }
}

/// Products of a quantised matrix with float activations.
public enum QuantMatmul {
    /// Default thread count: the engine's `Parallel.threads` (every core unless `%threads` says otherwise).
    public static var defaultThreads: Int { Parallel.threads }

    /// Runs `body` over `count` items split into `threads` contiguous chunks
    /// (chunk c is `c*count/threads ..< (c+1)*count/threads`).
    public static func parallelChunks(count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let chunks = max(1, min(threads, count))
        if chunks == 1 { body(0..<count); return }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            body(c * count / chunks..<(c + 1) * count / chunks)
        }
    }

    /// `y = W x`: `x` has `w.columns` floats, `y` gets `w.rows`.
    public static func matvec(_ w: QuantizedMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                              threads: Int = defaultThreads) {
        let dot = w.type.traits.dotRow
        let out = SendablePointer(y)
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: (w.columns + 31) / 32 + 1)
        defer { sums.deallocate() }
        QuantDot.blockSums(x, w.columns, into: sums)
        let blockSums = UnsafePointer(sums)
        // Fewer than ~64 rows a thread is not worth waking the other core for.
        let useful = max(1, min(threads, w.rows / 64))
        parallelChunks(count: w.rows, threads: useful) { range in
            for r in range { out.p[r] = dot(w.row(r), x, blockSums, w.columns) }
        }
    }

    /// `W x` for an array.
    public static func matvec(_ w: QuantizedMatrix, _ x: [Float], threads: Int = defaultThreads) -> [Float] {
        precondition(x.count == w.columns, "matvec: x has \(x.count) elements, W has \(w.columns) columns")
        var y = [Float](repeating: 0, count: w.rows)
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                if let xp = xb.baseAddress, let yp = yb.baseAddress { matvec(w, xp, yp, threads: threads) }
            }
        }
        return y
    }

    /// `Y = X Wᵀ`: `x` is `batch × w.columns` row-major, `y` gets `batch × w.rows`.
    /// Each weight row is dequantised once into a per-thread scratch row and reused for the
    /// whole batch; for a batch of one this falls back to `matvec`.
    public static func matmul(_ w: QuantizedMatrix, _ x: UnsafePointer<Float>, batch: Int,
                              _ y: UnsafeMutablePointer<Float>, threads: Int = defaultThreads) {
        if batch == 1 { matvec(w, x, y, threads: threads); return }
        let traits = w.type.traits
        let k = w.columns, m = w.rows
        let out = SendablePointer(y)
        let useful = max(1, min(threads, m / 16))
        parallelChunks(count: m, threads: useful) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: k)
            defer { scratch.deallocate() }
            for r in range {
                traits.dequantizeRow(w.row(r), scratch, k)
                var b = 0
                while b + 4 <= batch {
                    let d = dot4(scratch, x + b * k, k)
                    for j in 0..<4 { out.p[(b + j) * m + r] = d[j] }
                    b += 4
                }
                while b < batch {
                    out.p[b * m + r] = QuantDot.dotF32(UnsafeRawPointer(scratch), x + b * k, x, k)
                    b += 1
                }
            }
        }
    }

    /// Four dot products of one float row `w` with rows `x`, `x + k`, `x + 2k`, `x + 3k`: each
    /// weight vector is loaded once for four activation rows. The summation order differs from
    /// `matvec`'s, so the two may disagree in the last bits (each is deterministic).
    @inline(__always) static func dot4(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ k: Int) -> SIMD4<Float> {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        let wr = UnsafeRawPointer(w)
        var i = 0
        while i + 16 <= k {
            let wv = wr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            a0 = a0.addingProduct(wv, UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self))
            a1 = a1.addingProduct(wv, UnsafeRawPointer(x + k + i).loadUnaligned(as: SIMD16<Float>.self))
            a2 = a2.addingProduct(wv, UnsafeRawPointer(x + 2 * k + i).loadUnaligned(as: SIMD16<Float>.self))
            a3 = a3.addingProduct(wv, UnsafeRawPointer(x + 3 * k + i).loadUnaligned(as: SIMD16<Float>.self))
            i += 16
        }
        var result = SIMD4<Float>(a0.sum(), a1.sum(), a2.sum(), a3.sum())
        while i < k {
            for j in 0..<4 { result[j] += w[i] * x[j * k + i] }
            i += 1
        }
        return result
    }

    /// `X Wᵀ` for arrays; `x.count` must be `batch * w.columns`.
    public static func matmul(_ w: QuantizedMatrix, _ x: [Float], batch: Int, threads: Int = defaultThreads) -> [Float] {
        precondition(x.count == batch * w.columns, "matmul: x has \(x.count) elements, expected \(batch)×\(w.columns)")
        var y = [Float](repeating: 0, count: batch * w.rows)
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                if let xp = xb.baseAddress, let yp = yb.baseAddress { matmul(w, xp, batch: batch, yp, threads: threads) }
            }
        }
        return y
    }

    /// The scalar reference for `matvec`: dequantise each row, sum in `Double`.
    public static func referenceMatvec(_ w: QuantizedMatrix, _ x: [Float]) -> [Double] {
        let traits = w.type.traits
        return x.withUnsafeBufferPointer { xb -> [Double] in
            guard let xp = xb.baseAddress else { return [] }
            return (0..<w.rows).map { traits.referenceDot(w.row($0), xp, w.columns) }
        }
    }
}
