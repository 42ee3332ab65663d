// The GGUF reader on hand-written files (every value type, alignment, each typed error) and on
// the real SmolLM2 file.
import Foundation
import Models
import XCTest

final class GGUFReaderTests: XCTestCase {
    static let allValues: [(String, GGUFValue)] = [
        ("general.architecture", .string("llama")),
        ("u8", .uint8(200)), ("i8", .int8(-100)), ("u16", .uint16(60000)), ("i16", .int16(-30000)),
        ("u32", .uint32(4_000_000_000)), ("i32", .int32(-2_000_000_000)),
        ("u64", .uint64(1 << 40)), ("i64", .int64(-(1 << 40))),
        ("f32", .float32(1.5)), ("f64", .float64(-2.25)), ("yes", .bool(true)),
        ("unicode", .string("naïve 日本 😀")),
        ("tokens", .array(.string, [.string("a"), .string(""), .string("Ġthe")])),
        ("nested", .array(.array, [.array(.int32, [.int32(1), .int32(2)]), .array(.int32, [])])),
        ("empty", .array(.float32, [])),
    ]

    func sample(version: UInt32 = 3, alignment: Int = 32) -> [UInt8] {
        var metadata = Self.allValues
        if alignment != 32 { metadata.append(("general.alignment", .uint32(UInt32(alignment)))) }
        let q8 = QuantReference.quantizeQ8_0((0..<64).map { Float($0) / 10 })
        return GGUFWriter.file(version: version, metadata: metadata, tensors: [
            ("norm", [8], .f32, floatBytes((0..<8).map(Float.init))),
            ("w", [32, 2], .q8_0, q8),
        ], alignment: alignment)
    }

    func testParsesEveryValueType() throws {
        let file = try GGUFFile(bytes: sample())
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.metadataKeys, Self.allValues.map(\.0))
        for (key, value) in Self.allValues { XCTAssertEqual(file.metadata[key], value, key) }
        XCTAssertEqual(try file.string("general.architecture"), "llama")
        XCTAssertEqual(try file.int("u32"), 4_000_000_000)
        XCTAssertEqual(try file.int("i8"), -100)
        XCTAssertEqual(try file.float("f64"), -2.25)
        XCTAssertEqual(try file.bool("yes"), true)
        XCTAssertEqual(try file.strings("tokens"), ["a", "", "Ġthe"])
        XCTAssertEqual(try file.array("nested").count, 2)
        XCTAssertEqual(file.alignment, 32)
    }

    func testTypedAccessorErrors() throws {
        let file = try GGUFFile(bytes: sample())
        XCTAssertThrowsError(try file.string("nope")) { XCTAssertEqual($0 as? GGUFError, .missingKey("nope")) }
        XCTAssertThrowsError(try file.int("unicode")) {
            XCTAssertEqual($0 as? GGUFError, .wrongValueType(key: "unicode", expected: "integer", found: .string))
        }
        XCTAssertThrowsError(try file.requireTensor("missing")) { XCTAssertEqual($0 as? GGUFError, .missingTensor("missing")) }
    }

    func testTensorsAndAlignment() throws {
        for (version, alignment) in [(UInt32(2), 32), (3, 64), (3, 8)] {
            let file = try GGUFFile(bytes: sample(version: version, alignment: alignment))
            XCTAssertEqual(file.alignment, alignment)
            XCTAssertEqual(file.dataOffset % alignment, 0)
            let norm = try file.requireTensor("norm")
            XCTAssertEqual(norm.info.type, .f32)
            XCTAssertEqual(norm.dequantized(), (0..<8).map(Float.init))
            let w = try file.requireTensor("w")
            XCTAssertEqual(w.info.dims, [32, 2])
            XCTAssertEqual(w.info.byteCount, 68)
            XCTAssertEqual(w.info.rowCount, 2)
            let values = w.dequantized()
            for (i, v) in values.enumerated() { XCTAssertEqual(v, Float(i) / 10, accuracy: 0.03) }
        }
    }

    func expectError(_ bytes: [UInt8], _ expected: GGUFError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try GGUFFile(bytes: bytes), file: file, line: line) { error in
            XCTAssertEqual(error as? GGUFError, expected, file: file, line: line)
            XCTAssertFalse("\(error)".isEmpty)
        }
    }

    func patched(_ bytes: [UInt8], at offset: Int, _ values: [UInt8]) -> [UInt8] {
        var b = bytes
        b.replaceSubrange(offset..<offset + values.count, with: values)
        return b
    }

    func testEachCheckHasItsError() throws {
        let good = sample()
        expectError(patched(good, at: 0, Array("GGUG".utf8)), .badMagic(found: 0x4755_4747))
        expectError(patched(good, at: 4, [1, 0, 0, 0]), .unsupportedVersion(1))
        expectError(Array(good.prefix(10)), .fileTooSmall(size: 10))
        // Tensor count field at 8: a count no file of this size could hold.
        expectError(patched(good, at: 8, [0, 0, 0, 0, 0, 0, 0, 0x10]),
                    .countTooLarge(what: "tensor", count: 1 << 60, offset: 8, fileSize: good.count))
        // First key's length at 24: past the end.
        expectError(patched(good, at: 24, [0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0]),
                    .stringPastEnd(offset: 24, length: 0xFF_FFFF, fileSize: good.count))
        // First value type (after the 8-byte length and 20-byte key).
        expectError(patched(good, at: 24 + 8 + 20, [99, 0, 0, 0]), .unknownValueType(99, key: "general.architecture"))
        XCTAssertThrowsError(try GGUFFile(bytes: Array(good.prefix(good.count - 1)))) { error in
            guard case .tensorDataPastEnd(let name, _, _)? = error as? GGUFError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "w")
        }
    }

    func testTensorChecks() {
        func one(_ dims: [Int], _ type: GGMLType, _ data: [UInt8], metadata: [(String, GGUFValue)] = []) -> [UInt8] {
            GGUFWriter.file(metadata: metadata, tensors: [("t", dims, type, data)])
        }
        expectError(one([16], .q8_0, [UInt8](repeating: 0, count: 34)),
                    .rowNotWholeBlocks(tensor: "t", rowLength: 16, blockSize: 32))
        expectError(one([1 << 62, 1 << 10], .f32, []), .dimsOverflow(tensor: "t", dims: [1 << 62, 1 << 10]))
        expectError(one([4], .f32, floatBytes([1, 2, 3, 4]), metadata: [("general.alignment", .uint32(24))]),
                    .badAlignment(24))
        // Unknown tensor type: patch the type field, which sits 12 bytes before the end of the info.
        var bytes = one([4], .f32, floatBytes([1, 2, 3, 4]))
        let infoEnd = 24 + 8 + 1 + 4 + 8 + 4 + 8
        bytes.replaceSubrange(infoEnd - 12..<infoEnd - 8, with: [77, 0, 0, 0])
        expectError(bytes, .unknownTensorType(77, tensor: "t"))
        bytes = one([4], .f32, floatBytes([1, 2, 3, 4]))
        bytes.replaceSubrange(infoEnd - 8..<infoEnd - 7, with: [4])
        expectError(bytes, .offsetMisaligned(tensor: "t", offset: 4, alignment: 32))
        bytes = one([4], .f32, floatBytes([1, 2, 3, 4]))
        bytes.replaceSubrange(24 + 8 + 1..<24 + 8 + 1 + 4, with: [5, 0, 0, 0])
        expectError(bytes, .tooManyDims(tensor: "t", count: 5))
    }

    func testNestingLimit() {
        var value = GGUFValue.array(.int32, [.int32(1)])
        for _ in 0..<20 { value = .array(.array, [value]) }
        XCTAssertThrowsError(try GGUFFile(bytes: GGUFWriter.file(metadata: [("deep", value)], tensors: []))) {
            XCTAssertEqual($0 as? GGUFError, .nestingTooDeep(key: "deep"))
        }
    }

    func testMissingFileError() {
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/x.gguf")) { error in
            guard case .cannotOpen? = error as? GGUFError else { return XCTFail("\(error)") }
        }
    }

    func testRealModelHeader() throws {
        guard let file = RealModel.require() else { return }
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(try file.string("general.architecture"), "llama")
        XCTAssertEqual(try file.int("llama.embedding_length"), 576)
        XCTAssertEqual(try file.int("llama.block_count"), 30)
        XCTAssertEqual(try file.int("llama.attention.head_count"), 9)
        XCTAssertEqual(try file.int("llama.attention.head_count_kv"), 3)
        XCTAssertEqual(try file.float("llama.rope.freq_base"), 100_000)
        XCTAssertEqual(try file.string("tokenizer.ggml.pre"), "smollm")
        XCTAssertEqual(try file.strings("tokenizer.ggml.tokens").count, 49152)
        XCTAssertEqual(file.tensorInfos.count, 272)
        var counts: [GGMLType: Int] = [:]
        for t in file.tensorInfos { counts[t.type, default: 0] += 1 }
        XCTAssertEqual(counts, [.q4_1: 210, .f32: 61, .q8_0: 1])
        let embedding = try file.requireTensor("token_embd.weight")
        XCTAssertEqual(embedding.info.type, .q8_0)
        XCTAssertEqual(embedding.info.dims, [576, 49152])
        XCTAssertNil(file.tensor(named: "output.weight"), "SmolLM2 ties the output head to token_embd")
        XCTAssertEqual(try file.requireTensor("blk.0.ffn_up.weight").info.dims, [576, 1536])
        XCTAssertEqual(try file.requireTensor("blk.0.ffn_down.weight").info.dims, [1536, 576])
        XCTAssertEqual(try file.requireTensor("blk.0.attn_k.weight").info.dims, [576, 192])
    }
}

final class LlamaGGUFTests: XCTestCase {
    func testSmolLM2Hyperparameters() throws {
        guard let file = RealModel.require() else { return }
        let h = try LlamaHyperparameters(gguf: file)
        XCTAssertEqual(h.architecture, "llama")
        XCTAssertEqual([h.vocabularySize, h.contextLength, h.dModel, h.ffnDim, h.nLayers, h.nHeads, h.nKVHeads, h.headDim],
                       [49152, 8192, 576, 1536, 30, 9, 3, 64])
        XCTAssertEqual(h.ropeFreqBase, 100_000)
        XCTAssertEqual(h.rmsNormEpsilon, 1e-5, accuracy: 1e-9)
        XCTAssertTrue(h.tiedOutput)
        for layer in 0..<h.nLayers {
            for name in [LlamaGGUFName.attnNorm(layer), LlamaGGUFName.attnQ(layer), LlamaGGUFName.attnK(layer),
                         LlamaGGUFName.attnV(layer), LlamaGGUFName.attnOutput(layer), LlamaGGUFName.ffnNorm(layer),
                         LlamaGGUFName.ffnGate(layer), LlamaGGUFName.ffnUp(layer), LlamaGGUFName.ffnDown(layer)] {
                XCTAssertNotNil(file.tensor(named: name), name)
            }
        }
        XCTAssertEqual(try file.requireTensor(LlamaGGUFName.attnQ(0)).matrix.rows, h.dModel)
        XCTAssertEqual(try file.requireTensor(LlamaGGUFName.attnK(0)).matrix.rows, h.nKVHeads * h.headDim)
        XCTAssertEqual(try file.requireTensor(LlamaGGUFName.ffnUp(0)).matrix.rows, h.ffnDim)
        XCTAssertEqual(try file.requireTensor(LlamaGGUFName.tokenEmbedding).matrix.rows, h.vocabularySize)
    }
}
