// Weight products of the inference path. One token: a quantised matvec, four weight rows at a
// time for Q4_1/Q8_0 (LlamaMatvec). A prompt batch: weight rows are dequantised a tile at a
// time (never the whole tensor) and multiplied by the whole batch with the engine's sgemm,
// which runs several times faster than a dot kernel once a tile is reused by many tokens.
// Small batches use the quantised batched kernel.
import Foundation
import Tensor

enum LlamaProducts {
    /// Weight rows dequantised per sgemm call: 128 rows of 1536 floats is 768 KB, in L2.
    static let tileRows = 128
    /// From this many tokens on, tiles + sgemm beat the quantised batched kernel.
    static let sgemmMinimumBatch = 16

    /// `Y_i = X W_iᵀ` for several matrices of the same input (q, k and v; gate and up). One
    /// token runs them as one parallel pass over all their rows, so threads wake once, not per matrix.
    static func multiply(_ products: [(LlamaMatrix, UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>, batch: Int,
                         threads: Int) {
        if batch == 1 && products.allSatisfy({ $0.0.scales != nil && $0.0.quantized.columns == products[0].0.quantized.columns }) {
            LlamaMatvec.multiply(products, x, threads: threads)
            return
        }
        for (w, y) in products { multiply(w, x, batch: batch, y, threads: threads) }
    }

    /// `Y = X Wᵀ`: `x` is (batch, w.columns), `y` gets (batch, w.rows).
    static func multiply(_ matrix: LlamaMatrix, _ x: UnsafePointer<Float>, batch: Int, _ y: UnsafeMutablePointer<Float>,
                         threads: Int) {
        let w = matrix.quantized
        if batch == 1 && matrix.scales != nil {
            LlamaMatvec.multiply(matrix, x, y, threads: threads)
            return
        }
        guard batch >= sgemmMinimumBatch else {
            QuantMatmul.matmul(w, x, batch: batch, y, threads: threads)
            return
        }
        let k = w.columns, m = w.rows
        let input = Tensor.zeros([batch, k])                                  // (batch, k)
        input.withUnsafeMutableFloats { dst in dst.baseAddress?.update(from: x, count: batch * k) }
        let dequantize = w.type.traits.dequantizeRow
        let previousThreads = Parallel.threads
        if previousThreads != threads { Parallel.threads = threads }
        defer { if Parallel.threads != previousThreads { Parallel.threads = previousThreads } }
        var first = 0
        while first < m {
            let rows = Swift.min(tileRows, m - first)
            let tile = Tensor.zeros([rows, k])                                // (rows, k)
            tile.withUnsafeMutableFloats { dst in
                guard let base = dst.baseAddress else { return }
                let out = SendablePointer(base)
                let start = first
                QuantMatmul.parallelChunks(count: rows, threads: threads) { range in
                    for r in range { dequantize(w.row(start + r), out.p + r * k, k) }
                }
            }
            let product = input.linear(weight: tile)                          // (batch, rows)
            product.withUnsafeMutableFloats { src in
                guard let base = src.baseAddress else { return }
                for b in 0..<batch { (y + b * m + first).update(from: base + b * rows, count: rows) }
            }
            first += rows
        }
    }
}

// MARK: - One token, four rows at a time

/// A weight matrix for the inference path: the encoded rows in the GGUF, plus for Q4_1 and
/// Q8_0 each block's f16 scale (and Q4_1's offset) unpacked to Float once at load (8 bytes per
/// 32 weights). The one-token kernels then broadcast scales straight from memory instead of
/// converting f16 per block per row, which the profile showed saturating the shuffle port.
final class LlamaMatrix: @unchecked Sendable {
    let quantized: QuantizedMatrix
    /// Q4_1: (rows, 2, blocks), each row's d's then its m's; Q8_0: (rows, blocks) d's; nil otherwise.
    let scales: UnsafeMutablePointer<Float>?

    init(_ m: QuantizedMatrix) {
        quantized = m
        let blocks = m.columns / 32
        switch m.type {
        case .q4_1 where m.columns % 32 == 0:
            let s = UnsafeMutablePointer<Float>.allocate(capacity: m.rows * blocks * 2)
            for r in 0..<m.rows {
                for b in 0..<blocks {
                    let blk = m.row(r) + b * BlockQ4_1.bytes
                    s[r * blocks * 2 + b] = loadHalf(blk, BlockQ4_1.d)
                    s[r * blocks * 2 + blocks + b] = loadHalf(blk, BlockQ4_1.m)
                }
            }
            scales = s
        case .q8_0 where m.columns % 32 == 0:
            let s = UnsafeMutablePointer<Float>.allocate(capacity: m.rows * blocks)
            for r in 0..<m.rows { for b in 0..<blocks { s[r * blocks + b] = loadHalf(m.row(r) + b * BlockQ8_0.bytes, BlockQ8_0.d) } }
            scales = s
        default:
            scales = nil
        }
    }

    deinit { scales?.deallocate() }
}

/// Four rows at a time share each load of x and keep independent accumulators, so the FMA
/// latency chain of a one-row kernel no longer bounds the loop. Per row the sum is the same
/// expression as QuantDot's kernels (d Σ q x + m Σ x per block, lanes summed in another order); Q4_1's m Σ x terms are summed
/// as one SIMD dot after the loop (a per-block scalar update made a serial chain).
enum LlamaMatvec {
    /// `y_i = W_i x` for matrices with unpacked scales and `x`'s length as their columns: the
    /// four-row groups of all of them, split into contiguous chunks per thread.
    static func multiply(_ products: [(LlamaMatrix, UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>, threads: Int) {
        guard let first = products.first?.0.quantized else { return }
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: first.columns / 32 + 1)
        defer { sums.deallocate() }
        QuantDot.blockSums(x, first.columns, into: sums)
        let s = UnsafePointer(sums)
        let groups = products.map { ($0.0.quantized.rows + 3) / 4 }
        let total = groups.reduce(0, +)
        let rows = products.reduce(0) { $0 + $1.0.quantized.rows }
        let outs = products.map { SendablePointer($0.1) }
        let useful = Swift.max(1, Swift.min(threads, rows / 64))
        QuantMatmul.parallelChunks(count: total, threads: useful) { range in
            var base = 0
            for (m, (w, _)) in products.enumerated() {
                let lo = Swift.max(range.lowerBound, base), hi = Swift.min(range.upperBound, base + groups[m])
                if lo < hi, let scales = w.scales {
                    let q = w.quantized
                    let rows = ((lo - base) * 4)..<Swift.min((hi - base) * 4, q.rows)
                    if q.type == .q4_1 { q4_1(q, scales, x, s, outs[m].p, rows) } else { q8_0(q, scales, x, outs[m].p, rows) }
                }
                base += groups[m]
            }
        }
    }

    /// `y = W x` over all rows, split into contiguous chunks of four-row groups per thread.
    static func multiply(_ w: LlamaMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, threads: Int) {
        let m = w.quantized
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: m.columns / 32 + 1)
        defer { sums.deallocate() }
        QuantDot.blockSums(x, m.columns, into: sums)
        let s = UnsafePointer(sums)
        let out = SendablePointer(y)
        let useful = Swift.max(1, Swift.min(threads, m.rows / 64))
        let groups = (m.rows + 3) / 4
        QuantMatmul.parallelChunks(count: groups, threads: useful) { range in
            let rows = (range.lowerBound * 4)..<Swift.min(range.upperBound * 4, m.rows)
            guard let scales = w.scales else {
                for r in rows { out.p[r] = m.type.traits.dotRow(m.row(r), x, s, m.columns) }
                return
            }
            if m.type == .q4_1 { q4_1(m, scales, x, s, out.p, rows) } else { q8_0(m, scales, x, out.p, rows) }
        }
    }

    static func q4_1(_ w: QuantizedMatrix, _ scales: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                     _ sums: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ rows: Range<Int>) {
        let blocks = w.columns / 32
        var r = rows.lowerBound
        while r < rows.upperBound {
            let n = Swift.min(4, rows.upperBound - r)
            var acc = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
            let rows = (r, r + Swift.min(1, n - 1), r + Swift.min(2, n - 1), r + Swift.min(3, n - 1))
            let sc = (scales + rows.0 * blocks * 2, scales + rows.1 * blocks * 2,
                      scales + rows.2 * blocks * 2, scales + rows.3 * blocks * 2)
            for b in 0..<blocks {
                let x0 = QuantDot.x16(x, b * 32), x1 = QuantDot.x16(x, b * 32 + 16)
                @inline(__always) func block(_ row: Int, _ d: UnsafePointer<Float>, _ a: inout SIMD16<Float>) {
                    let q = QuantDot.widen(QuantDot.bytes16(w.row(row) + b * BlockQ4_1.bytes, BlockQ4_1.qs))
                    var t = QuantDot.floats(q & 0xF) * x0
                    t = t.addingProduct(QuantDot.floats(q &>> 4), x1)
                    a = a.addingProduct(t, SIMD16(repeating: d[b]))
                }
                block(rows.0, sc.0, &acc.0); block(rows.1, sc.1, &acc.1); block(rows.2, sc.2, &acc.2); block(rows.3, sc.3, &acc.3)
            }
            // The offsets' part, m Σx per block, as one dot of the row's m's with x's block sums.
            let offset = SIMD4<Float>(LlamaAttention.dot(sc.0 + blocks, sums, blocks), LlamaAttention.dot(sc.1 + blocks, sums, blocks),
                                      LlamaAttention.dot(sc.2 + blocks, sums, blocks), LlamaAttention.dot(sc.3 + blocks, sums, blocks))
            let totals = SIMD4<Float>(horizontalSum(acc.0), horizontalSum(acc.1), horizontalSum(acc.2), horizontalSum(acc.3)) + offset
            for i in 0..<n { y[r + i] = totals[i] }
            r += 4
        }
    }

    static func q8_0(_ w: QuantizedMatrix, _ scales: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                     _ y: UnsafeMutablePointer<Float>, _ rows: Range<Int>) {
        let blocks = w.columns / 32
        var r = rows.lowerBound
        while r < rows.upperBound {
            let n = Swift.min(4, rows.upperBound - r)
            var acc = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
            for b in 0..<blocks {
                let x0 = QuantDot.x16(x, b * 32), x1 = QuantDot.x16(x, b * 32 + 16)
                @inline(__always) func block(_ i: Int, _ a: inout SIMD16<Float>) {
                    let row = r + Swift.min(i, n - 1)
                    let blk = w.row(row) + b * BlockQ8_0.bytes
                    let q0 = blk.loadUnaligned(fromByteOffset: BlockQ8_0.qs, as: SIMD16<Int8>.self)
                    let q1 = blk.loadUnaligned(fromByteOffset: BlockQ8_0.qs + 16, as: SIMD16<Int8>.self)
                    var t = QuantDot.floats(q0) * x0
                    t = t.addingProduct(QuantDot.floats(q1), x1)
                    a = a.addingProduct(t, SIMD16(repeating: scales[row * blocks + b]))
                }
                block(0, &acc.0); block(1, &acc.1); block(2, &acc.2); block(3, &acc.3)
            }
            let totals = SIMD4<Float>(horizontalSum(acc.0), horizontalSum(acc.1), horizontalSum(acc.2), horizontalSum(acc.3))
            for i in 0..<n { y[r + i] = totals[i] }
            r += 4
        }
    }
}
