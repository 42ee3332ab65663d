// Batched generation for T5, greedy or sampled (temperature / top-k / top-p from a seed, through
// the same `Sampler` the Llama generator uses): encode once, keep each decoder block's
// cross-attention keys and values and a growing self-attention KV cache, and decode one token per
// step for every row until each row has produced eos or the token limit is reached. A
// cancellation check runs per token.

import Foundation
import NN
import Tensor

/// One decoder block's caches: self-attention keys/values written step by step, cross-attention
/// keys/values computed once from the encoder output.
final class T5DecoderCache {
    let selfKeys: Tensor, selfValues: Tensor                              // (B, Tmax, H, D)
    let crossKeys: Tensor, crossValues: Tensor                            // (B, H, Ts, D) views
    private(set) var length = 0

    init(batch: Int, capacity: Int, heads: Int, dKV: Int, crossKeys: Tensor, crossValues: Tensor) {
        selfKeys = Tensor.zeros([batch, capacity, heads, dKV])
        selfValues = Tensor.zeros([batch, capacity, heads, dKV])
        self.crossKeys = crossKeys
        self.crossValues = crossValues
    }

    /// Writes this step's keys and values (B, 1, H*D) at position `length` and returns the cached
    /// (B, H, length+1, D) views, without copying.
    func append(keys: Tensor, values: Tensor) -> (Tensor, Tensor) {
        let (b, capacity) = (selfKeys.shape[0], selfKeys.shape[1])
        let width = selfKeys.shape[2] * selfKeys.shape[3]
        precondition(length < capacity, "T5DecoderCache: capacity \(capacity) exceeded")
        for (source, cache) in [(keys.contiguous(), selfKeys), (values.contiguous(), selfValues)] {
            source.withUnsafeMutableFloats { src in
                cache.withUnsafeMutableFloats { dst in
                    guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                    for row in 0..<b { (d + (row * capacity + length) * width).update(from: s + row * width, count: width) }
                }
            }
        }
        length += 1
        let k = selfKeys.slice(axis: 1, 0..<length).transposed(1, 2)      // (B, H, t, D)
        let v = selfValues.slice(axis: 1, 0..<length).transposed(1, 2)
        return (k, v)
    }
}

extension T5Model {
    /// Greedy or sampled decoding for a batch of inputs, with a KV cache.
    /// - Parameters:
    ///   - inputIds: Int32 (B, Ts).
    ///   - attentionMask: (B, Ts) 1/0 padding mask, or nil.
    ///   - maxNewTokens: the most tokens produced per row.
    ///   - eosTokenId: stops a row (kept in its output); `config.eosTokenId` when nil.
    ///   - temperature: 0 is greedy; above 0, each row samples from its logits divided by it.
    ///   - topK: sample among the `topK` most likely tokens only (0 keeps all).
    ///   - topP: sample from the smallest set of tokens whose probability reaches `topP` (1 keeps all).
    ///   - seed: fixes the draws. Row `r` draws from its own stream (seeded from `seed` and `r`), so
    ///     a row's tokens do not depend on how many rows finished before it.
    ///   - shouldStop: checked before each token; returning true throws `T5Error.cancelled` with
    ///     the tokens produced so far.
    /// - Returns: per row, the generated ids (without the decoder start token), ending at eos if reached.
    /// - Throws: `T5Error.invalidInput` for a non-positive limit or sampling settings out of range.
    public func generate(inputIds: Tensor, attentionMask: Tensor? = nil, maxNewTokens: Int, eosTokenId: Int? = nil,
                         temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0,
                         shouldStop: (() -> Bool)? = nil) throws -> [[Int]] {
        guard maxNewTokens > 0 else { throw T5Error.invalidInput("maxNewTokens must be positive, got \(maxNewTokens)") }
        guard temperature.isFinite, temperature >= 0 else {
            throw T5Error.invalidInput("temperature must be a finite number ≥ 0, got \(temperature)")
        }
        guard topK >= 0 else { throw T5Error.invalidInput("topK must be ≥ 0, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw T5Error.invalidInput("topP must be in (0, 1], got \(topP)") }
        let eos = eosTokenId ?? config.eosTokenId
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        return try Tensor.withoutGrad {
            let memory = try encode(inputIds, attentionMask: attentionMask)           // (B, Ts, C)
            let memoryMask = attentionMask.map { T5Masks.keyMask($0) }               // (B, 1, 1, Ts)
            let b = inputIds.shape[0]
            let caches = decoder.blocks.map { block -> T5DecoderCache in
                let cross = block.crossAttention?.attention ?? block.selfAttention.attention
                return T5DecoderCache(batch: b, capacity: maxNewTokens, heads: config.numHeads, dKV: config.dKV,
                                      crossKeys: cross.heads(cross.k(memory)), crossValues: cross.heads(cross.v(memory)))
            }
            var samplers = (0..<b).map { row in
                Sampler(temperature: temperature, topK: topK, topP: topP,
                        seed: seed &+ UInt64(row) &* 0x9E37_79B9_7F4A_7C15)
            }
            var outputs = [[Int]](repeating: [], count: b)
            var finished = [Bool](repeating: false, count: b)
            var current = [Int32](repeating: Int32(config.decoderStartTokenId), count: b)
            for step in 0..<maxNewTokens {
                if let shouldStop, shouldStop() { throw T5Error.cancelled(generated: outputs) }
                let logits = decodeStep(Tensor(indices: current, shape: [b, 1]), position: step, caches: caches,
                                        memoryMask: memoryMask)                 // (B, 1, V)
                let next: [Int]                                                // (B)
                if temperature > 0 {
                    let all = logits.scalars, v = all.count / b
                    next = (0..<b).map { row in
                        finished[row] ? config.padTokenId : samplers[row].sample(Array(all[(row * v)..<((row + 1) * v)]))
                    }
                } else {
                    next = logits.argmax(axis: -1).indexScalars
                }
                for row in 0..<b {
                    if finished[row] { current[row] = Int32(config.padTokenId); continue }
                    outputs[row].append(next[row])
                    current[row] = Int32(next[row])
                    if next[row] == eos { finished[row] = true }
                }
                if finished.allSatisfy({ $0 }) { break }
            }
            return outputs
        }
    }

    /// One decoder position for every row: (B, 1) ids -> (B, 1, V) logits, extending the caches.
    func decodeStep(_ ids: Tensor, position: Int, caches: [T5DecoderCache], memoryMask: Tensor?) -> Tensor {
        var h = shared(ids)                                                   // (B, 1, C)
        let bias = decoder.firstAttention?.positionBias(queryLength: 1, keyLength: position + 1,
                                                       queryOffset: position)   // (H, 1, t+1)
        for (block, cache) in zip(decoder.blocks, caches) {
            let sa = block.selfAttention.attention
            let x = block.selfAttention.layerNorm(h)
            let (keys, values) = cache.append(keys: sa.k(x), values: sa.v(x))
            h = h + sa.o(sa.attend(sa.heads(sa.q(x)), keys, values, mask: nil, bias: bias, causal: false))
            if let cross = block.crossAttention {
                let y = cross.layerNorm(h)
                let ca = cross.attention
                h = h + ca.o(ca.attend(ca.heads(ca.q(y)), cache.crossKeys, cache.crossValues, mask: memoryMask,
                                       bias: nil, causal: false))
            }
            h = block.feedForward(h)
        }
        return logits(decoder.finalLayerNorm(h))
    }
}
