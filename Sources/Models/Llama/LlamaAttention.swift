// Causal grouped-query attention over a KV cache for the inference path: per (query, head),
// scores against every cached key up to the query's position, softmax, and the weighted sum of
// values. SIMD over the head dimension; work split over (query, head) pairs across threads.
import Foundation

enum LlamaAttention {
    /// `out[i, h] = softmax(q[i, h] · K[0...start+i, h/groups] / sqrt(headDim)) · V[...]`.
    /// - Parameters:
    ///   - q: (T, nHeads·headDim) queries after RoPE.
    ///   - keys, values: (capacity, nKVHeads·headDim) for the layer, filled up to `start + T`.
    ///   - out: (T, nHeads·headDim).
    static func causal(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                       out: UnsafeMutablePointer<Float>, tokens t: Int, start: Int, config c: LlamaConfig, threads: Int,
                       halfWeights: Bool = false) {
        let hd = c.headDim, qDim = c.qDim, kvDim = c.kvDim, groups = c.kvGroups, heads = c.nHeads
        let scale = 1 / Float(hd).squareRoot()
        let work = t * heads
        let o = SendablePointer(pointer: out)
        // A token's attention is cheap at short contexts; only split when there is enough of it.
        let cost = work * (start + t)
        let useful = cost < 4096 ? 1 : threads
        QuantMatmul.parallelChunks(count: work, threads: useful) { range in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: start + t)
            defer { scores.deallocate() }
            for item in range {
                let i = item / heads, h = item % heads, kvh = h / groups
                let qp = q + i * qDim + h * hd
                let n = start + i + 1
                var maxScore = -Float.infinity
                for j in 0..<n {
                    let s = dot(qp, keys + j * kvDim + kvh * hd, hd) * scale
                    scores[j] = s
                    maxScore = Swift.max(maxScore, s)
                }
                var total: Float = 0
                for j in 0..<n {
                    let e = Foundation.exp(scores[j] - maxScore)
                    scores[j] = e
                    total += e
                }
                let inv = 1 / total
                if halfWeights { for j in 0..<n { scores[j] = Float(Float16(scores[j] * inv)) } }
                accumulate(scores, values + kvh * hd, stride: kvDim, count: n, hd: hd,
                           into: o.pointer + i * qDim + h * hd, scale: halfWeights ? 1 : inv)
            }
        }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            acc = acc.addingProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self),
                                    UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self))
            i += 16
        }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// `out = scale · Σ_j weights[j] · v[j]`, with `v[j]` at `values + j * stride`.
    @inline(__always)
    static func accumulate(_ weights: UnsafePointer<Float>, _ values: UnsafePointer<Float>, stride: Int, count: Int,
                           hd: Int, into out: UnsafeMutablePointer<Float>, scale: Float) {
        if hd == 64 {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            for j in 0..<count {
                let w = SIMD16<Float>(repeating: weights[j])
                let v = UnsafeRawPointer(values + j * stride)
                a0 = a0.addingProduct(w, v.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self))
                a1 = a1.addingProduct(w, v.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                a2 = a2.addingProduct(w, v.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self))
                a3 = a3.addingProduct(w, v.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self))
            }
            let s = SIMD16<Float>(repeating: scale)
            let r = UnsafeMutableRawPointer(out)
            r.storeBytes(of: a0 * s, toByteOffset: 0, as: SIMD16<Float>.self)
            r.storeBytes(of: a1 * s, toByteOffset: 64, as: SIMD16<Float>.self)
            r.storeBytes(of: a2 * s, toByteOffset: 128, as: SIMD16<Float>.self)
            r.storeBytes(of: a3 * s, toByteOffset: 192, as: SIMD16<Float>.self)
            return
        }
        for k in 0..<hd { out[k] = 0 }
        for j in 0..<count {
            let w = weights[j] * scale, v = values + j * stride
            for k in 0..<hd { out[k] += w * v[k] }
        }
    }
}
