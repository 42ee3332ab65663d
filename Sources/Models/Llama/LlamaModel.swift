// The Llama-family decoder for inference, top-down: model → block → attention → feed-forward,
// run on the GGUF's quantised weights directly (matvec for one token, dequantised tiles and
// sgemm for a prompt; see LlamaProducts) with Float32 activations and a KV cache. Training
// uses `LlamaTrainable` instead.
import Foundation
import Tensor

/// Keys and values of every layer for the positions seen so far.
public final class LlamaKVCache {
    /// Positions the cache can hold.
    public let capacity: Int
    /// Positions filled.
    public internal(set) var count = 0
    let kvDim: Int
    /// Positions per key row: `capacity` rounded up to whole vectors of scores.
    let keyStride: Int
    /// Per layer, `(nKVHeads, headDim, keyStride)` after RoPE: transposed, positions contiguous
    /// (see LlamaAttention).
    let keys: [UnsafeMutablePointer<Float>]
    /// Per layer, `(capacity, kvDim)`.
    let values: [UnsafeMutablePointer<Float>]

    /// An empty cache for `config` with room for `capacity` positions.
    public init(config: LlamaConfig, capacity: Int) {
        self.capacity = capacity
        kvDim = config.kvDim
        let stride = LlamaAttention.roundUp(Swift.max(capacity, 1))
        keyStride = stride
        keys = (0..<config.nLayers).map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: stride * config.kvDim)
            p.initialize(repeating: 0, count: stride * config.kvDim)
            return p
        }
        values = (0..<config.nLayers).map { _ in .allocate(capacity: Swift.max(capacity, 1) * config.kvDim) }
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    /// Forgets positions from `position` on (e.g. to re-use a shared prompt prefix).
    public func truncate(to position: Int) { count = Swift.min(count, Swift.max(0, position)) }
}

/// One decoder block's weights, named as llama.cpp names them.
struct LlamaBlockWeights {
    var attnNorm: [Float]
    var attnQ, attnK, attnV, attnOutput: LlamaMatrix
    var attnQBias, attnKBias, attnVBias: [Float]?
    var ffnNorm: [Float]
    var ffnGate, ffnUp, ffnDown: LlamaMatrix
}

/// A Llama-family decoder over a GGUF file's (quantised) weights.
public final class LlamaModel: @unchecked Sendable {
    /// Shape and numerics.
    public let config: LlamaConfig
    /// The tokenizer the GGUF describes.
    public let tokenizer: any Tokenizer
    /// The file the weights live in (memory-mapped; kept open).
    public let file: GGUFFile
    /// Threads for the matrix kernels and attention.
    public var threads: Int = QuantMatmul.defaultThreads
    /// Round activations as llama.cpp's CPU backend does (8-bit blocks into the quantised
    /// products, f16 queries, keys, values and attention weights). Off by default; the parity
    /// tests use it to show the remaining differences are rounding alone.
    public var emulateLlamaCppRounding = false
    let rope: Rope
    let tokenEmbedding: QuantizedMatrix   // (vocab, dModel)
    let output: LlamaMatrix               // (vocab, dModel); the embedding when tied
    let outputNorm: [Float]
    let blocks: [LlamaBlockWeights]

    /// Opens the GGUF at `path`.
    /// - Throws: `GGUFError` for a bad file, `LlamaError` for an unsupported model.
    public convenience init(path: String) throws {
        try self.init(gguf: GGUFFile(path: path))
    }

    /// Builds the model over `file`'s tensors, checking every shape against the metadata.
    public init(gguf file: GGUFFile) throws {
        let c = try LlamaConfig(gguf: file)
        config = c
        self.file = file
        tokenizer = try makeTokenizer(gguf: file)
        func matrix(_ name: String, _ rows: Int, _ columns: Int) throws -> LlamaMatrix {
            let t = try file.requireWeight(name)
            guard t.info.rowCount == rows, t.info.rowLength == columns else {
                throw LlamaError.tensorShape(name: name, expected: [rows, columns], found: [t.info.rowCount, t.info.rowLength])
            }
            return LlamaMatrix(t.matrix)
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] {
            let t = try file.requireWeight(name)
            guard t.info.elementCount == n else { throw LlamaError.tensorShape(name: name, expected: [n], found: [t.info.elementCount]) }
            return t.dequantized()
        }
        let embedding = try matrix(LlamaGGUFName.tokenEmbedding, c.vocabularySize, c.dModel)
        tokenEmbedding = embedding.quantized
        output = c.tiedOutput ? embedding : try matrix(LlamaGGUFName.output, c.vocabularySize, c.dModel)
        outputNorm = try vector(LlamaGGUFName.outputNorm, c.dModel)
        rope = Rope(config: c, frequencyFactors: file.tensor(named: "rope_freqs.weight")?.dequantized())
        blocks = try (0..<c.nLayers).map { l in
            LlamaBlockWeights(
                attnNorm: try vector(LlamaGGUFName.attnNorm(l), c.dModel),
                attnQ: try matrix(LlamaGGUFName.attnQ(l), c.qDim, c.dModel),
                attnK: try matrix(LlamaGGUFName.attnK(l), c.kvDim, c.dModel),
                attnV: try matrix(LlamaGGUFName.attnV(l), c.kvDim, c.dModel),
                attnOutput: try matrix(LlamaGGUFName.attnOutput(l), c.dModel, c.qDim),
                attnQBias: c.attentionBias ? try vector("blk.\(l).attn_q.bias", c.qDim) : nil,
                attnKBias: c.attentionBias ? try vector("blk.\(l).attn_k.bias", c.kvDim) : nil,
                attnVBias: c.attentionBias ? try vector("blk.\(l).attn_v.bias", c.kvDim) : nil,
                ffnNorm: try vector(LlamaGGUFName.ffnNorm(l), c.dModel),
                ffnGate: try matrix(LlamaGGUFName.ffnGate(l), c.ffnDim, c.dModel),
                ffnUp: try matrix(LlamaGGUFName.ffnUp(l), c.ffnDim, c.dModel),
                ffnDown: try matrix(LlamaGGUFName.ffnDown(l), c.dModel, c.ffnDim))
        }
    }

    /// Assembles a model from weights already in memory (for example a trainable model with its
    /// adapters folded in; see `LlamaModel(merging:gguf:)`); `file` supplies the metadata.
    init(config: LlamaConfig, file: GGUFFile, tokenizer: any Tokenizer, rope: Rope, tokenEmbedding: QuantizedMatrix,
         output: LlamaMatrix, outputNorm: [Float], blocks: [LlamaBlockWeights]) {
        self.config = config
        self.file = file
        self.tokenizer = tokenizer
        self.rope = rope
        self.tokenEmbedding = tokenEmbedding
        self.output = output
        self.outputNorm = outputNorm
        self.blocks = blocks
    }

    /// A KV cache for this model; `capacity` defaults to the training context length.
    public func makeCache(capacity: Int? = nil) -> LlamaKVCache {
        LlamaKVCache(config: config, capacity: capacity ?? config.contextLength)
    }

    /// Runs `tokens` after the positions already in `cache`, appending their keys and values.
    /// - Parameters:
    ///   - allLogits: return logits for every input position; otherwise only for the last.
    /// - Returns: `(allLogits ? tokens.count : 1) × vocabularySize` logits, row-major.
    /// - Throws: `LlamaError.emptyInput`, `.tokenOutOfRange`, `.contextFull`.
    public func forward(_ tokens: [Int], cache: LlamaKVCache, allLogits: Bool = false) throws -> [Float] {
        let c = config, t = tokens.count, d = c.dModel, start = cache.count
        guard t > 0 else { throw LlamaError.emptyInput }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= c.vocabularySize }) {
            throw LlamaError.tokenOutOfRange(id: bad, vocabularySize: c.vocabularySize)
        }
        guard start + t <= cache.capacity else { throw LlamaError.contextFull(capacity: cache.capacity, needed: start + t) }

        let x = Buffer(t * d)                                          // (T, dModel) residual stream
        let dequantize = tokenEmbedding.type.traits.dequantizeRow
        for (i, id) in tokens.enumerated() { dequantize(tokenEmbedding.row(id), x.p + i * d, d) }
        let (cosTable, sinTable) = rope.tables(start..<(start + t))    // (T, ropeDims/2) each
        let scratch = BlockScratch(config: c, tokens: t)
        for (l, block) in blocks.enumerated() {
            cosTable.withUnsafeBufferPointer { cp in sinTable.withUnsafeBufferPointer { sp in
                guard let cb = cp.baseAddress, let sb = sp.baseAddress else { return }
                attention(block, layer: l, x: x.p, tokens: t, start: start, cache: cache, scratch: scratch, cos: cb, sin: sb)
            } }
            feedForward(block, x: x.p, tokens: t, scratch: scratch)
        }
        cache.count = start + t

        // Final norm and head, only on the rows whose logits are wanted.
        let rows = allLogits ? t : 1, first = t - rows
        let h = Buffer(rows * d)                                       // (rows, dModel)
        for r in 0..<rows { rmsNorm(x.p + (first + r) * d, outputNorm, h.p + r * d, d, c.rmsNormEpsilon) }
        roundForProduct(h.p, rows * d)
        var logits = [Float](repeating: 0, count: rows * c.vocabularySize)
        logits.withUnsafeMutableBufferPointer { lp in
            if let base = lp.baseAddress { LlamaProducts.multiply(output, h.p, batch: rows, base, threads: threads) }
        }
        return logits
    }

    // MARK: - Attention

    /// `x += Wo · attention(RoPE(Wq·n), RoPE(Wk·n), Wv·n)` with `n = rmsNorm(x)`, causal over
    /// the cache plus the new rows.
    func attention(_ b: LlamaBlockWeights, layer: Int, x: UnsafeMutablePointer<Float>, tokens t: Int, start: Int,
                   cache: LlamaKVCache, scratch s: BlockScratch, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let c = config, d = c.dModel, kvDim = c.kvDim, qDim = c.qDim, half = rope.dimensions / 2
        for i in 0..<t { rmsNorm(x + i * d, b.attnNorm, s.normed.p + i * d, d, c.rmsNormEpsilon) }
        let keys = s.k.p, values = cache.values[layer] + start * kvDim
        roundForProduct(s.normed.p, t * d)
        // q (T, qDim), k (T, kvDim), v (T, kvDim) into the cache.
        LlamaProducts.multiply([(b.attnQ, s.q.p), (b.attnK, keys), (b.attnV, values)], s.normed.p, batch: t, threads: threads)
        if let bq = b.attnQBias, let bk = b.attnKBias, let bv = b.attnVBias {
            for i in 0..<t {
                for j in 0..<qDim { s.q.p[i * qDim + j] += bq[j] }
                for j in 0..<kvDim { keys[i * kvDim + j] += bk[j]; values[i * kvDim + j] += bv[j] }
            }
        }
        for i in 0..<t {
            rope.apply(s.q.p + i * qDim, heads: c.nHeads, headDim: c.headDim, cos: cos + i * half, sin: sin + i * half)
            rope.apply(keys + i * kvDim, heads: c.nKVHeads, headDim: c.headDim, cos: cos + i * half, sin: sin + i * half)
        }
        if emulateLlamaCppRounding {
            LlamaRounding.half(s.q.p, t * qDim); LlamaRounding.half(keys, t * kvDim); LlamaRounding.half(values, t * kvDim)
        }
        // Keys into the cache transposed: (nKVHeads, headDim, keyStride).
        let cached = cache.keys[layer], stride = cache.keyStride, hd = c.headDim
        for i in 0..<t {
            for g in 0..<c.nKVHeads {
                let src = keys + i * kvDim + g * hd, dst = cached + g * hd * stride + start + i
                for e in 0..<hd { dst[e * stride] = src[e] }
            }
        }
        LlamaAttention.causal(q: s.q.p, keys: cached, keyStride: stride, values: cache.values[layer], out: s.attn.p,
                              tokens: t, start: start, config: c, threads: threads,
                              halfWeights: emulateLlamaCppRounding)                             // (T, qDim)
        roundForProduct(s.attn.p, t * qDim)
        LlamaProducts.multiply(b.attnOutput, s.attn.p, batch: t, s.projected.p, threads: threads) // (T, dModel)
        for i in 0..<(t * d) { x[i] += s.projected.p[i] }
    }

    // MARK: - Feed-forward

    /// `x += Wdown · (silu(Wgate·n) ⊙ Wup·n)` with `n = rmsNorm(x)` (SwiGLU).
    func feedForward(_ b: LlamaBlockWeights, x: UnsafeMutablePointer<Float>, tokens t: Int, scratch s: BlockScratch) {
        let c = config, d = c.dModel, f = c.ffnDim
        for i in 0..<t { rmsNorm(x + i * d, b.ffnNorm, s.normed.p + i * d, d, c.rmsNormEpsilon) }
        roundForProduct(s.normed.p, t * d)
        LlamaProducts.multiply([(b.ffnGate, s.gate.p), (b.ffnUp, s.up.p)], s.normed.p, batch: t, threads: threads) // (T, ffnDim) each
        LlamaActivation.swiGLU(s.gate.p, s.up.p, t * f)
        roundForProduct(s.gate.p, t * f)
        LlamaProducts.multiply(b.ffnDown, s.gate.p, batch: t, s.projected.p, threads: threads) // (T, dModel)
        for i in 0..<(t * d) { x[i] += s.projected.p[i] }
    }
}

extension LlamaModel {
    /// In llama.cpp mode, rounds a product's input to 8-bit blocks of 32 (Q8_0/Q8_1 activations).
    @inline(__always) func roundForProduct(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        if emulateLlamaCppRounding { LlamaRounding.blocks8(x, n) }
    }
}

/// The roundings llama.cpp's CPU backend applies to activations.
enum LlamaRounding {
    /// Each block of 32: `d = max|x| / 127`, `x ← round(x / d) · f16(d)` (ggml's quantize_row_q8_0/1).
    static func blocks8(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var b = 0
        while b < n {
            let end = Swift.min(b + 32, n)
            var amax: Float = 0
            for i in b..<end { amax = Swift.max(amax, abs(x[i])) }
            let d = amax / 127, id: Float = d == 0 ? 0 : 1 / d
            let dh = Float(Float16(d))
            for i in b..<end { x[i] = (x[i] * id).rounded(.toNearestOrAwayFromZero) * dh }
            b = end
        }
    }

    /// Rounds to Float16 and back (f16 KV cache and attention operands).
    static func half(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { x[i] = Float(Float16(x[i])) }
    }
}

/// The sum of a vector's lanes by halving; the standard library's `sum()` stays a generic,
/// out-of-line call here (6.7% of generation time in the profile).
@inline(__always)
func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let a = v.lowHalf + v.highHalf, b = a.lowHalf + a.highHalf, c = b.lowHalf + b.highHalf
    return c[0] + c[1]
}

/// `out = x / sqrt(mean(x²) + eps) * weight` over `n` floats.
@inline(__always)
func rmsNorm(_ x: UnsafePointer<Float>, _ weight: [Float], _ out: UnsafeMutablePointer<Float>, _ n: Int, _ eps: Float) {
    var sum: Float = 0
    for i in 0..<n { sum += x[i] * x[i] }
    let scale = 1 / (sum / Float(n) + eps).squareRoot()
    weight.withUnsafeBufferPointer { w in
        guard let wp = w.baseAddress else { return }
        for i in 0..<n { out[i] = x[i] * scale * wp[i] }
    }
}

/// A heap buffer of floats freed with its owner.
final class Buffer: @unchecked Sendable {
    let p: UnsafeMutablePointer<Float>
    let count: Int
    init(_ count: Int) {
        self.count = count
        p = .allocate(capacity: Swift.max(count, 1))
        p.initialize(repeating: 0, count: Swift.max(count, 1))
    }
    deinit { p.deallocate() }
}

/// Activations one block needs, allocated once per forward call.
final class BlockScratch {
    let normed, q, k, attn, projected, gate, up: Buffer
    init(config c: LlamaConfig, tokens t: Int) {
        normed = Buffer(t * c.dModel); q = Buffer(t * c.qDim); k = Buffer(t * c.kvDim); attn = Buffer(t * c.qDim)
        projected = Buffer(t * c.dModel); gate = Buffer(t * c.ffnDim); up = Buffer(t * c.ffnDim)
    }
}

/// The feed-forward's gate: `gate[i] = silu(gate[i]) · up[i]`, 16 lanes at a time with the
/// engine's SIMD exp (scalar libm for the tail).
enum LlamaActivation {
    static func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        var i = 0
        while i + 16 <= n {
            let g = UnsafeRawPointer(gate + i).loadUnaligned(as: Vec.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: Vec.self)
            UnsafeMutableRawPointer(gate + i).storeBytes(of: g / (1 + VMath.exp(-g)) * u, as: Vec.self)
            i += 16
        }
        while i < n { gate[i] = gate[i] / (1 + Foundation.exp(-gate[i])) * up[i]; i += 1 }
    }
}
