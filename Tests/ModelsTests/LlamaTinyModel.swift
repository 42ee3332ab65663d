// A tiny random Llama-family model written as an F32 GGUF in memory (tests only): two layers,
// GQA (4 query heads, 2 KV heads), a 48-token single-character vocabulary with `<|im_end|>` as
// end-of-sequence. `architecture: "qwen2"` adds QKV biases and NeoX RoPE; `matrices` stores
// the matrices quantised (Q8_0, Q4_0, Q4_1).
import Foundation
import Models

enum LlamaTinyModel {
    static let vocabulary: [String] = (0..<47).map { i -> String in
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU")
        return String(letters[i])
    } + ["<|im_end|>"]

    /// GGUF bytes of a random model; `matrices` quantises every matrix whose rows are whole
    /// blocks of that type (the rest stay F32), and `editMetadata` changes the key-values.
    static func gguf(architecture: String = "llama", seed: UInt64 = 1, tied: Bool = true,
                     matrices: GGMLType = .f32, editMetadata: (inout [(String, GGUFValue)]) -> Void = { _ in }) -> [UInt8] {
        var (metadata, tensors) = parts(architecture: architecture, seed: seed, tied: tied, matrices: matrices)
        editMetadata(&metadata)
        return GGUFWriter.file(metadata: metadata, tensors: tensors)
    }

    /// The metadata and tensors of `gguf(...)`, for writing many variants of one model.
    static func parts(architecture: String = "llama", seed: UInt64 = 1, tied: Bool = true, matrices: GGMLType = .f32)
        -> (metadata: [(String, GGUFValue)], tensors: [(name: String, dims: [Int], type: GGMLType, data: [UInt8])]) {
        let (vocab, d, heads, kvHeads, ffn, layers) = (vocabulary.count, 32, 4, 2, 48, 2)
        let hd = d / heads
        var rng = SeededRNG(seed: seed)
        var tensors: [(name: String, dims: [Int], type: GGMLType, data: [UInt8])] = []
        func add(_ name: String, _ rows: Int, _ columns: Int, scale: Float = 0.3, around: Float = 0) {
            let values = rng.floats(rows * columns).map { around + scale * $0 }
            let type = rows > 1 && columns % matrices.traits.blockSize == 0 ? matrices : .f32
            let data: [UInt8]
            switch type {
            case .q8_0: data = QuantReference.quantizeQ8_0(values)
            case .q4_0: data = QuantReference.quantizeQ4_0(values)
            case .q4_1: data = QuantReference.quantizeQ4_1(values)
            default: data = floatBytes(values)
            }
            tensors.append((name, rows == 1 ? [columns] : [columns, rows], type, data))
        }
        add(LlamaGGUFName.tokenEmbedding, vocab, d, scale: 1)
        for l in 0..<layers {
            add(LlamaGGUFName.attnNorm(l), 1, d, scale: 0.2, around: 1)
            add(LlamaGGUFName.attnQ(l), heads * hd, d)
            add(LlamaGGUFName.attnK(l), kvHeads * hd, d)
            add(LlamaGGUFName.attnV(l), kvHeads * hd, d)
            if architecture == "qwen2" {
                add("blk.\(l).attn_q.bias", 1, heads * hd)
                add("blk.\(l).attn_k.bias", 1, kvHeads * hd)
                add("blk.\(l).attn_v.bias", 1, kvHeads * hd)
            }
            add(LlamaGGUFName.attnOutput(l), d, heads * hd)
            add(LlamaGGUFName.ffnNorm(l), 1, d, scale: 0.2, around: 1)
            add(LlamaGGUFName.ffnGate(l), ffn, d)
            add(LlamaGGUFName.ffnUp(l), ffn, d)
            add(LlamaGGUFName.ffnDown(l), d, ffn)
        }
        add(LlamaGGUFName.outputNorm, 1, d, scale: 0.2, around: 1)
        if !tied { add(LlamaGGUFName.output, vocab, d) }
        let a = architecture
        let metadata: [(String, GGUFValue)] = [
            ("general.architecture", .string(a)),
            ("\(a).context_length", .uint32(64)),
            ("\(a).embedding_length", .uint32(UInt32(d))),
            ("\(a).feed_forward_length", .uint32(UInt32(ffn))),
            ("\(a).block_count", .uint32(UInt32(layers))),
            ("\(a).attention.head_count", .uint32(UInt32(heads))),
            ("\(a).attention.head_count_kv", .uint32(UInt32(kvHeads))),
            ("\(a).rope.freq_base", .float32(10_000)),
            ("\(a).attention.layer_norm_rms_epsilon", .float32(1e-5)),
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("gpt2")),
            ("tokenizer.ggml.tokens", .array(.string, vocabulary.map { .string($0) })),
            ("tokenizer.ggml.token_type", .array(.int32, vocabulary.map { .int32($0.hasPrefix("<|") ? 3 : 1) })),
            ("tokenizer.ggml.merges", .array(.string, [])),
            ("tokenizer.ggml.eos_token_id", .uint32(UInt32(vocab - 1))),
        ]
        return (metadata, tensors)
    }

    static func file(architecture: String = "llama", seed: UInt64 = 1, tied: Bool = true) throws -> GGUFFile {
        try GGUFFile(bytes: gguf(architecture: architecture, seed: seed, tied: tied))
    }
}
