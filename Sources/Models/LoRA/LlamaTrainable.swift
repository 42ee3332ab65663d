// The Llama-family decoder as a trainable student on the autograd engine: GGUF weights
// dequantised into Float32 Tensors, every projection a `LoRALinear`, Hugging Face parameter
// names (`model.layers.N.self_attn.q_proj.weight`), and a causal-LM loss on target tokens only.
// Weights keep the GGUF layout: for Llama-arch files Q and K rows are in llama.cpp's RoPE order,
// which `LlamaTrainable+Adapters` undoes when adapters are saved for PEFT.
import Foundation
import NN
import Tensor

/// One block: RMSNorm → attention → residual, RMSNorm → SwiGLU → residual.
public final class LlamaTrainableBlock: Module {
    /// RMSNorm weight before attention (dModel).
    public let inputLayernorm: Tensor
    /// RMSNorm weight before the feed-forward (dModel).
    public let postAttentionLayernorm: Tensor
    /// Attention projections: q (qDim, dModel), k and v (kvDim, dModel), o (dModel, qDim).
    public let qProj, kProj, vProj, oProj: LoRALinear
    /// SwiGLU projections: gate and up (ffnDim, dModel), down (dModel, ffnDim).
    public let gateProj, upProj, downProj: LoRALinear

    init(inputLayernorm: Tensor, postAttentionLayernorm: Tensor, projections p: [LoRATarget: LoRALinear]) throws {
        func get(_ t: LoRATarget) throws -> LoRALinear {
            guard let l = p[t] else { throw LlamaError.adapterMismatch("no \(t.rawValue) weight") }
            return l
        }
        self.inputLayernorm = inputLayernorm
        self.postAttentionLayernorm = postAttentionLayernorm
        qProj = try get(.q); kProj = try get(.k); vProj = try get(.v); oProj = try get(.o)
        gateProj = try get(.gate); upProj = try get(.up); downProj = try get(.down)
    }

    /// The projection called `target`.
    public func projection(_ target: LoRATarget) -> LoRALinear {
        switch target {
        case .q: return qProj
        case .k: return kProj
        case .v: return vProj
        case .o: return oProj
        case .gate: return gateProj
        case .up: return upProj
        case .down: return downProj
        }
    }

    public override func ownParameters() -> [(String, Tensor)] {
        [("input_layernorm.weight", inputLayernorm), ("post_attention_layernorm.weight", postAttentionLayernorm)]
    }

    public override func namedChildren() -> [(String, Module)] {
        [("self_attn.q_proj", qProj), ("self_attn.k_proj", kProj), ("self_attn.v_proj", vProj),
         ("self_attn.o_proj", oProj), ("mlp.gate_proj", gateProj), ("mlp.up_proj", upProj),
         ("mlp.down_proj", downProj)]
    }

    /// x (B, T, dModel) -> (B, T, dModel); `cos`, `sin` are RoPE tables shaped for `LlamaTrainable.rotate`,
    /// and `mask` (B, 1, T, T), when given, hides keys (0) from queries on top of causality.
    func callAsFunction(_ x: Tensor, config c: LlamaConfig, cos: Tensor, sin: Tensor, mask: Tensor? = nil) -> Tensor {
        let b = x.shape[0], t = x.shape[1], hd = c.headDim
        let h = x.rmsNorm(weight: inputLayernorm, eps: c.rmsNormEpsilon)
        let q = LlamaTrainable.rotate(qProj(h).reshaped([b, t, c.nHeads, hd]), neoX: c.ropeNeoX, cos: cos, sin: sin)
        let k = LlamaTrainable.rotate(kProj(h).reshaped([b, t, c.nKVHeads, hd]), neoX: c.ropeNeoX, cos: cos, sin: sin)
        let v = vProj(h).reshaped([b, t, c.nKVHeads, hd])
        let attn = Tensor.attention(query: q.transposed(1, 2), key: k.transposed(1, 2), value: v.transposed(1, 2),
                                    mask: mask, causal: true)                       // (B, H, T, hd)
        let x1 = x + oProj(attn.transposed(1, 2).reshaped([b, t, c.qDim]))
        let m = x1.rmsNorm(weight: postAttentionLayernorm, eps: c.rmsNormEpsilon)
        return x1 + downProj(gateProj(m).silu() * upProj(m))
    }
}

/// A Llama-family decoder whose weights are Float32 Tensors, for training (LoRA or full).
public final class LlamaTrainable: Module {
    /// Shape and numerics.
    public let config: LlamaConfig
    let rope: Rope
    /// Token embedding (vocab, dModel); also the head when tied.
    public let embedTokens: Tensor
    /// The decoder blocks.
    public let layers: [LlamaTrainableBlock]
    /// Final RMSNorm weight (dModel).
    public let norm: Tensor
    /// The untied output head (vocab, dModel), or nil when it is `embedTokens`.
    public let lmHead: Tensor?

    /// Dequantises every weight of a GGUF model into Float32 (frozen until adapters or
    /// `requiresGrad` say otherwise).
    /// - Throws: `GGUFError` or `LlamaError` as `LlamaModel` does.
    public convenience init(gguf file: GGUFFile) throws {
        let c = try LlamaConfig(gguf: file)
        guard c.ropeDimensions == c.headDim else {
            throw LlamaError.unsupportedArchitecture("\(c.architecture) with partial RoPE (\(c.ropeDimensions) of \(c.headDim) dims) for training")
        }
        func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
            let t = try file.requireWeight(name)
            guard t.info.elementCount == Shape.count(shape) else {
                throw LlamaError.tensorShape(name: name, expected: shape, found: [t.info.rowCount, t.info.rowLength])
            }
            return Tensor(t.dequantized(), shape: shape)
        }
        func optional(_ name: String, _ shape: [Int]) throws -> Tensor? {
            file.tensor(named: name) == nil ? nil : try tensor(name, shape)
        }
        let blocks = try (0..<c.nLayers).map { l -> LlamaTrainableBlock in
            let shapes: [(LoRATarget, String, [Int], String?)] = [
                (.q, LlamaGGUFName.attnQ(l), [c.qDim, c.dModel], "blk.\(l).attn_q.bias"),
                (.k, LlamaGGUFName.attnK(l), [c.kvDim, c.dModel], "blk.\(l).attn_k.bias"),
                (.v, LlamaGGUFName.attnV(l), [c.kvDim, c.dModel], "blk.\(l).attn_v.bias"),
                (.o, LlamaGGUFName.attnOutput(l), [c.dModel, c.qDim], nil),
                (.gate, LlamaGGUFName.ffnGate(l), [c.ffnDim, c.dModel], nil),
                (.up, LlamaGGUFName.ffnUp(l), [c.ffnDim, c.dModel], nil),
                (.down, LlamaGGUFName.ffnDown(l), [c.dModel, c.ffnDim], nil)]
            var projections: [LoRATarget: LoRALinear] = [:]
            for (target, name, shape, biasName) in shapes {
                projections[target] = LoRALinear(weight: try tensor(name, shape),
                                                  bias: try biasName.flatMap { try optional($0, [shape[0]]) })
            }
            return try LlamaTrainableBlock(inputLayernorm: try tensor(LlamaGGUFName.attnNorm(l), [c.dModel]),
                                           postAttentionLayernorm: try tensor(LlamaGGUFName.ffnNorm(l), [c.dModel]),
                                           projections: projections)
        }
        self.init(config: c, rope: Rope(config: c, frequencyFactors: file.tensor(named: "rope_freqs.weight")?.dequantized()),
                  embedTokens: try tensor(LlamaGGUFName.tokenEmbedding, [c.vocabularySize, c.dModel]), layers: blocks,
                  norm: try tensor(LlamaGGUFName.outputNorm, [c.dModel]),
                  lmHead: c.tiedOutput ? nil : try tensor(LlamaGGUFName.output, [c.vocabularySize, c.dModel]))
    }

    init(config: LlamaConfig, rope: Rope, embedTokens: Tensor, layers: [LlamaTrainableBlock], norm: Tensor, lmHead: Tensor?) {
        self.config = config
        self.rope = rope
        self.embedTokens = embedTokens
        self.layers = layers
        self.norm = norm
        self.lmHead = lmHead
    }

    public override func ownParameters() -> [(String, Tensor)] {
        var out = [("model.embed_tokens.weight", embedTokens), ("model.norm.weight", norm)]
        if let lmHead { out.append(("lm_head.weight", lmHead)) }
        return out
    }

    public override func namedChildren() -> [(String, Module)] {
        layers.enumerated().map { ("model.layers.\($0.offset)", $0.element) }
    }

    /// The final hidden states (B, T, dModel) for token ids (B, T).
    public func hiddenStates(_ ids: [[Int]]) throws -> Tensor {
        try hiddenStates(ids, positions: nil, mask: nil)
    }

    /// The final hidden states (B, T, dModel) for token ids (B, T), with RoPE positions per token
    /// and an attention mask (packed rows, where positions restart in each segment).
    /// - Parameters:
    ///   - positions: (B, T) positions; nil means 0..<T in every row.
    ///   - mask: (B, 1, T, T), 0 where a query may not see a key (on top of causality), or nil.
    func hiddenStates(_ ids: [[Int]], positions: [[Int]]?, mask: Tensor?) throws -> Tensor {
        let b = ids.count, t = ids.first?.count ?? 0
        guard b > 0, t > 0, ids.allSatisfy({ $0.count == t }) else { throw LlamaError.emptyInput }
        if let bad = ids.joined().first(where: { $0 < 0 || $0 >= config.vocabularySize }) {
            throw LlamaError.tokenOutOfRange(id: bad, vocabularySize: config.vocabularySize)
        }
        let idTensor = Tensor(indices: ids.joined().map { Int32($0) }, shape: [b, t])
        let half = rope.dimensions / 2
        let cos: Tensor, sin: Tensor
        if let positions {
            // One table row per token: [B, T, 1, 1, half] (NeoX) or [B, T, 1, half, 1], as `rotate` splits.
            let (c, s) = rope.tables(0..<((positions.joined().max() ?? 0) + 1))
            let flat = positions.joined()
            let rows = { (table: [Float]) in flat.flatMap { table[($0 * half)..<(($0 + 1) * half)] } }
            let tableShape = config.ropeNeoX ? [b, t, 1, 1, half] : [b, t, 1, half, 1]
            cos = Tensor(rows(c), shape: tableShape)
            sin = Tensor(rows(s), shape: tableShape)
        } else {
            let (c, s) = rope.tables(0..<t)
            let tableShape = config.ropeNeoX ? [t, 1, 1, half] : [t, 1, half, 1]
            cos = Tensor(c, shape: tableShape)
            sin = Tensor(s, shape: tableShape)
        }
        var x = embedTokens.embedding(idTensor)                                  // (B, T, dModel)
        for layer in layers { x = layer(x, config: config, cos: cos, sin: sin, mask: mask) }
        return x.rmsNorm(weight: norm, eps: config.rmsNormEpsilon)
    }

    /// Logits (B, T, vocab) for token ids (B, T).
    public func logits(_ ids: [[Int]]) throws -> Tensor {
        try hiddenStates(ids).linear(weight: lmHead ?? embedTokens)
    }

    /// Mean cross-entropy of next-token predictions on target tokens only: position t predicts
    /// `labels[t + 1]`, and labels equal to `ignoreIndex` (the prompt, padding) add nothing.
    /// The head runs only at the positions that have a target.
    /// - Parameters:
    ///   - ids: token ids (B, T), sequences padded to one length.
    ///   - labels: (B, T), usually the ids with prompt and padding positions set to `ignoreIndex`.
    public func causalLMLoss(ids: [[Int]], labels: [[Int]], ignoreIndex: Int = -100) throws -> Tensor {
        guard labels.count == ids.count, zip(ids, labels).allSatisfy({ $0.count == $1.count }) else {
            throw LlamaError.adapterMismatch("labels must have the shape of ids")
        }
        let t = ids.first?.count ?? 0
        var rows: [Int32] = [], targets: [Int32] = []
        for (bi, row) in labels.enumerated() {
            for pos in 0..<Swift.max(t - 1, 0) where row[pos + 1] != ignoreIndex {
                rows.append(Int32(bi * t + pos))
                targets.append(Int32(row[pos + 1]))
            }
        }
        guard !rows.isEmpty else { throw LlamaError.emptyInput }
        let hidden = try hiddenStates(ids).reshaped([ids.count * t, config.dModel])
        let picked = hidden.embedding(Tensor(indices: rows, shape: [rows.count]))   // (N, dModel)
        let logits = picked.linear(weight: lmHead ?? embedTokens)                    // (N, vocab)
        return logits.crossEntropy(targets: Tensor(indices: targets, shape: [targets.count]))
    }

    /// The loss of `target` after `prompt` (one example; the prompt is masked).
    public func causalLMLoss(prompt: [Int], target: [Int]) throws -> Tensor {
        try causalLMLoss(ids: [prompt + target], labels: [Array(repeating: -100, count: prompt.count) + target])
    }

    /// Rotates (B, T, H, hd) by RoPE with tables broadcastable over pairs: normal ordering pairs
    /// (2i, 2i+1), NeoX (i, i + hd/2).
    static func rotate(_ x: Tensor, neoX: Bool, cos: Tensor, sin: Tensor) -> Tensor {
        let (b, t, h, hd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let split = neoX ? x.reshaped([b, t, h, 2, hd / 2]) : x.reshaped([b, t, h, hd / 2, 2])
        let axis = neoX ? 3 : 4
        let x0 = split.slice(axis: axis, 0..<1), x1 = split.slice(axis: axis, 1..<2)
        let r0 = x0 * cos - x1 * sin, r1 = x0 * sin + x1 * cos
        return Tensor.concat([r0, r1], axis: axis).reshaped([b, t, h, hd])
    }
}
