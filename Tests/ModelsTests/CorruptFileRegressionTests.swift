// One test per corrupt file from the "No input crashes the kernel" report: each used to abort,
// segfault or load silently, and must now throw an error that names the field, its value and
// the limit (and the file, for a T5 folder). Also checks that the T5 config's parameter list,
// which the loader checks a checkpoint against before building the model, is the model's.
import Foundation
import Models
import NN
import Tensor
import XCTest

final class CorruptFileRegressionTests: XCTestCase {
    /// The tiny Llama with `key` set to `value` (added if absent).
    func llama(_ key: String, _ value: GGUFValue, matrices: GGMLType = .f32) -> [UInt8] {
        LlamaTinyModel.gguf(matrices: matrices) { metadata in
            metadata.removeAll { $0.0 == key }
            metadata.append((key, value))
        }
    }

    /// Both loaders (the teacher's and the LoRA student's) throw `expected`.
    func expect(_ bytes: [UInt8], _ expected: some Error & Equatable, file: StaticString = #filePath, line: UInt = #line) {
        func check(_ error: Error) {
            XCTAssertEqual("\(error)", "\(expected)", file: file, line: line)
            XCTAssertEqual(String(reflecting: error), String(reflecting: expected), file: file, line: line)
        }
        XCTAssertThrowsError(try LlamaModel(gguf: GGUFFile(bytes: bytes)), file: file, line: line) { check($0) }
        XCTAssertThrowsError(try LlamaTrainable(gguf: GGUFFile(bytes: bytes)), file: file, line: line) { check($0) }
    }

    func testBlockCountAllOnesNamesTheBlocksTheFileHolds() throws {
        let bytes = llama("llama.block_count", .uint32(0xFFFF_FFFF))
        expect(bytes, LlamaError.invalidHyperparameter(key: "llama.block_count", value: "4294967295",
                                                       limit: "this file's tensors hold 2 blocks"))
        XCTAssertEqual("\(LlamaError.invalidHyperparameter(key: "llama.block_count", value: "4294967295", limit: "this file's tensors hold 2 blocks"))",
                       "llama.block_count is 4294967295; this file's tensors hold 2 blocks")
        // From a path too, as gguf() and `train --student llama:` open it.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("block-count-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(bytes).write(to: url)
        XCTAssertThrowsError(try LlamaModel(path: url.path)) { XCTAssertTrue("\($0)".contains("llama.block_count is 4294967295")) }
        expect(llama("llama.block_count", .uint64(.max)),
               LlamaError.invalidHyperparameter(key: "llama.block_count", value: "18446744073709551615",
                                                limit: "it does not fit a 64-bit signed integer"))
    }

    func testBlockCountZero() {
        expect(llama("llama.block_count", .uint32(0)),
               LlamaError.invalidHyperparameter(key: "llama.block_count", value: "0", limit: "a model needs at least 1 block"))
    }

    func testRopeDimensionCountBeyondTheHeadWidth() {
        // 128 used to load and then write past each head in LlamaAttention (the tiny model's heads are 8 wide).
        expect(llama("llama.rope.dimension_count", .uint32(128)),
               LlamaError.invalidHyperparameter(key: "llama.rope.dimension_count", value: "128",
                                                limit: "it must be from 2 to the head width 8"))
        expect(llama("llama.rope.dimension_count", .uint32(5)),
               LlamaError.invalidHyperparameter(key: "llama.rope.dimension_count", value: "5",
                                                limit: "RoPE rotates pairs, so it must be even"))
    }

    func testHeadCountKVErrorsNameHeadCountKV() {
        expect(llama("llama.attention.head_count_kv", .uint32(3)),
               LlamaError.invalidHyperparameter(key: "llama.attention.head_count_kv", value: "3",
                                                limit: "it must divide llama.attention.head_count (4)"))
        expect(llama("llama.attention.head_count_kv", .uint32(4)),
               LlamaError.invalidHyperparameter(key: "llama.attention.head_count_kv", value: "4",
                                                limit: "4 heads of 8 need 32 rows but blk.0.attn_k.weight has 16"))
        expect(llama("llama.attention.head_count_kv", .uint32(8)),
               LlamaError.invalidHyperparameter(key: "llama.attention.head_count_kv", value: "8", limit: "it exceeds 4"))
    }

    func testQ8_0RetypedAsQ4_0IsASizeMismatch() throws {
        let good = LlamaTinyModel.gguf(matrices: .q8_0)
        let field = try XCTUnwrap(GGUFLayout(good).fields.first { $0.path == "blk.0.attn_q.weight type" })
        let retyped = good.patched(at: field.offset, [UInt8(GGMLType.q4_0.rawValue), 0, 0, 0])
        // 32 rows of 32: 32 Q4_0 blocks are 576 bytes, where the Q8_0 data spans 32 × 34.
        XCTAssertThrowsError(try GGUFFile(bytes: retyped)) { error in
            XCTAssertEqual(error as? GGUFError, .tensorSizeMismatch(tensor: "blk.0.attn_q.weight", type: .q4_0,
                                                                    dims: [32, 32], bytes: 576, span: 1088))
            XCTAssertTrue("\(error)".contains("its type or dims do not match its data"), "\(error)")
        }
        XCTAssertNoThrow(try LlamaModel(gguf: GGUFFile(bytes: good)))
    }

    func testRopeFreqBaseNaN() {
        expect(llama("llama.rope.freq_base", .float32(.nan)),
               LlamaError.invalidHyperparameter(key: "llama.rope.freq_base", value: "nan", limit: "it must be a finite number above 1"))
        // A wrong type used to fall back to 10,000 silently.
        expect(llama("llama.rope.freq_base", .string("1e4")),
               GGUFError.wrongValueType(key: "llama.rope.freq_base", expected: "number", found: .string))
    }

    func testContextLengthZero() {
        expect(llama("llama.context_length", .uint32(0)),
               LlamaError.invalidHyperparameter(key: "llama.context_length", value: "0", limit: "it must be at least 1"))
    }

    func testNonFiniteWeightsNameTheTensor() throws {
        let good = LlamaTinyModel.gguf()
        let up = try XCTUnwrap(GGUFLayout(good).tensors.first { $0.name == "blk.1.ffn_up.weight" })
        let nan = good.patched(at: up.start + 4 * 5, withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { Array($0) })
        expect(nan, GGUFError.nonFiniteWeight(tensor: "blk.1.ffn_up.weight", index: 5, inScale: false))
        // A Q8_0 block whose f16 scale is infinite.
        let q8 = LlamaTinyModel.gguf(matrices: .q8_0)
        let v = try XCTUnwrap(GGUFLayout(q8).tensors.first { $0.name == "blk.0.attn_v.weight" })
        expect(q8.patched(at: v.start + 3 * 34, [0x00, 0x7C]),
               GGUFError.nonFiniteWeight(tensor: "blk.0.attn_v.weight", index: 3, inScale: true))
    }

    func testCorruptLoRAAdapterSettingsAndWeights() throws {
        let config = LoRAConfig(rank: 2, alpha: 16, targets: [.q, .up])
        let model = try LlamaTrainable(gguf: LlamaTinyModel.file())
        model.addAdapters(config, seed: 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lora-corrupt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try model.saveAdapters(to: dir, config: config)
        let configURL = dir.appendingPathComponent(LlamaTrainable.adapterConfigFile)
        let intact = try String(contentsOf: configURL, encoding: .utf8)
        for (key, value, message) in [("r", "1e300", "r = 1e+300; it must be a whole number from 1 to 1048576"),
                                      ("r", "2.5", "r = 2.5; it must be a whole number from 1 to 1048576"),
                                      ("lora_alpha", "-1", "lora_alpha = -1.0; it must be a finite number in (0, 1e6]"),
                                      ("lora_dropout", "1", "lora_dropout = 1.0; it must be in [0, 1)")] {
            let edited = intact.components(separatedBy: "\n").map { line -> String in
                guard line.contains("\"\(key)\" :") else { return line }
                return "  \"\(key)\" : \(value)" + (line.hasSuffix(",") ? "," : "")
            }.joined(separator: "\n")
            try Data(edited.utf8).write(to: configURL)
            XCTAssertThrowsError(try LlamaTrainable(gguf: LlamaTinyModel.file()).loadAdapters(from: dir), key) { error in
                XCTAssertEqual("\(error)", "LoRA adapter does not fit the model: adapter_config.json \(message)")
            }
        }
        try Data(intact.utf8).write(to: configURL)
        // A NaN in lora_A is an error naming the tensor, not a model that trains to NaN.
        let weightsURL = dir.appendingPathComponent(LlamaTrainable.adapterWeightsFile)
        let name = "base_model.model.model.layers.1.mlp.up_proj.lora_A.weight"
        let entry = try XCTUnwrap(try SafetensorsFile(contentsOf: weightsURL).entries[name])
        var bytes = [UInt8](try Data(contentsOf: weightsURL))
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        bytes.replaceSubrange(8 + n + entry.begin..<8 + n + entry.begin + 4, with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { Array($0) })
        try Data(bytes).write(to: weightsURL)
        XCTAssertThrowsError(try LlamaTrainable(gguf: LlamaTinyModel.file()).loadAdapters(from: dir)) { error in
            XCTAssertEqual(error as? SafetensorsError, .nonFinite(name: name, index: 0))
        }
    }

    func testTokenizerFilesWithHugeNumbers() throws {
        // A T5 folder's tokenizer.json sized its token table from the largest id it lists.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1099511627776}, "merges": []}}"#.utf8).write(to: url)
        XCTAssertThrowsError(try makeTokenizer(tokenizerJSON: url)) {
            XCTAssertEqual($0 as? TokenizerError, .malformed("token id 1099511627776 is beyond the 2 tokens tokenizer.json lists"))
        }
        // A spiece.model piece whose type is a 64-bit varint used to trap converting it to Int.
        let maxVarint: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        let piece: [UInt8] = [0x0A, 1, 0x61, 0x15, 0, 0, 0, 0, 0x18] + maxVarint
        let model = try SentencePieceModel(bytes: [0x0A, UInt8(piece.count)] + piece + [0x12, 11, 0x18] + maxVarint)
        XCTAssertEqual(model.pieces.map(\.text), ["a"])
        XCTAssertEqual(model.pieces.first?.type, .normal)
    }

    // MARK: - T5 folders

    func t5Folder(config edit: (String) -> String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("t5-regression-\(UUID().uuidString)")
        try T5Model(CorruptT5Tests.config).save(to: folder)
        let url = folder.appendingPathComponent("config.json")
        try Data(edit(try String(contentsOf: url, encoding: .utf8)).utf8).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    func replacing(_ key: String, with value: String) -> (String) -> String {
        { text in
            text.components(separatedBy: "\n").map { $0.hasPrefix("  \"\(key)\": ") ? "  \"\(key)\": \(value)," : $0 }
                .joined(separator: "\n")
        }
    }

    func testT5HugeDKVNamesTheFileTheKeyAndTheLimit() throws {
        let folder = try t5Folder(config: replacing("d_kv", with: "1099511627776"))
        let path = folder.appendingPathComponent("config.json").path
        XCTAssertThrowsError(try T5Model.load(from: folder)) { error in
            XCTAssertEqual(error as? T5Error, .invalidConfig("\(path): d_kv = 1099511627776 exceeds 65536"))
        }
    }

    func testT5BillionLayersIsRejectedBeforeAllocating() throws {
        for value in ["1e9", "1000000000"] {
            let folder = try t5Folder(config: replacing("num_layers", with: value))
            XCTAssertThrowsError(try T5Model.load(from: folder)) { error in
                XCTAssertTrue(error is T5Error)
                XCTAssertTrue("\(error)".contains("num_layers"), "\(error)")
                XCTAssertTrue("\(error)".contains("config.json"), "\(error)")
            }
        }
        let folder = try t5Folder(config: replacing("num_layers", with: "1000000000"))
        XCTAssertThrowsError(try T5Model.load(from: folder)) { error in
            XCTAssertEqual("\(error)", "T5 config: \(folder.appendingPathComponent("config.json").path): num_layers = 1000000000 exceeds 1024")
        }
        // Plausible but not what the file holds.
        let three = try t5Folder(config: replacing("num_layers", with: "3"))
        XCTAssertThrowsError(try T5Model.load(from: three)) { error in
            XCTAssertEqual(error as? T5Error, .invalidConfig(
                "\(three.appendingPathComponent("config.json").path): num_layers = 3; model.safetensors holds 2 encoder blocks"))
        }
    }

    func testT5NaNWeightIsALoadError() throws {
        let folder = try t5Folder(config: { $0 })
        let url = folder.appendingPathComponent("model.safetensors")
        let file = try SafetensorsFile(contentsOf: url)
        let entry = try XCTUnwrap(file.entries["decoder.block.1.layer.1.EncDecAttention.k.weight"])
        var bytes = [UInt8](try Data(contentsOf: url))
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        let at = 8 + n + entry.begin + 4 * 7
        bytes.replaceSubrange(at..<at + 4, with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { Array($0) })
        try Data(bytes).write(to: url)
        XCTAssertThrowsError(try T5Model.load(from: folder)) { error in
            XCTAssertTrue(error is T5Error)
            XCTAssertTrue("\(error)".contains("'decoder.block.1.layer.1.EncDecAttention.k.weight' holds a non-finite value (NaN or infinity) at element 7"),
                          "\(error)")
        }
    }

    func testT5ParameterShapesAreTheModelsParameters() throws {
        for config in [CorruptT5Tests.config, T5Config.preset(.tiny, vocabSize: 40), T5Config(vocabSize: 30, dModel: 12, dKV: 4, dFF: 20, numLayers: 2, numHeads: 3), // relu, tied
                       T5Config(vocabSize: 10, dModel: 8, dKV: 3, dFF: 5, numLayers: 1, numDecoderLayers: 3, numHeads: 5)] {
            let model = try T5Model(config)
            let actual = model.namedParameters().map { "\($0.0) \($0.1.shape)" }
            XCTAssertEqual(config.parameterShapes().map { "\($0.name) \($0.shape)" }, actual)
        }
    }
}
