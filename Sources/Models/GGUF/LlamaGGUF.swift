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

/// A Llama-family model's shape, as its GGUF metadata states it.
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
    public var ropeFreqBase: Float
    public var rmsNormEpsilon: Float
    /// Whether the output head reuses the token embedding.
    public var tiedOutput: Bool

    /// Reads the shape from `file`.
    /// - Throws: `GGUFError.missingKey` naming the first key that is absent.
    public init(gguf file: GGUFFile) throws {
        let arch = try file.string("general.architecture")
        func key(_ name: String) -> String { "\(arch).\(name)" }
        architecture = arch
        dModel = try file.int(key(LlamaGGUFName.embeddingLength))
        ffnDim = try file.int(key(LlamaGGUFName.feedForwardLength))
        nLayers = try file.int(key(LlamaGGUFName.blockCount))
        nHeads = try file.int(key(LlamaGGUFName.headCount))
        nKVHeads = file.optionalInt(key(LlamaGGUFName.headCountKV)) ?? nHeads
        contextLength = try file.int(key(LlamaGGUFName.contextLength))
        guard nHeads > 0, nKVHeads > 0, dModel % nHeads == 0, nHeads % nKVHeads == 0 else {
            throw GGUFError.wrongValueType(key: key(LlamaGGUFName.headCount),
                                           expected: "head counts dividing the embedding length", found: .uint32)
        }
        // The per-head width is the key length where stated; RoPE may cover only part of a head.
        headDim = file.optionalInt(key(LlamaGGUFName.attentionKeyLength)) ?? dModel / nHeads
        ropeFreqBase = (try? file.float(key(LlamaGGUFName.ropeFreqBase))) ?? 10_000
        rmsNormEpsilon = (try? file.float(key(LlamaGGUFName.rmsNormEpsilon))) ?? 1e-5
        vocabularySize = try file.optionalInt(key(LlamaGGUFName.vocabSize)) ?? file.array("tokenizer.ggml.tokens").count
        tiedOutput = file.tensor(named: LlamaGGUFName.output) == nil
    }
}
