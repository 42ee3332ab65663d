// One-token products for the common Llama quantisations, four weight rows at a time: the four
// rows share each load of x and their accumulators are independent, so the FMA latency chain of
// the one-row kernel (QuantDot.dotQ4_1, one accumulator per row) no longer bounds the loop. Per
// row the arithmetic is the one-row kernel's, in the same order, so results are identical.
import Foundation

enum LlamaMatvec {
    /// Whether `type` has a four-row kernel here.
    static func supports(_ type: GGMLType) -> Bool { type == .q4_1 || type == .q8_0 }

    /// `y = W x` over all rows, split into contiguous row chunks per thread.
    static func multiply(_ w: QuantizedMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, threads: Int) {
        let blocks = w.columns / 32
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: blocks + 1)
        defer { sums.deallocate() }
        QuantDot.blockSums(x, w.columns, into: sums)
        let s = UnsafePointer(sums)
        let out = SendablePointer(pointer: y)
        let useful = Swift.max(1, Swift.min(threads, w.rows / 64))
        // Chunks of whole groups of four rows.
        let groups = (w.rows + 3) / 4
        QuantMatmul.parallelChunks(count: groups, threads: useful) { range in
            let rows = (range.lowerBound * 4)..<Swift.min(range.upperBound * 4, w.rows)
            if w.type == .q4_1 { q4_1(w, x, s, out.pointer, rows) } else { q8_0(w, x, s, out.pointer, rows) }
        }
    }

    static func q4_1(_ w: QuantizedMatrix, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>,
                     _ y: UnsafeMutablePointer<Float>, _ rows: Range<Int>) {
        let blocks = w.columns / 32
        var r = rows.lowerBound
        while r + 4 <= rows.upperBound {
            let p = (w.row(r), w.row(r + 1), w.row(r + 2), w.row(r + 3))
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var o0: Float = 0, o1: Float = 0, o2: Float = 0, o3: Float = 0
            for b in 0..<blocks {
                let x0 = QuantDot.x16(x, b * 32), x1 = QuantDot.x16(x, b * 32 + 16), sb = sums[b]
                @inline(__always) func block(_ row: UnsafeRawPointer, _ acc: inout SIMD16<Float>, _ offset: inout Float) {
                    let blk = row + b * BlockQ4_1.bytes
                    let q = QuantDot.bytes16(blk, BlockQ4_1.qs)
                    var t = QuantDot.floats(q & 0xF) * x0
                    t = t.addingProduct(QuantDot.floats(q &>> 4), x1)
                    acc = acc.addingProduct(t, loadHalf(blk, BlockQ4_1.d))
                    offset += loadHalf(blk, BlockQ4_1.m) * sb
                }
                block(p.0, &a0, &o0); block(p.1, &a1, &o1); block(p.2, &a2, &o2); block(p.3, &a3, &o3)
            }
            y[r] = a0.sum() + o0; y[r + 1] = a1.sum() + o1; y[r + 2] = a2.sum() + o2; y[r + 3] = a3.sum() + o3
            r += 4
        }
        while r < rows.upperBound { y[r] = QuantDot.dotQ4_1(w.row(r), x, sums, w.columns); r += 1 }
    }

    static func q8_0(_ w: QuantizedMatrix, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>,
                     _ y: UnsafeMutablePointer<Float>, _ rows: Range<Int>) {
        let blocks = w.columns / 32
        var r = rows.lowerBound
        while r + 4 <= rows.upperBound {
            let p = (w.row(r), w.row(r + 1), w.row(r + 2), w.row(r + 3))
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            for b in 0..<blocks {
                let x0 = QuantDot.x16(x, b * 32), x1 = QuantDot.x16(x, b * 32 + 16)
                @inline(__always) func block(_ row: UnsafeRawPointer, _ acc: inout SIMD16<Float>) {
                    let blk = row + b * BlockQ8_0.bytes
                    let q0 = blk.loadUnaligned(fromByteOffset: BlockQ8_0.qs, as: SIMD16<Int8>.self)
                    let q1 = blk.loadUnaligned(fromByteOffset: BlockQ8_0.qs + 16, as: SIMD16<Int8>.self)
                    var t = QuantDot.floats(q0) * x0
                    t = t.addingProduct(QuantDot.floats(q1), x1)
                    acc = acc.addingProduct(t, loadHalf(blk, BlockQ8_0.d))
                }
                block(p.0, &a0); block(p.1, &a1); block(p.2, &a2); block(p.3, &a3)
            }
            y[r] = a0.sum(); y[r + 1] = a1.sum(); y[r + 2] = a2.sum(); y[r + 3] = a3.sum()
            r += 4
        }
        while r < rows.upperBound { y[r] = QuantDot.dotQ8_0(w.row(r), x, sums, w.columns); r += 1 }
    }
}
