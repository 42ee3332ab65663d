// Tokenizers on small hand-made vocabularies whose right answers can be worked out by hand:
// the pre-tokenizer splits, SentencePiece BPE, Unigram (from pieces, spiece.model protobuf and
// tokenizer.json), and the ChatML template.
import Foundation
import Models
import XCTest

final class TokenizerUnitTests: XCTestCase {
    func testPreTokenizerSplits() {
        XCTAssertEqual(PreTokenizerKind.gpt2.split("Hello world's 123  x"), ["Hello", " world", "'s", " 123", " ", " x"])
        XCTAssertEqual(PreTokenizerKind.gpt2.split("a  "), ["a", "  "])
        XCTAssertEqual(PreTokenizerKind.gpt2.split("Hi!!! 😀 日本"), ["Hi", "!!!", " 😀", " 日本"])
        XCTAssertEqual(PreTokenizerKind.smollm.split("abc 123"), ["abc", " ", "1", "2", "3"])
        XCTAssertEqual(PreTokenizerKind.smollm.split("x²=4"), ["x", "²", "=", "4"])
        XCTAssertEqual(PreTokenizerKind.llama3.split("Hello 12345 world\n\nok"),
                       ["Hello", " ", "123", "45", " world", "\n\n", "ok"])
        XCTAssertEqual(PreTokenizerKind.llama3.split("I'M fine"), ["I", "'M", " fine"])
        XCTAssertThrowsError(try PreTokenizerKind(ggufName: "made-up")) {
            XCTAssertEqual($0 as? TokenizerError, .unsupportedPreTokenizer("made-up"))
        }
    }

    // MARK: SentencePiece BPE

    func spmVocabulary() -> (tokens: [String], scores: [Float], types: [TokenType]) {
        var tokens = ["<unk>", "<s>", "</s>"], scores: [Float] = [0, 0, 0]
        var types: [TokenType] = [.unknown, .control, .control]
        for b in 0..<256 { tokens.append(String(format: "<0x%02X>", b)); scores.append(0); types.append(.byte) }
        for (t, s) in [("▁", -10), ("h", -10), ("e", -10), ("l", -10), ("o", -10), ("he", -1), ("ll", -2),
                       ("llo", -3), ("hello", -4), ("▁hello", -5)] as [(String, Float)] {
            tokens.append(t); scores.append(s); types.append(.normal)
        }
        return (tokens, scores, types)
    }

    func testSentencePieceBPE() throws {
        let v = spmVocabulary()
        let tok = try SentencePieceBPETokenizer(tokens: v.tokens, scores: v.scores, tokenTypes: v.types,
                                                bos: 1, eos: 2, unknown: 0, addSpacePrefix: true)
        let id = { (t: String) in v.tokens.firstIndex(of: t) ?? -1 }
        XCTAssertEqual(tok.encode("hello"), [id("▁hello")])
        // "x" is not in the vocabulary: byte fallback.
        XCTAssertEqual(tok.encode("hex"), [id("▁"), id("he"), id("<0x78>")])
        XCTAssertEqual(tok.encode("<s>hello"), [1, id("▁hello")])
        XCTAssertEqual(tok.encode("<s>hello", parseSpecial: false).first, id("▁"))
        XCTAssertEqual(tok.decode(tok.encode("hello hex")), "hello hex")
        XCTAssertEqual(tok.decode([1] + tok.encode("hello"), skipSpecial: true), "hello")
        XCTAssertEqual(tok.decode(tok.encode("héllo")), "héllo")  // é only through bytes
        // A long text is one merge run (spaces are ▁, not split points): it must stay fast.
        let long = String(repeating: "hello hex ", count: 3000)
        let start = Date()
        let ids = tok.encode(long)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertEqual(ids.count, 3000 * 4 + 1)  // ▁hello ▁ he <0x78> per unit, and the final ▁
        XCTAssertEqual(tok.decode(ids), long)
    }

    func testSentencePieceBPEFromGGUF() throws {
        let v = spmVocabulary()
        let bytes = GGUFWriter.file(metadata: [
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", .array(.string, v.tokens.map { .string($0) })),
            ("tokenizer.ggml.scores", .array(.float32, v.scores.map { .float32($0) })),
            ("tokenizer.ggml.token_type", .array(.int32, v.types.map { .int32(Int32($0.rawValue)) })),
            ("tokenizer.ggml.bos_token_id", .uint32(1)), ("tokenizer.ggml.eos_token_id", .uint32(2)),
        ], tensors: [])
        let tok = try makeTokenizer(gguf: try GGUFFile(bytes: bytes))
        XCTAssertTrue(tok is SentencePieceBPETokenizer)
        XCTAssertEqual(tok.encode("hello").map { tok.tokenText($0) }, ["▁hello"])
        XCTAssertEqual(tok.bosTokenID, 1)
    }

    // MARK: Unigram

    static let unigramPieces: [SentencePieceModel.Piece] = [
        .init(text: "<pad>", score: 0, type: .control), .init(text: "</s>", score: 0, type: .control),
        .init(text: "<unk>", score: 0, type: .unknown), .init(text: "▁", score: -2, type: .normal),
        .init(text: "▁a", score: -1, type: .normal), .init(text: "b", score: -2, type: .normal),
        .init(text: "ab", score: -1.5, type: .normal), .init(text: "▁ab", score: -4, type: .normal),
        .init(text: "a", score: -3, type: .normal),
    ]

    func checkUnigram(_ tok: any Tokenizer, file: StaticString = #filePath, line: UInt = #line) {
        // "▁ab": ▁a + b = -3 beats ▁ + ab = -3.5 and ▁ab = -4.
        XCTAssertEqual(tok.encode("ab"), [4, 5], file: file, line: line)
        // c is unknown; two unknowns in a row fuse into one <unk>.
        XCTAssertEqual(tok.encode("abc"), [4, 5, 2], file: file, line: line)
        XCTAssertEqual(tok.encode("cc"), [3, 2], file: file, line: line)
        XCTAssertEqual(tok.encode("  ab   ab "), [4, 5, 4, 5], file: file, line: line)
        XCTAssertEqual(tok.encode("ab</s>"), [4, 5, 1], file: file, line: line)
        XCTAssertEqual(tok.decode([4, 5, 4, 5, 1], skipSpecial: true), "ab ab", file: file, line: line)
    }

    func testUnigramFromPieces() throws {
        checkUnigram(try UnigramTokenizer(pieces: Self.unigramPieces, unknownID: 2, bos: nil, eos: 1, byteFallback: false,
                                          addDummyPrefix: true, removeExtraWhitespaces: true, nfkc: true))
    }

    /// Protobuf writing, just enough for a spiece.model.
    func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        repeat { out.append(UInt8(v & 0x7F) | (v >= 0x80 ? 0x80 : 0)); v >>= 7 } while v > 0
        return out
    }
    func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] { varint(UInt64(number << 3 | 2)) + varint(UInt64(payload.count)) + payload }
    func varintField(_ number: Int, _ v: UInt64) -> [UInt8] { varint(UInt64(number << 3)) + varint(v) }

    func spieceModel() -> [UInt8] {
        var bytes: [UInt8] = []
        for p in Self.unigramPieces {
            var piece = field(1, Array(p.text.utf8))
            piece += varint(UInt64(2 << 3 | 5)) + withUnsafeBytes(of: p.score.bitPattern.littleEndian) { Array($0) }
            piece += varintField(3, UInt64(p.type.rawValue))
            piece += varintField(99, 7)  // an unknown field, skipped
            bytes += field(1, piece)
        }
        // TrainerSpec: unigram, unk 2, bos -1 (ten-byte negative varint), eos 1, pad 0.
        bytes += field(2, varintField(3, 1) + varintField(40, 2) + varintField(41, UInt64(bitPattern: -1))
                          + varintField(42, 1) + varintField(43, 0))
        bytes += field(3, field(1, Array("nmt_nfkc".utf8)) + varintField(3, 1) + varintField(4, 1))
        return bytes
    }

    func testUnigramFromSentencePieceModel() throws {
        let model = try SentencePieceModel(bytes: spieceModel())
        XCTAssertEqual(model.pieces, Self.unigramPieces)
        XCTAssertEqual(model.unknownID, 2)
        XCTAssertEqual(model.bosID, -1)
        XCTAssertEqual(model.eosID, 1)
        XCTAssertEqual(model.modelType, .unigram)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("stepwise-test-\(getpid()).model")
        try Data(spieceModel()).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let tok = try makeTokenizer(sentencePieceModel: url)
        XCTAssertNil(tok.bosTokenID)
        checkUnigram(tok)
        // Truncated protobufs throw, never crash.
        let good = spieceModel()
        for cut in stride(from: 1, to: good.count, by: 3) {
            _ = try? SentencePieceModel(bytes: Array(good.prefix(cut)))
        }
        XCTAssertThrowsError(try SentencePieceModel(bytes: [0x0A, 0x7F]))
    }

    func testUnigramFromTokenizerJSON() throws {
        let json: [String: Any] = [
            "added_tokens": [["id": 0, "content": "<pad>", "special": true], ["id": 1, "content": "</s>", "special": true],
                             ["id": 2, "content": "<unk>", "special": true]],
            "normalizer": ["type": "Precompiled"],
            "model": ["type": "Unigram", "unk_id": 2, "vocab": Self.unigramPieces.map { [$0.text, Double($0.score)] }],
        ]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("stepwise-unigram-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        checkUnigram(try makeTokenizer(tokenizerJSON: url))
    }

    // MARK: Chat template

    func testChatML() {
        let user = ChatMessage(role: "user", content: "What is 2+2?")
        XCTAssertEqual(ChatMLTemplate.render([user]),
                       "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                       + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(ChatMLTemplate.render([ChatMessage(role: "system", content: "Be brief."), user], addGenerationPrompt: false),
                       "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n")
        XCTAssertEqual(ChatMLTemplate.render([], addGenerationPrompt: false), "")
    }
}
