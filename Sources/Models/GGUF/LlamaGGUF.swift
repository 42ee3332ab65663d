// GGUF key and tensor names for Llama-family models in one table (llama.cpp's LLM_KV and
// LLM_TENSOR names), and the hyper-parameters a decoder needs, read from them.
import Foundation

/// The GGUF names a Llama-family decoder uses; `{arch}` keys are prefixed by the architecture.
public enum LlamaGGUFName {
    // Metadata keys after the "<arch>." prefix.
    public static let contextLength = "context_length"
    public static let embeddingLength = "embedding_length"
    public static let feedForwardLength = "feed_forward_length"
    public static let blockCount = "block_count"
    public static let headCount = "attention.head_count"
    public static let headCountKV = "attention.head_count_kv"
    public static let rmsNormEpsilon = "attention.layer_norm_rms_epsilon"
    public static let ropeFreqBase = "rope.freq_base"
    public static let ropeDimensionCount = "rope.dimension_count"
    public static let attentionKeyLength = "attention.key_length"
    public static let vocabSize = "vocab_size"

    // Tensors. Names put the shared part first, as llama.cpp does (ffnUp, ffnGate, ffnDown).
    public static let tokenEmbedding = "token_embd.weight"
    public static let outputNorm = "output_norm.weight"
    /// Absent when the output head is tied to `token_embd` (SmolLM2).
    public static let output = "output.weight"
    public static func attnNorm(_ layer: Int) -> String { "blk.\(layer).attn_norm.weight" }
    public static func attnQ(_ layer: Int) -> String { "blk.\(layer).attn_q.weight" }
    public static func attnK(_ layer: Int) -> String { "blk.\(layer).attn_k.weight" }
    public static func attnV(_ layer: Int) -> String { "blk.\(layer).attn_v.weight" }
    public static func attnOutput(_ layer: Int) -> String { "blk.\(layer).attn_output.weight" }
    public static func ffnNorm(_ layer: Int) -> String { "blk.\(layer).ffn_norm.weight" }
    public static func ffnGate(_ layer: Int) -> String { "blk.\(layer).ffn_gate.weight" }
    public static func ffnUp(_ layer: Int) -> String { "blk.\(layer).ffn_up.weight" }
    public static func ffnDown(_ layer: Int) -> String { "blk.\(layer).ffn_down.weight" }
}

/// A Llama-family model's shape and numerics, as its GGUF metadata states them, each value
/// checked (see LlamaGGUF+Validation) against the limits and against the tensors in the file.
public struct LlamaHyperparameters: Sendable, Equatable {
    public var architecture: String
    public var vocabularySize: Int
    public var contextLength: Int
    public var dModel: Int
    public var ffnDim: Int
    public var nLayers: Int
    public var nHeads: Int
    public var nKVHeads: Int
    public var headDim: Int
    /// Leading dimensions of each head that RoPE rotates (`rope.dimension_count`, else `headDim`).
    public var ropeDimensions: Int
    public var ropeFreqBase: Float
    public var ropeScaling: RopeScaling
    public var rmsNormEpsilon: Float
    /// Whether the output head reuses the token embedding.
    public var tiedOutput: Bool

    /// Reads and validates the shape from `file`, before anything is allocated from it.
    /// - Throws: `GGUFError` for a missing key, a wrong value type or a missing tensor;
    ///   `LlamaError.invalidHyperparameter` naming the key, its value and the limit it breaks.
    public init(gguf file: GGUFFile) throws {
        self = try LlamaMetadataReader(file: file).read()
    }

    init(architecture: String, vocabularySize: Int, contextLength: Int, dModel: Int, ffnDim: Int, nLayers: Int,
         nHeads: Int, nKVHeads: Int, headDim: Int, ropeDimensions: Int, ropeFreqBase: Float,
         ropeScaling: RopeScaling, rmsNormEpsilon: Float, tiedOutput: Bool) {
        self.architecture = architecture
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.dModel = dModel
        self.ffnDim = ffnDim
        self.nLayers = nLayers
        self.nHeads = nHeads
        self.nKVHeads = nKVHeads
        self.headDim = headDim
        self.ropeDimensions = ropeDimensions
        self.ropeFreqBase = ropeFreqBase
        self.ropeScaling = ropeScaling
        self.rmsNormEpsilon = rmsNormEpsilon
        self.tiedOutput = tiedOutput
    }
}
