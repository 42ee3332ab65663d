// Causal attention over the KV cache for the inference path. Keys are cached transposed, per KV
// head `(headDim, stride)` with positions contiguous, so a query's scores against 16 positions
// are 16 lanes of FMAs over the head dimension: no horizontal sum per key, and the query heads
// of a group share each key load. Softmax uses the SIMD exp; the weighted sum of values keeps a
// head's output in registers (head width 64) while the group's heads share each value load.
import Foundation
import Tensor

enum LlamaAttention {
    /// Positions per vector of scores.
    static let lanes = 16

    /// `out[i, h] = softmax(q[i, h] · K[0...start+i, h/groups] / sqrt(headDim)) · V[...]`.
    /// - Parameters:
    ///   - q: (T, nHeads·headDim) queries after RoPE.
    ///   - keys: the layer's transposed keys, (nKVHeads, headDim, keyStride), filled up to `start + T`.
    ///   - values: (capacity, nKVHeads·headDim) for the layer, filled up to `start + T`.
    ///   - out: (T, nHeads·headDim).
    ///   - halfWeights: round the normalised attention weights to f16 (llama.cpp's rounding).
    static func causal(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, keyStride: Int, values: UnsafePointer<Float>,
                       out: UnsafeMutablePointer<Float>, tokens t: Int, start: Int, config c: LlamaConfig, threads: Int,
                       halfWeights: Bool = false) {
        let hd = c.headDim, groups = c.kvGroups, kvHeads = c.nKVHeads
        // One item per (query, KV head, part of the group's query heads). The heads of a group
        // share key and value loads; a single token splits its groups into single heads so that
        // two threads get even shares.
        let parts = t * kvHeads >= 2 * threads ? 1 : groups
        let work = t * kvHeads * parts
        let o = SendablePointer(out)
        // A token's attention is cheap at short contexts; only split when there is enough of it.
        let useful = t * c.nHeads * (start + t) * hd < 65536 ? 1 : threads
        QuantMatmul.parallelChunks(count: work, threads: useful) { range in
            let width = roundUp(start + t)
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: groups * width)   // (groups, width)
            defer { scores.deallocate() }
            for item in range {
                let part = item % parts, g = (item / parts) % kvHeads, i = item / (parts * kvHeads)
                let heads = parts == 1 ? 0..<groups : part..<(part + 1)
                head(q: q, keys: keys, keyStride: keyStride, values: values, out: o.p, query: i, start: start,
                     group: g, heads: heads, scores: scores, width: width, config: c, halfWeights: halfWeights)
            }
        }
    }

    @inline(__always) static func roundUp(_ n: Int) -> Int { (n + lanes - 1) / lanes * lanes }

    /// Attention of query `i` for the query heads `heads` (indices inside KV group `g`).
    static func head(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, keyStride: Int, values: UnsafePointer<Float>,
                     out: UnsafeMutablePointer<Float>, query i: Int, start: Int, group g: Int, heads: Range<Int>,
                     scores: UnsafeMutablePointer<Float>, width: Int, config c: LlamaConfig, halfWeights: Bool) {
        let hd = c.headDim, qDim = c.qDim, kvDim = c.kvDim, groups = c.kvGroups
        let n = start + i + 1, padded = roundUp(n)
        let scale = 1 / Float(hd).squareRoot()
        let kt = keys + g * hd * keyStride
        let firstHead = g * groups
        // Scores, four heads at a time sharing each key vector.
        var h0 = heads.lowerBound
        while h0 < heads.upperBound {
            let hn = Swift.min(4, heads.upperBound - h0)
            let hs = (h0, h0 + Swift.min(1, hn - 1), h0 + Swift.min(2, hn - 1), h0 + Swift.min(3, hn - 1))
            let qs = (q + i * qDim + (firstHead + hs.0) * hd, q + i * qDim + (firstHead + hs.1) * hd,
                      q + i * qDim + (firstHead + hs.2) * hd, q + i * qDim + (firstHead + hs.3) * hd)
            var j = 0
            while j < padded {
                var a0 = Vec(), a1 = Vec(), a2 = Vec(), a3 = Vec()
                for d in 0..<hd {
                    let k = UnsafeRawPointer(kt + d * keyStride + j).loadUnaligned(as: Vec.self)
                    a0 = a0.addingProduct(k, qs.0[d]); a1 = a1.addingProduct(k, qs.1[d])
                    a2 = a2.addingProduct(k, qs.2[d]); a3 = a3.addingProduct(k, qs.3[d])
                }
                let results = (a0, a1, a2, a3)
                store(results.0 * scale, scores + hs.0 * width + j)
                if hn > 1 { store(results.1 * scale, scores + hs.1 * width + j) }
                if hn > 2 { store(results.2 * scale, scores + hs.2 * width + j) }
                if hn > 3 { store(results.3 * scale, scores + hs.3 * width + j) }
                j += lanes
            }
            h0 += 4
        }
        // Softmax per head over the n positions (the padding lanes get weight 0).
        var norms = SIMD4<Float>(repeating: 1)
        for h in heads {
            let row = scores + h * width
            for j in n..<padded { row[j] = -.infinity }
            var m = Vec(repeating: -.infinity)
            var j = 0
            while j < padded { m = VMath.max(m, load(row + j)); j += lanes }
            let mv = Vec(repeating: horizontalMax(m))
            var total = Vec()
            j = 0
            while j < padded { let e = VMath.exp(load(row + j) - mv); store(e, row + j); total += e; j += lanes }
            let inv = 1 / horizontalSum(total)
            if halfWeights {
                for j in 0..<n { row[j] = Float(Float16(row[j] * inv)) }
                norms[(h - heads.lowerBound) % 4] = 1
            } else {
                norms[(h - heads.lowerBound) % 4] = inv
            }
            if (h - heads.lowerBound) % 4 == 3 || h == heads.upperBound - 1 {
                let first = h - (h - heads.lowerBound) % 4
                accumulate(scores: scores, width: width, heads: first..<(h + 1), values: values + g * hd, stride: kvDim,
                           count: n, hd: hd, out: out + i * qDim + firstHead * hd, norms: norms)
            }
        }
    }

    @inline(__always) static func horizontalMax(_ v: Vec) -> Float {
        let a = pointwiseMax(v.lowHalf, v.highHalf), b = pointwiseMax(a.lowHalf, a.highHalf)
        let c = pointwiseMax(b.lowHalf, b.highHalf)
        return Swift.max(c[0], c[1])
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Vec { UnsafeRawPointer(p).loadUnaligned(as: Vec.self) }
    @inline(__always) static func store(_ v: Vec, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self)
    }

    /// For up to four heads: `out[h] = norms[h] · Σ_j scores[h, j] · v[j]`, with `v[j]` at
    /// `values + j * stride`; the heads share each value load.
    @inline(__always)
    static func accumulate(scores: UnsafePointer<Float>, width: Int, heads: Range<Int>, values: UnsafePointer<Float>,
                           stride: Int, count: Int, hd: Int, out: UnsafeMutablePointer<Float>, norms: SIMD4<Float>) {
        let hn = heads.count
        if hd == 64 {
            let h = heads.lowerBound
            let w = (scores + h * width, scores + (h + Swift.min(1, hn - 1)) * width,
                     scores + (h + Swift.min(2, hn - 1)) * width, scores + (h + Swift.min(3, hn - 1)) * width)
            var a = (Vec(), Vec(), Vec(), Vec()), b = (Vec(), Vec(), Vec(), Vec())
            var c = (Vec(), Vec(), Vec(), Vec()), d = (Vec(), Vec(), Vec(), Vec())
            for j in 0..<count {
                let v = UnsafeRawPointer(values + j * stride)
                let v0 = v.loadUnaligned(fromByteOffset: 0, as: Vec.self), v1 = v.loadUnaligned(fromByteOffset: 64, as: Vec.self)
                let v2 = v.loadUnaligned(fromByteOffset: 128, as: Vec.self), v3 = v.loadUnaligned(fromByteOffset: 192, as: Vec.self)
                let s0 = w.0[j], s1 = w.1[j], s2 = w.2[j], s3 = w.3[j]
                a.0 = a.0.addingProduct(v0, s0); a.1 = a.1.addingProduct(v1, s0); a.2 = a.2.addingProduct(v2, s0); a.3 = a.3.addingProduct(v3, s0)
                b.0 = b.0.addingProduct(v0, s1); b.1 = b.1.addingProduct(v1, s1); b.2 = b.2.addingProduct(v2, s1); b.3 = b.3.addingProduct(v3, s1)
                c.0 = c.0.addingProduct(v0, s2); c.1 = c.1.addingProduct(v1, s2); c.2 = c.2.addingProduct(v2, s2); c.3 = c.3.addingProduct(v3, s2)
                d.0 = d.0.addingProduct(v0, s3); d.1 = d.1.addingProduct(v1, s3); d.2 = d.2.addingProduct(v2, s3); d.3 = d.3.addingProduct(v3, s3)
            }
            @inline(__always) func write(_ acc: (Vec, Vec, Vec, Vec), _ k: Int) {
                let p = out + (h + k) * hd, s = norms[k]
                store(acc.0 * s, p); store(acc.1 * s, p + 16); store(acc.2 * s, p + 32); store(acc.3 * s, p + 48)
            }
            write(a, 0)
            if hn > 1 { write(b, 1) }
            if hn > 2 { write(c, 2) }
            if hn > 3 { write(d, 3) }
            return
        }
        for (k, h) in heads.enumerated() {
            let p = out + h * hd, row = scores + h * width
            for e in 0..<hd { p[e] = 0 }
            for j in 0..<count {
                let s = row[j], v = values + j * stride
                for e in 0..<hd { p[e] += s * v[e] }
            }
            for e in 0..<hd { p[e] *= norms[k] }
        }
    }

    /// A plain SIMD dot product of `n` floats.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            acc = acc.addingProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self),
                                    UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self))
            i += 16
        }
        var s = horizontalSum(acc)
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }
}
