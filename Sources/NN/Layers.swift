// Basic layers: Linear, Embedding, LayerNorm, RMSNorm, Dropout. Weight layouts follow PyTorch
// (Linear.weight is (out, in)) so Hugging Face checkpoints load without transposes.

import Foundation
import Tensor

/// y = x W^T + b, with W (out, in).
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    /// PyTorch's default init: uniform in +-1/sqrt(in).
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout RNG) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = rng.uniform([outFeatures, inFeatures], low: -bound, high: bound)
        weight.requiresGrad = true
        self.bias = bias ? rng.uniform([outFeatures], low: -bound, high: bound) : nil
        self.bias?.requiresGrad = true
    }

    /// (..., in) -> (..., out).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.linear(weight: weight, bias: bias)
    }
}

/// A table of `count` vectors of size `dim`, looked up by Int32 ids.
public final class Embedding: Module {
    public let weight: Tensor

    /// Normal(0, std) init (PyTorch uses std 1).
    public init(_ count: Int, _ dim: Int, std: Float = 1, rng: inout RNG) {
        weight = rng.normal([count, dim], std: std)
        weight.requiresGrad = true
    }

    /// ids (...) -> (..., dim).
    public func callAsFunction(_ ids: Tensor) -> Tensor { weight.embedding(ids) }
}

/// Layer norm over the last axis with a learned scale and (optional) shift.
public final class LayerNorm: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let eps: Float

    public init(_ dim: Int, eps: Float = 1e-5, bias: Bool = true) {
        weight = Tensor.ones([dim], requiresGrad: true)
        self.bias = bias ? Tensor.zeros([dim], requiresGrad: true) : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

/// RMS norm over the last axis (T5's LayerNorm, Llama's RMSNorm).
public final class RMSNorm: Module {
    public let weight: Tensor
    public let eps: Float

    public init(_ dim: Int, eps: Float = 1e-6) {
        weight = Tensor.ones([dim], requiresGrad: true)
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.rmsNorm(weight: weight, eps: eps) }
}

/// Zeroes elements with probability `p` in training (scaling the rest by 1/(1-p)); identity in eval.
public final class Dropout: Module {
    public let p: Float
    private var rng: RNG

    /// - Parameter seed: the mask stream; the same seed gives the same masks.
    public init(_ p: Float, seed: UInt64 = 0) {
        precondition(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got \(p)")
        self.p = p
        rng = RNG(seed: seed)
    }

    /// Restarts the mask stream from `seed`. Trainers reseed every step from their seed and the
    /// step number, so that a run resumed from a checkpoint draws the same masks as one that never stopped.
    public func reseed(_ seed: UInt64) { rng = RNG(seed: seed) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining, p > 0 else { return x }
        let mask = rng.bernoulli(x.shape, p: 1 - p)
        return x * (mask * (1 / (1 - p)))
    }
}
