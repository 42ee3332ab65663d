// Low-rank adapters (Hu et al. 2021, PEFT's LoRA): a frozen weight W plus scale · B A, with A
// (rank, in) random and B (out, rank) zero so training starts at the base model. Adapters can be
// merged into W. Parameter names follow PEFT: `lora_A.weight`, `lora_B.weight`.
import Foundation
import NN
import Tensor

/// Which projections of a Llama block get adapters, by their Hugging Face names.
public enum LoRATarget: String, Sendable, CaseIterable, Codable {
    case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj"
    case gate = "gate_proj", up = "up_proj", down = "down_proj"
}

/// LoRA hyper-parameters (PEFT's `LoraConfig`).
public struct LoRAConfig: Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    public var dropout: Float
    public var targets: [LoRATarget]

    public init(rank: Int = 16, alpha: Float = 32, dropout: Float = 0, targets: [LoRATarget] = LoRATarget.allCases) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
    }

    /// `alpha / rank`, the factor on `B A`.
    public var scale: Float { alpha / Float(rank) }
}

/// `y = x Wᵀ (+ b) + scale · dropout(x) Aᵀ Bᵀ`, W (out, in) frozen, A (rank, in), B (out, rank).
public final class LoRALinear: Module {
    /// The base weight (out, in); frozen while adapters train.
    public let weight: Tensor
    /// The base bias (out), if any.
    public let bias: Tensor?
    /// Adapter down-projection (rank, in), or nil without an adapter.
    public private(set) var loraA: Tensor?
    /// Adapter up-projection (out, rank), or nil without an adapter.
    public private(set) var loraB: Tensor?
    /// `alpha / rank`.
    public private(set) var scale: Float = 0
    private var dropout: Dropout?

    /// Wraps a weight (out, in) and optional bias.
    public init(weight: Tensor, bias: Tensor? = nil) {
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// Adds an adapter: A ~ U(±1/sqrt(in)) (PEFT's kaiming-uniform bound for a=√5), B = 0. The
    /// base weight and bias stop taking gradients.
    public func addAdapter(_ config: LoRAConfig, rng: inout RNG, dropoutSeed: UInt64 = 0) {
        let bound = 1 / Float(inFeatures).squareRoot()
        let a = rng.uniform([config.rank, inFeatures], low: -bound, high: bound)
        a.requiresGrad = true
        loraA = a
        loraB = Tensor.zeros([outFeatures, config.rank], requiresGrad: true)
        scale = config.scale
        dropout = config.dropout > 0 ? Dropout(config.dropout, seed: dropoutSeed) : nil
        dropout?.train(isTraining)
        weight.requiresGrad = false
        bias?.requiresGrad = false
    }

    /// Replaces the adapter's matrices with `a` (rank, in) and `b` (out, rank).
    public func setAdapter(a: Tensor, b: Tensor, scale: Float) {
        a.requiresGrad = true
        b.requiresGrad = true
        loraA = a
        loraB = b
        self.scale = scale
    }

    /// `W += scale · B A`, then drops the adapter.
    public func merge() {
        guard let a = loraA, let b = loraB else { return }
        Tensor.withoutGrad { weight.assign(weight + b.matmul(a) * scale) }
        loraA = nil
        loraB = nil
        dropout = nil
    }

    /// (..., in) -> (..., out).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let base = x.linear(weight: weight, bias: bias)
        guard let a = loraA, let b = loraB else { return base }
        let input = dropout.map { $0(x) } ?? x
        // The scale goes on the rank-r activations, not on the (..., out) product.
        return base + (input.linear(weight: a) * scale).linear(weight: b)
    }

    public override func ownParameters() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = [("weight", weight)]
        if let bias { out.append(("bias", bias)) }
        if let loraA, let loraB { out += [("lora_A.weight", loraA), ("lora_B.weight", loraB)] }
        return out
    }

    public override func namedChildren() -> [(String, Module)] {
        dropout.map { [("lora_dropout", $0)] } ?? []
    }
}
