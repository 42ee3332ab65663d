// The corrupt-GGUF generator: starting from the tiny Llama (F32 and Q8_0), it sets every header,
// metadata and tensor-table field to zero, the extremes, NaN, negative and plausible-but-wrong
// values, writes every hyperparameter the Llama loader reads with every value type, swaps tensor
// types, puts NaN and infinity in weights and block scales, and truncates or extends the file at
// every structure boundary. Each file goes through both loaders (the teacher's `LlamaModel` and
// the LoRA student's `LlamaTrainable`); each must throw a typed error or load a model whose
// logits are finite and, unless the corruption changed a number the model depends on, equal
// the intact model's. Counts by outcome are printed.
import Foundation
import Models
import NN
import Tensor
import XCTest

final class CorruptGGUFTests: XCTestCase {
    /// Token ids for the forward pass (the last is `<|im_end|>`).
    static let ids = [1, 5, 10, 20, 47]
    /// Keys whose other valid values legitimately change the logits.
    static let numericKeys: Set<String> = [
        "llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon", "llama.rope.dimension_count",
        "llama.rope.scaling.type", "llama.rope.scaling.factor", "llama.rope.scaling.original_context_length",
        "llama.rope.scaling.attn_factor", "llama.rope.scaling.low_freq_factor", "llama.rope.scaling.high_freq_factor",
    ]

    static func isTyped(_ error: Error) -> Bool { error is GGUFError || error is LlamaError || error is TokenizerError }

    /// Logits of both loaders for the intact file.
    struct Baseline { let model: [Float], trainable: [Float] }

    static func logits(_ file: GGUFFile) throws -> Baseline {
        let model = try LlamaModel(gguf: file)
        model.threads = 1
        let a = try model.forward(ids, cache: model.makeCache(capacity: ids.count), allLogits: true)
        let b = try Tensor.withoutGrad { try LlamaTrainable(gguf: file).logits([ids]).scalars }
        return Baseline(model: a, trainable: b)
    }

    /// Runs one corrupt file through both loaders and records the two outcomes.
    static func run(_ bytes: [UInt8], _ label: String, baseline: Baseline, mayDiffer: Bool, tally: CorruptTally) {
        let file: GGUFFile
        do { file = try GGUFFile(bytes: bytes) } catch {
            tally.error(label + " [reader]", error, typed: isTyped)
            return
        }
        do {
            let model = try LlamaModel(gguf: file)
            model.threads = 1
            do {
                let logits = try model.forward(ids, cache: model.makeCache(capacity: ids.count), allLogits: true)
                tally.loaded(label + " [LlamaModel]", logits: logits, baseline: baseline.model, mayDiffer: mayDiffer)
            } catch { tally.failed(label + " [LlamaModel]", "loaded, then forward threw \(error)") }
        } catch { tally.error(label + " [LlamaModel]", error, typed: isTyped) }
        do {
            let model = try LlamaTrainable(gguf: file)
            do {
                let logits = try Tensor.withoutGrad { try model.logits([ids]).scalars }
                tally.loaded(label + " [LlamaTrainable]", logits: logits, baseline: baseline.trainable, mayDiffer: mayDiffer)
            } catch { tally.failed(label + " [LlamaTrainable]", "loaded, then logits threw \(error)") }
        } catch { tally.error(label + " [LlamaTrainable]", error, typed: isTyped) }
    }

    /// Every recorded field of the layout set to each corruption of its kind; tensor types also
    /// set to every ggml type and to unknown ones.
    static func fieldCorruptions(_ good: [UInt8], tensorTableOnly: Bool, baseline: Baseline, tally: CorruptTally) {
        let layout = GGUFLayout(good)
        let tableRoles: [GGUFLayout.Role] = [.tensorNameLength, .dimCount, .dim, .tensorType, .tensorOffset]
        for field in layout.fields where !tensorTableOnly || tableRoles.contains(field.role) {
            let original = Array(good[field.offset..<field.offset + field.width])
            var variants = GGUFLayout.corruptions(field.kind, original: original)
            var isTypeTag = field.role == .tensorType || field.role == .elementType
            // A number's value (or its type tag: the same bits read as another number) may be
            // another valid value of a key the model depends on.
            var mayDiffer = false
            switch field.role {
            case .value(let key): mayDiffer = numericKeys.contains(key)
            case .valueType(let key): mayDiffer = numericKeys.contains(key); isTypeTag = true
            default: break
            }
            if isTypeTag {
                let raws: [UInt32] = (field.role == .tensorType ? GGMLType.allCases.map(\.rawValue) : Array(0...12)) + [99]
                variants += raws.map { ("type \($0)", withUnsafeBytes(of: $0.littleEndian) { Array($0) }) }
            }
            var seen = Set<[UInt8]>([original])
            for (label, bytes) in variants where seen.insert(bytes).inserted {
                run(good.patched(at: field.offset, bytes), "\(field.path) = \(label)", baseline: baseline,
                    mayDiffer: mayDiffer, tally: tally)
            }
        }
    }

    /// Cuts at every boundary and a few bytes either side (all must fail: the last tensor ends
    /// the file), and extensions by a few bytes (loads while inside the last tensor's padding).
    static func truncations(_ good: [UInt8], baseline: Baseline, tally: CorruptTally) {
        let layout = GGUFLayout(good)
        var lengths = Set<Int>()
        for b in layout.boundaries { for delta in -3...3 { lengths.insert(b + delta) } }
        for length in lengths.sorted() where length >= 0 && length < good.count {
            run(Array(good.prefix(length)), "truncated to \(length) of \(good.count)", baseline: baseline,
                mayDiffer: false, tally: tally)
        }
        for extra in [1, 2, 3, 31, 32, 33, 64] {
            run(good + [UInt8](repeating: 0, count: extra), "extended by \(extra)", baseline: baseline,
                mayDiffer: false, tally: tally)
        }
    }

    /// NaN and infinity in the first and last element of every float tensor, and in the first
    /// and last block scale of every quantised one.
    static func nonFiniteWeights(_ good: [UInt8], baseline: Baseline, tally: CorruptTally) {
        for t in GGUFLayout(good).tensors {
            let traits = t.type.traits
            let last = t.count / traits.blockSize - 1
            for (index, value) in [(0, "NaN"), (last, "inf")] {
                let bytes: [UInt8], at: Int
                switch t.type {
                case .f32:
                    at = t.start + 4 * index
                    bytes = withUnsafeBytes(of: (value == "NaN" ? Float.nan : .infinity).bitPattern.littleEndian) { Array($0) }
                default:
                    at = t.start + index * traits.bytesPerBlock + (traits.scaleOffsets.last ?? 0)
                    bytes = value == "NaN" ? [0x00, 0x7E] : [0x00, 0x7C]
                }
                run(good.patched(at: at, bytes), "\(t.name) \(t.type) [\(index)] = \(value)", baseline: baseline,
                    mayDiffer: false, tally: tally)
            }
        }
    }

    /// Values every hyperparameter key is rewritten to, as their own GGUF value types.
    static let hyperparameterValues: [(String, GGUFValue)] = [
        ("u32 0", .uint32(0)), ("u32 max", .uint32(.max)), ("u64 max", .uint64(.max)), ("i64 max", .int64(.max)),
        ("i32 -1", .int32(-1)), ("i64 min", .int64(.min)), ("f32 nan", .float32(.nan)), ("f32 inf", .float32(.infinity)),
        ("f32 -1", .float32(-1)), ("f64 1e300", .float64(1e300)), ("f32 0.5", .float32(0.5)), ("string", .string("7")),
        ("bool", .bool(true)), ("array", .array(.uint32, [.uint32(2)])),
        ("u32 1", .uint32(1)), ("u32 2", .uint32(2)), ("u32 3", .uint32(3)), ("u32 4", .uint32(4)), ("u32 8", .uint32(8)),
        ("u32 16", .uint32(16)), ("u32 64", .uint32(64)), ("u32 128", .uint32(128)), ("u32 2^20", .uint32(1 << 20)),
        ("u32 2^31", .uint32(1 << 31)), ("u64 2^40", .uint64(1 << 40)), ("f32 1e-5", .float32(1e-5)),
        ("f32 2", .float32(2)), ("f32 1e6", .float32(1e6)), ("f32 3e38", .float32(3e38)),
    ]

    /// Every key the Llama loader and the tokenizer read, present or not in the tiny model.
    static let hyperparameterKeys: [String] = [
        "general.architecture", "general.alignment",
        "llama.context_length", "llama.embedding_length", "llama.feed_forward_length", "llama.block_count",
        "llama.attention.head_count", "llama.attention.head_count_kv", "llama.attention.key_length",
        "llama.attention.value_length", "llama.attention.layer_norm_rms_epsilon", "llama.rope.freq_base",
        "llama.rope.dimension_count", "llama.vocab_size", "llama.rope.scaling.type", "llama.rope.scaling.factor",
        "llama.rope.scaling.original_context_length", "llama.rope.scaling.attn_factor",
        "llama.rope.scaling.low_freq_factor", "llama.rope.scaling.high_freq_factor",
        "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
        "tokenizer.ggml.merges", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.padding_token_id",
    ]

    /// Each key set to each value (added when absent), and removed.
    static func hyperparameters(baseline: Baseline, matrices: GGMLType, tally: CorruptTally) {
        let (metadata, tensors) = LlamaTinyModel.parts(matrices: matrices)
        func file(_ key: String, _ value: GGUFValue?) -> [UInt8] {
            var edited = metadata.filter { $0.0 != key }
            if let value { edited.append((key, value)) }
            return GGUFWriter.file(metadata: edited, tensors: tensors)
        }
        var strings: [(String, GGUFValue)] = ["none", "linear", "yarn", "llama3", "gpt2", "llama", "t5", "qwen2", ""]
            .map { ("\"\($0)\"", .string($0)) }
        strings.append(("tokens short", .array(.string, LlamaTinyModel.vocabulary.dropLast().map { .string($0) })))
        for key in hyperparameterKeys {
            let mayDiffer = numericKeys.contains(key)
            for (label, value) in hyperparameterValues + strings {
                run(file(key, value), "\(key) = \(label)", baseline: baseline, mayDiffer: mayDiffer, tally: tally)
            }
            run(file(key, nil), "\(key) removed", baseline: baseline, mayDiffer: mayDiffer, tally: tally)
        }
    }

    func testCorruptGGUFsThrowOrLoadCorrectly() throws {
        let start = Date()
        let tally = CorruptTally("corrupt GGUF")
        for matrices in [GGMLType.f32, .q8_0] {
            let good = LlamaTinyModel.gguf(matrices: matrices)
            let baseline = try Self.logits(try GGUFFile(bytes: good))
            XCTAssertTrue(baseline.model.allSatisfy(\.isFinite))
            // The metadata is the same in both files: its corruptions run once, on the F32 file.
            Self.fieldCorruptions(good, tensorTableOnly: matrices != .f32, baseline: baseline, tally: tally)
            Self.truncations(good, baseline: baseline, tally: tally)
            Self.nonFiniteWeights(good, baseline: baseline, tally: tally)
            if matrices == .f32 { Self.hyperparameters(baseline: baseline, matrices: matrices, tally: tally) }
        }
        tally.report()
        print("corrupt GGUF: \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        XCTAssertGreaterThan(tally.errors, 1000)
        XCTAssertGreaterThan(tally.correctLoads, 50)
    }
}
