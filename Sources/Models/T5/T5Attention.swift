// T5 attention: relative position buckets and their learned bias, multi-head attention without
// scaling (T5 folds 1/sqrt(d) into the initialisation), padding and causal masks, attention
// dropout, and the incremental form that generation runs against a KV cache.

import Foundation
import NN
import Tensor

// MARK: - Relative positions

/// T5's bucketing of relative positions (transformers' `_relative_position_bucket`).
public enum T5RelativePosition {
    /// The bucket of `relative` = key position - query position.
    /// Half the buckets are exact small distances, the other half grow logarithmically up to
    /// `maxDistance`; bidirectional (encoder) buckets split again by sign, causal (decoder)
    /// buckets see only keys at or before the query.
    public static func bucket(_ relative: Int, bidirectional: Bool, numBuckets: Int, maxDistance: Int) -> Int {
        var buckets = numBuckets, result = 0, distance: Int
        if bidirectional {
            buckets /= 2
            if relative > 0 { result += buckets }
            distance = abs(relative)
        } else {
            distance = -Swift.min(relative, 0)
        }
        let maxExact = buckets / 2
        if distance < maxExact { return result + distance }
        // Float32 throughout, like torch: log(d / maxExact) / log(maxDistance / maxExact) * (buckets - maxExact).
        let ratio = Float(distance) / Float(maxExact)
        let scale = Float(Foundation.log(Double(maxDistance) / Double(maxExact)))
        let large = maxExact + Int(Foundation.log(ratio) / scale * Float(buckets - maxExact))
        return result + Swift.min(large, buckets - 1)
    }

    /// Int32 buckets (Tq, Tk) for queries at `queryOffset ..< queryOffset + queryLength` and keys `0 ..< keyLength`.
    public static func buckets(queryLength: Int, keyLength: Int, queryOffset: Int = 0, bidirectional: Bool,
                               numBuckets: Int, maxDistance: Int) -> Tensor {
        var ids = [Int32](repeating: 0, count: queryLength * keyLength)
        for i in 0..<queryLength {
            for j in 0..<keyLength {
                ids[i * keyLength + j] = Int32(bucket(j - (i + queryOffset), bidirectional: bidirectional,
                                                      numBuckets: numBuckets, maxDistance: maxDistance))
            }
        }
        return Tensor(indices: ids, shape: [queryLength, keyLength])
    }
}

// MARK: - Attention

/// Multi-head attention as T5 does it: q, k, v, o without biases, no 1/sqrt(d) scale, and (in the
/// first block of each stack) a learned relative position bias that the other blocks reuse.
final class T5Attention: Module {
    let nHeads: Int, dKV: Int
    let bidirectional: Bool
    let numBuckets: Int, maxDistance: Int
    let q: Linear, k: Linear, v: Linear, o: Linear
    let relativeAttentionBias: Embedding?
    let dropout: Dropout

    init(_ config: T5Config, isDecoder: Bool, hasRelativeBias: Bool, seed: UInt64, rng: inout RNG) {
        nHeads = config.numHeads
        dKV = config.dKV
        bidirectional = !isDecoder
        numBuckets = config.relativeAttentionNumBuckets
        maxDistance = config.relativeAttentionMaxDistance
        let inner = nHeads * dKV, d = config.dModel
        // Hugging Face's _init_weights: q absorbs the missing 1/sqrt(d_kv).
        q = T5Init.linear(d, inner, std: 1 / Float(d * dKV).squareRoot(), rng: &rng)
        k = T5Init.linear(d, inner, std: 1 / Float(d).squareRoot(), rng: &rng)
        v = T5Init.linear(d, inner, std: 1 / Float(d).squareRoot(), rng: &rng)
        o = T5Init.linear(inner, d, std: 1 / Float(inner).squareRoot(), rng: &rng)
        relativeAttentionBias = hasRelativeBias
            ? Embedding(numBuckets, nHeads, std: 1 / Float(d).squareRoot(), rng: &rng) : nil
        dropout = Dropout(config.dropoutRate, seed: seed)
    }

    override func namedChildren() -> [(String, Module)] {
        var out: [(String, Module)] = [("q", q), ("k", k), ("v", v), ("o", o)]
        if let bias = relativeAttentionBias { out.append(("relative_attention_bias", bias)) }
        out.append(("dropout", dropout))
        return out
    }

    override func ownParameters() -> [(String, Tensor)] { [] }

    /// The position bias (H, Tq, Tk) for queries at `queryOffset...`; zeros when this layer has no table.
    func positionBias(queryLength: Int, keyLength: Int, queryOffset: Int = 0) -> Tensor {
        guard let table = relativeAttentionBias else { return Tensor.zeros([nHeads, queryLength, keyLength]) }
        let ids = T5RelativePosition.buckets(queryLength: queryLength, keyLength: keyLength, queryOffset: queryOffset,
                                             bidirectional: bidirectional, numBuckets: numBuckets, maxDistance: maxDistance)
        return table(ids).permuted([2, 0, 1])                            // (Tq, Tk, H) -> (H, Tq, Tk)
    }

    /// (B, T, H*D) -> (B, H, T, D) as a strided view (no copy).
    func heads(_ x: Tensor) -> Tensor {
        x.reshaped([x.shape[0], x.shape[1], nHeads, dKV]).transposed(1, 2)
    }

    /// Attention of `x` (B, Tq, C) over `memory` (B, Tk, C) (itself for self-attention).
    /// - Parameters:
    ///   - mask: (B, 1, 1, Tk) with 0 at padding keys, (B, 1, Tq, Tk) with 0 where a query may not
    ///     see a key (packed rows; a query may see no key at all, and then attends to nothing), or nil.
    ///   - bias: (H, Tq, Tk) relative position bias, or nil (cross-attention).
    ///   - causal: query i sees keys 0...i (decoder self-attention).
    func callAsFunction(_ x: Tensor, memory: Tensor? = nil, mask: Tensor?, bias: Tensor?, causal: Bool) -> Tensor {
        let source = memory ?? x
        let query = heads(q(x)), key = heads(k(source)), value = heads(v(source))   // (B, H, T, D)
        return o(attend(query, key, value, mask: mask, bias: bias, causal: causal))
    }

    /// Scores, mask, softmax, (dropout), weighted values: (B, H, Tq, D) -> (B, Tq, H*D).
    func attend(_ query: Tensor, _ key: Tensor, _ value: Tensor, mask: Tensor?, bias: Tensor?, causal: Bool) -> Tensor {
        let (b, tq) = (query.shape[0], query.shape[2])
        let out: Tensor
        if dropout.isTraining && dropout.p > 0 {
            out = unfusedAttention(query, key, value, mask: mask, bias: bias, causal: causal)
        } else {
            out = Tensor.attention(query: query, key: key, value: value, mask: mask, bias: bias, causal: causal, scale: 1)
        }
        return out.transposed(1, 2).reshaped([b, tq, nHeads * dKV])          // (B, Tq, H*D)
    }

    /// Attention from primitive ops, so that dropout can act on the probabilities (training only).
    func unfusedAttention(_ query: Tensor, _ key: Tensor, _ value: Tensor, mask: Tensor?, bias: Tensor?, causal: Bool) -> Tensor {
        let tq = query.shape[2], tk = key.shape[2]
        var scores = query.matmul(key.transposed())                       // (B, H, Tq, Tk)
        if let bias { scores = scores + bias }
        if let additive = T5Masks.additive(mask: mask, causal: causal, queryLength: tq, keyLength: tk) {
            scores = scores + additive
        }
        let probs = dropout(scores.softmax(axis: -1))
        return probs.matmul(value)                                        // (B, H, Tq, D)
    }
}

// MARK: - Masks and initialisation

enum T5Masks {
    /// The padding mask (B, 1, 1, T) as float 0/1 from a (B, T) mask of any dtype.
    static func keyMask(_ attentionMask: Tensor) -> Tensor {
        attentionMask.cast(to: .float32).reshaped([attentionMask.shape[0], 1, 1, attentionMask.shape[1]])
    }

    /// -inf where a key is hidden (mask 0, or after the query when causal), 0 elsewhere; `mask` is
    /// any 0/1 mask broadcastable to (B, H, Tq, Tk). A row hidden entirely softmaxes to zeros, as
    /// in the fused kernel.
    static func additive(mask: Tensor?, causal: Bool, queryLength tq: Int, keyLength tk: Int) -> Tensor? {
        var out: Tensor?
        if let mask {
            let m = mask.detached().scalars.map { $0 == 0 ? -Float.infinity : 0 }
            out = Tensor(m, shape: mask.shape)
        }
        if causal {
            var c = [Float](repeating: 0, count: tq * tk)
            for i in 0..<tq { for j in 0..<tk where j > i + tk - tq { c[i * tk + j] = -.infinity } }
            let causalMask = Tensor(c, shape: [tq, tk])
            out = out.map { $0 + causalMask } ?? causalMask
        }
        return out
    }
}

enum T5Init {
    /// A bias-free Linear (in -> out) with Normal(0, std) weights.
    static func linear(_ inFeatures: Int, _ outFeatures: Int, std: Float, rng: inout RNG) -> Linear {
        let layer = Linear(inFeatures, outFeatures, bias: false, rng: &rng)
        layer.weight.assign(rng.normal([outFeatures, inFeatures], std: std))
        return layer
    }
}
