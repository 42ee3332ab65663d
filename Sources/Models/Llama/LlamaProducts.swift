// Weight products of the inference path. One token: a quantised matvec (LlamaMatvec). A prompt
// batch: weight rows are dequantised a tile at a time (never the whole tensor) and multiplied
// by the whole batch with the engine's sgemm, which runs several times faster than a dot kernel
// once a tile is reused by many tokens. Small batches use the quantised batched kernel.
import Foundation
import Tensor

enum LlamaProducts {
    /// Weight rows dequantised per sgemm call: 128 rows of 1536 floats is 768 KB, in L2.
    static let tileRows = 128
    /// From this many tokens on, tiles + sgemm beat the quantised batched kernel.
    static let sgemmMinimumBatch = 16

    /// `Y = X Wᵀ`: `x` is (batch, w.columns), `y` gets (batch, w.rows).
    static func multiply(_ w: QuantizedMatrix, _ x: UnsafePointer<Float>, batch: Int, _ y: UnsafeMutablePointer<Float>,
                         threads: Int) {
        if batch == 1 && LlamaMatvec.supports(w.type) && w.columns % 32 == 0 {
            LlamaMatvec.multiply(w, x, y, threads: threads)
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
                let out = SendablePointer(pointer: base)
                let start = first
                QuantMatmul.parallelChunks(count: rows, threads: threads) { range in
                    for r in range { dequantize(w.row(start + r), out.pointer + r * k, k) }
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
