// A tiny random Llama model as GGUF bytes for the LoRA student's tests: two layers, GQA, and a
// byte-level vocabulary (the 256 GPT-2 byte symbols, no merges) plus `<|im_start|>` and
// `<|im_end|>`, so any text tokenises, one token per byte.
import Foundation
import Models
import TestSupport

enum LlamaLoRAStudentTinyModel {
    /// GPT-2's printable stand-ins for the 256 bytes, in byte order.
    static let byteSymbols: [String] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        let set = Set(printable)
        var extra = 0
        var symbols: [String] = []
        for b in 0..<256 {
            if set.contains(b) {
                symbols.append(String(UnicodeScalar(UInt8(b))))
            } else {
                symbols.append(String(Character(UnicodeScalar(256 + extra)!)))
                extra += 1
            }
        }
        return symbols
    }()

    static let vocabulary = byteSymbols + ["<|im_start|>", "<|im_end|>"]
    static var endID: Int { vocabulary.count - 1 }

    /// The GGUF file of a random model from `seed`.
    static func file(seed: UInt64 = 1) throws -> GGUFFile {
        try GGUFFile(bytes: bytes(seed: seed))
    }

    static func bytes(seed: UInt64) -> [UInt8] {
        let (vocab, d, heads, kvHeads, ffn, layers) = (vocabulary.count, 32, 4, 2, 48, 2)
        let hd = d / heads
        var state = seed
        func uniform() -> Float {          // SplitMix64 → [-1, 1)
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(z >> 40) / Float(1 << 23) - 1
        }
        var tensors: [(String, [Int], [Float])] = []
        func add(_ name: String, _ rows: Int, _ columns: Int, scale: Float = 0.3, around: Float = 0) {
            tensors.append((name, rows == 1 ? [columns] : [columns, rows], (0..<(rows * columns)).map { _ in around + scale * uniform() }))
        }
        add(LlamaGGUFName.tokenEmbedding, vocab, d, scale: 1)
        for l in 0..<layers {
            add(LlamaGGUFName.attnNorm(l), 1, d, scale: 0.2, around: 1)
            add(LlamaGGUFName.attnQ(l), heads * hd, d)
            add(LlamaGGUFName.attnK(l), kvHeads * hd, d)
            add(LlamaGGUFName.attnV(l), kvHeads * hd, d)
            add(LlamaGGUFName.attnOutput(l), d, heads * hd)
            add(LlamaGGUFName.ffnNorm(l), 1, d, scale: 0.2, around: 1)
            add(LlamaGGUFName.ffnGate(l), ffn, d)
            add(LlamaGGUFName.ffnUp(l), ffn, d)
            add(LlamaGGUFName.ffnDown(l), d, ffn)
        }
        add(LlamaGGUFName.outputNorm, 1, d, scale: 0.2, around: 1)
        let metadata: [(String, GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("general.name", .string("tiny")),
            ("llama.context_length", .uint32(256)),
            ("llama.embedding_length", .uint32(UInt32(d))),
            ("llama.feed_forward_length", .uint32(UInt32(ffn))),
            ("llama.block_count", .uint32(UInt32(layers))),
            ("llama.attention.head_count", .uint32(UInt32(heads))),
            ("llama.attention.head_count_kv", .uint32(UInt32(kvHeads))),
            ("llama.rope.freq_base", .float32(10_000)),
            ("llama.attention.layer_norm_rms_epsilon", .float32(1e-5)),
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("gpt2")),
            ("tokenizer.ggml.tokens", .array(.string, vocabulary.map { .string($0) })),
            ("tokenizer.ggml.token_type", .array(.int32, vocabulary.map { .int32($0.hasPrefix("<|") ? 3 : 1) })),
            ("tokenizer.ggml.merges", .array(.string, [])),
            ("tokenizer.ggml.eos_token_id", .uint32(UInt32(endID))),
            ("tokenizer.chat_template", .string("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}")),
        ]
        return GGUFWriter.file(metadata: metadata, tensors: tensors.map { ($0.0, $0.1, .f32, floatBytes($0.2)) })
    }
}
