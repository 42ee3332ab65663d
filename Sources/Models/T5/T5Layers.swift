// T5's layers above attention, top-down: feed-forward (ReLU or gated GELU), the three pre-norm
// residual sub-layers (self-attention, cross-attention, feed-forward), the block, and the stack
// (embedding dropout, blocks sharing the first block's position bias, final norm).

import Foundation
import NN
import Tensor

/// T5's `DenseReluDense`: wo(dropout(relu(wi x))) in v1.0, wo(dropout(gelu_new(wi_0 x) * wi_1 x)) in v1.1.
final class T5DenseFeedForward: Module {
    let kind: T5FeedForward
    let wi: Linear?, wi0: Linear?, wi1: Linear?
    let wo: Linear
    let dropout: Dropout

    init(_ config: T5Config, kind: T5FeedForward, rng: inout RNG) {
        self.kind = kind
        let d = config.dModel, ff = config.dFF
        let inStd = 1 / Float(d).squareRoot()
        switch kind {
        case .relu:
            wi = T5Init.linear(d, ff, std: inStd, rng: &rng); wi0 = nil; wi1 = nil
        case .gatedGelu:
            wi = nil
            wi0 = T5Init.linear(d, ff, std: inStd, rng: &rng)
            wi1 = T5Init.linear(d, ff, std: inStd, rng: &rng)
        }
        wo = T5Init.linear(ff, d, std: 1 / Float(ff).squareRoot(), rng: &rng)
        dropout = Dropout(config.dropoutRate, seed: rng.next())
    }

    override func namedChildren() -> [(String, Module)] {
        var out: [(String, Module)] = []
        if let wi { out.append(("wi", wi)) }
        if let wi0, let wi1 { out += [("wi_0", wi0), ("wi_1", wi1)] }
        return out + [("wo", wo), ("dropout", dropout)]
    }

    override func ownParameters() -> [(String, Tensor)] { [] }

    /// (B, T, C) -> (B, T, C).
    func callAsFunction(_ x: Tensor) -> Tensor {
        let hidden: Tensor                                                 // (B, T, d_ff)
        if let wi0, let wi1 {
            hidden = wi0(x).gelu(.tanh) * wi1(x)
        } else if let wi {
            hidden = wi(x).relu()
        } else {
            preconditionFailure("T5DenseFeedForward: no input projection")
        }
        return wo(dropout(hidden))
    }
}

// MARK: - Residual sub-layers

/// `layer.0`: x + dropout(SelfAttention(layer_norm(x))).
final class T5SelfAttentionLayer: Module {
    let attention: T5Attention
    let layerNorm: RMSNorm
    let dropout: Dropout

    init(_ config: T5Config, isDecoder: Bool, hasRelativeBias: Bool, rng: inout RNG) {
        attention = T5Attention(config, isDecoder: isDecoder, hasRelativeBias: hasRelativeBias, seed: rng.next(), rng: &rng)
        layerNorm = RMSNorm(config.dModel, eps: config.layerNormEpsilon)
        dropout = Dropout(config.dropoutRate, seed: rng.next())
    }

    override func namedChildren() -> [(String, Module)] {
        [("SelfAttention", attention), ("layer_norm", layerNorm), ("dropout", dropout)]
    }

    override func ownParameters() -> [(String, Tensor)] { [] }

    func callAsFunction(_ x: Tensor, mask: Tensor?, bias: Tensor?, causal: Bool) -> Tensor {
        x + dropout(attention(layerNorm(x), mask: mask, bias: bias, causal: causal))
    }
}

/// `layer.1` of a decoder block: x + dropout(EncDecAttention(layer_norm(x), encoder output)).
final class T5CrossAttentionLayer: Module {
    let attention: T5Attention
    let layerNorm: RMSNorm
    let dropout: Dropout

    init(_ config: T5Config, rng: inout RNG) {
        attention = T5Attention(config, isDecoder: true, hasRelativeBias: false, seed: rng.next(), rng: &rng)
        layerNorm = RMSNorm(config.dModel, eps: config.layerNormEpsilon)
        dropout = Dropout(config.dropoutRate, seed: rng.next())
    }

    override func namedChildren() -> [(String, Module)] {
        [("EncDecAttention", attention), ("layer_norm", layerNorm), ("dropout", dropout)]
    }

    override func ownParameters() -> [(String, Tensor)] { [] }

    func callAsFunction(_ x: Tensor, memory: Tensor, memoryMask: Tensor?) -> Tensor {
        x + dropout(attention(layerNorm(x), memory: memory, mask: memoryMask, bias: nil, causal: false))
    }
}

/// The last sub-layer: x + dropout(DenseReluDense(layer_norm(x))).
final class T5FeedForwardLayer: Module {
    let feedForward: T5DenseFeedForward
    let layerNorm: RMSNorm
    let dropout: Dropout

    init(_ config: T5Config, kind: T5FeedForward, rng: inout RNG) {
        feedForward = T5DenseFeedForward(config, kind: kind, rng: &rng)
        layerNorm = RMSNorm(config.dModel, eps: config.layerNormEpsilon)
        dropout = Dropout(config.dropoutRate, seed: rng.next())
    }

    override func namedChildren() -> [(String, Module)] {
        [("DenseReluDense", feedForward), ("layer_norm", layerNorm), ("dropout", dropout)]
    }

    override func ownParameters() -> [(String, Tensor)] { [] }

    func callAsFunction(_ x: Tensor) -> Tensor { x + dropout(feedForward(layerNorm(x))) }
}

// MARK: - Block and stack

/// One encoder block (self-attention, feed-forward) or decoder block (self, cross, feed-forward).
final class T5Block: Module {
    let selfAttention: T5SelfAttentionLayer
    let crossAttention: T5CrossAttentionLayer?
    let feedForward: T5FeedForwardLayer

    init(_ config: T5Config, isDecoder: Bool, hasRelativeBias: Bool, kind: T5FeedForward, rng: inout RNG) {
        selfAttention = T5SelfAttentionLayer(config, isDecoder: isDecoder, hasRelativeBias: hasRelativeBias, rng: &rng)
        crossAttention = isDecoder ? T5CrossAttentionLayer(config, rng: &rng) : nil
        feedForward = T5FeedForwardLayer(config, kind: kind, rng: &rng)
    }

    override func namedChildren() -> [(String, Module)] {
        var out: [(String, Module)] = [("layer.0", selfAttention)]
        if let crossAttention { out.append(("layer.1", crossAttention)) }
        out.append(("layer.\(out.count)", feedForward))
        return out
    }

    override func ownParameters() -> [(String, Tensor)] { [] }

    /// (B, T, C) -> (B, T, C); `memory` is the encoder output for a decoder block.
    func callAsFunction(_ x: Tensor, mask: Tensor?, bias: Tensor?, memory: Tensor?, memoryMask: Tensor?) -> Tensor {
        var h = selfAttention(x, mask: mask, bias: bias, causal: crossAttention != nil)
        if let crossAttention, let memory { h = crossAttention(h, memory: memory, memoryMask: memoryMask) }
        return feedForward(h)
    }
}

/// The encoder or the decoder: blocks over embedded tokens, then the final norm.
final class T5Stack: Module {
    let isDecoder: Bool
    let blocks: [T5Block]
    let finalLayerNorm: RMSNorm
    let dropout: Dropout

    init(_ config: T5Config, isDecoder: Bool, kind: T5FeedForward, rng: inout RNG) {
        self.isDecoder = isDecoder
        let count = isDecoder ? config.numDecoderLayers : config.numLayers
        var blocks: [T5Block] = []
        for i in 0..<count {
            blocks.append(T5Block(config, isDecoder: isDecoder, hasRelativeBias: i == 0, kind: kind, rng: &rng))
        }
        self.blocks = blocks
        finalLayerNorm = RMSNorm(config.dModel, eps: config.layerNormEpsilon)
        dropout = Dropout(config.dropoutRate, seed: rng.next())
    }

    override func namedChildren() -> [(String, Module)] {
        blocks.enumerated().map { ("block.\($0.offset)", $0.element as Module) }
            + [("final_layer_norm", finalLayerNorm), ("dropout", dropout)]
    }

    override func ownParameters() -> [(String, Tensor)] { [] }

    /// The first block's self-attention, which owns the relative position bias table.
    var firstAttention: T5Attention? { blocks.first?.selfAttention.attention }

    /// (B, T, C) embeddings -> (B, T, C) hidden states.
    /// - Parameters:
    ///   - mask: this stack's own tokens: a (B, 1, 1, T) padding mask, a (B, 1, T, T) mask of the
    ///     keys each query may see (packed rows), or nil. The decoder is causal on top of it.
    ///   - memory: the encoder output (B, Ts, C) for the decoder.
    ///   - memoryMask: the encoder tokens: (B, 1, 1, Ts) padding, or (B, 1, T, Ts) per query.
    func callAsFunction(_ embeddings: Tensor, mask: Tensor?, memory: Tensor? = nil, memoryMask: Tensor? = nil) -> Tensor {
        let t = embeddings.shape[1]
        let bias = firstAttention?.positionBias(queryLength: t, keyLength: t)   // (H, T, T), shared by all blocks
        var h = dropout(embeddings)
        for block in blocks { h = block(h, mask: mask, bias: bias, memory: memory, memoryMask: memoryMask) }
        return dropout(finalLayerNorm(h))
    }
}
