// One generation step for several sequences at once: each sequence has its own KV cache and
// position, but the weight products run over all their rows together, so a step reads every
// weight once instead of once per sequence (generation is bound by reading weights).
import Foundation

extension LlamaModel {
    /// Runs one new token for each of several sequences, each after the positions in its own
    /// cache, and appends their keys and values.
    /// - Parameters:
    ///   - tokens: the next token of each sequence.
    ///   - caches: one distinct cache per token.
    /// - Returns: `tokens.count × vocabularySize` logits, row-major, in the order of `tokens`.
    /// - Throws: `LlamaError.emptyInput`, `.tokenOutOfRange`, `.contextFull`, and
    ///   `.adapterMismatch` when the caches do not pair one to one with the tokens.
    public func forward(next tokens: [Int], caches: [LlamaKVCache]) throws -> [Float] {
        let c = config, n = tokens.count, d = c.dModel, kvDim = c.kvDim, qDim = c.qDim
        guard n > 0 else { throw LlamaError.emptyInput }
        guard caches.count == n, Set(caches.map(ObjectIdentifier.init)).count == n else {
            throw LlamaError.adapterMismatch("batched decoding needs one distinct cache per token (\(n) tokens, \(caches.count) caches)")
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= c.vocabularySize }) {
            throw LlamaError.tokenOutOfRange(id: bad, vocabularySize: c.vocabularySize)
        }
        if let full = caches.first(where: { $0.count + 1 > $0.capacity }) {
            throw LlamaError.contextFull(capacity: full.capacity, needed: full.count + 1)
        }
        let x = Buffer(n * d)                                          // (n, dModel)
        let dequantize = tokenEmbedding.type.traits.dequantizeRow
        for (i, id) in tokens.enumerated() { dequantize(tokenEmbedding.row(id), x.p + i * d, d) }
        let half = rope.dimensions / 2
        var cosTable: [Float] = [], sinTable: [Float] = []            // (n, half), each row its own position
        for cache in caches {
            let (cr, sr) = rope.tables(cache.count..<(cache.count + 1))
            cosTable += cr
            sinTable += sr
        }
        let s = BlockScratch(config: c, tokens: n)
        let keys = Buffer(n * kvDim), values = Buffer(n * kvDim)
        for (l, b) in blocks.enumerated() {
            for i in 0..<n { rmsNorm(x.p + i * d, b.attnNorm, s.normed.p + i * d, d, c.rmsNormEpsilon) }
            roundForProduct(s.normed.p, n * d)
            LlamaProducts.multiply(b.attnQ, s.normed.p, batch: n, s.q.p, threads: threads)      // (n, qDim)
            LlamaProducts.multiply(b.attnK, s.normed.p, batch: n, keys.p, threads: threads)     // (n, kvDim)
            LlamaProducts.multiply(b.attnV, s.normed.p, batch: n, values.p, threads: threads)   // (n, kvDim)
            if let bq = b.attnQBias, let bk = b.attnKBias, let bv = b.attnVBias {
                for i in 0..<n {
                    for j in 0..<qDim { s.q.p[i * qDim + j] += bq[j] }
                    for j in 0..<kvDim { keys.p[i * kvDim + j] += bk[j]; values.p[i * kvDim + j] += bv[j] }
                }
            }
            cosTable.withUnsafeBufferPointer { cp in sinTable.withUnsafeBufferPointer { sp in
                guard let cb = cp.baseAddress, let sb = sp.baseAddress else { return }
                for i in 0..<n {
                    rope.apply(s.q.p + i * qDim, heads: c.nHeads, headDim: c.headDim, cos: cb + i * half, sin: sb + i * half)
                    rope.apply(keys.p + i * kvDim, heads: c.nKVHeads, headDim: c.headDim, cos: cb + i * half, sin: sb + i * half)
                }
            } }
            if emulateLlamaCppRounding {
                LlamaRounding.half(s.q.p, n * qDim); LlamaRounding.half(keys.p, n * kvDim); LlamaRounding.half(values.p, n * kvDim)
            }
            for (i, cache) in caches.enumerated() {
                let position = cache.count
                // Keys go into the cache transposed, (nKVHeads, headDim, keyStride), as `attention` writes them.
                let cached = cache.keys[l], stride = cache.keyStride, hd = c.headDim
                for g in 0..<c.nKVHeads {
                    let src = keys.p + i * kvDim + g * hd, dst = cached + g * hd * stride + position
                    for e in 0..<hd { dst[e * stride] = src[e] }
                }
                (cache.values[l] + position * kvDim).update(from: values.p + i * kvDim, count: kvDim)
                LlamaAttention.causal(q: s.q.p + i * qDim, keys: cached, keyStride: stride, values: cache.values[l],
                                      out: s.attn.p + i * qDim, tokens: 1, start: position, config: c, threads: threads,
                                      halfWeights: emulateLlamaCppRounding)
            }
            roundForProduct(s.attn.p, n * qDim)
            LlamaProducts.multiply(b.attnOutput, s.attn.p, batch: n, s.projected.p, threads: threads)  // (n, dModel)
            for i in 0..<(n * d) { x.p[i] += s.projected.p[i] }
            feedForward(b, x: x.p, tokens: n, scratch: s)
        }
        for cache in caches { cache.count += 1 }

        let h = Buffer(n * d)
        for i in 0..<n { rmsNorm(x.p + i * d, outputNorm, h.p + i * d, d, c.rmsNormEpsilon) }
        roundForProduct(h.p, n * d)
        var logits = [Float](repeating: 0, count: n * c.vocabularySize)
        logits.withUnsafeMutableBufferPointer { lp in
            if let base = lp.baseAddress { LlamaProducts.multiply(output, h.p, batch: n, base, threads: threads) }
        }
        return logits
    }
}
