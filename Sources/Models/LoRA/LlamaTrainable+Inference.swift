// Fast generation for a trained decoder: the trainable model's weights, with every LoRA adapter
// folded in (W + scale · B A), copied into new Float32 buffers and run on the inference path
// (KV cache, matvec per token). The trainable model is left as it is, so training can go on.
import Foundation
import Tensor

extension LlamaModel {
    /// An inference model holding `trainable`'s current weights with its adapters folded in, in
    /// Float32. The GGUF the trainable model came from supplies the tokenizer and metadata (chat
    /// template, special tokens). `trainable` is not changed.
    /// - Throws: `LlamaError.adapterMismatch` when `file` describes a differently shaped model.
    public convenience init(merging trainable: LlamaTrainable, gguf file: GGUFFile) throws {
        let c = trainable.config
        let described = try LlamaConfig(gguf: file)
        guard described.vocabularySize == c.vocabularySize, described.dModel == c.dModel,
              described.nLayers == c.nLayers, described.ffnDim == c.ffnDim, described.qDim == c.qDim,
              described.kvDim == c.kvDim else {
            throw LlamaError.adapterMismatch("the GGUF describes a model of another shape than the trained one")
        }
        let blocks = Tensor.withoutGrad {
            trainable.layers.map { layer in
                LlamaBlockWeights(
                    attnNorm: layer.inputLayernorm.scalars,
                    attnQ: LlamaModel.folded(layer.qProj), attnK: LlamaModel.folded(layer.kProj),
                    attnV: LlamaModel.folded(layer.vProj), attnOutput: LlamaModel.folded(layer.oProj),
                    attnQBias: layer.qProj.bias?.scalars, attnKBias: layer.kProj.bias?.scalars,
                    attnVBias: layer.vProj.bias?.scalars,
                    ffnNorm: layer.postAttentionLayernorm.scalars,
                    ffnGate: LlamaModel.folded(layer.gateProj), ffnUp: LlamaModel.folded(layer.upProj),
                    ffnDown: LlamaModel.folded(layer.downProj))
            }
        }
        let embedding = LlamaModel.float32Matrix(trainable.embedTokens)
        let output = trainable.lmHead.map(LlamaModel.float32Matrix) ?? embedding
        self.init(config: c, file: file, tokenizer: try makeTokenizer(gguf: file), rope: trainable.rope,
                  tokenEmbedding: embedding.quantized, output: output, outputNorm: trainable.norm.scalars,
                  blocks: blocks)
    }

    /// `W + scale · B A` for a projection with an adapter, a copy of `W` without one.
    static func folded(_ p: LoRALinear) -> LlamaMatrix {
        guard let a = p.loraA, let b = p.loraB else { return float32Matrix(p.weight) }
        return float32Matrix(p.weight + b.matmul(a) * p.scale)
    }

    /// A (rows, columns) tensor copied into an F32 matrix that owns its buffer.
    static func float32Matrix(_ t: Tensor) -> LlamaMatrix {
        let rows = t.shape[0], columns = t.shape[1]
        let buffer = Buffer(rows * columns)
        let source = t.contiguous()
        source.withUnsafeMutableFloats { src in
            if let base = src.baseAddress { buffer.p.update(from: base, count: rows * columns) }
        }
        return LlamaMatrix(QuantizedMatrix(type: .f32, rows: rows, columns: columns, data: UnsafeRawPointer(buffer.p),
                                           owner: buffer))
    }
}
