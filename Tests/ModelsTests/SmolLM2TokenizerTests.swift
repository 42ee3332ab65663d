// The SmolLM2 tokenizer (byte-level BPE, "smollm" pre-tokenizer) against llama.cpp's ids on the
// fixture sample written by scripts/gen_llama_reference.py, from the GGUF and from an equivalent
// tokenizer.json; plus the reference prompts' ids and the logits fixture's shape.
import Foundation
import Models
import XCTest

final class SmolLM2TokenizerTests: XCTestCase {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let ids_no_special: [Int]
        let decoded: String
    }
    struct TokenizerFixture: Decodable { let cases: [Case] }
    struct Prompt: Decodable {
        let name: String
        let chat: Bool
        let user: String
        let text: String
        let prompt_ids: [Int]
        let generated_ids: [Int]
        let generated_text: String
        let positions: Int
    }
    struct ReferenceFixture: Decodable {
        let top_k: Int
        let fixed_ids: [Int]
        let prompts: [Prompt]
    }

    struct MissingFixture: Error, CustomStringConvertible { let description: String }

    static let tokenizer: ByteLevelBPETokenizer? = RealModel.file.flatMap { try? ByteLevelBPETokenizer(gguf: $0) }

    func load<T: Decodable>(_ name: String, as: T.Type) throws -> T {
        guard let url = TestPaths.fixture(name) else {
            throw MissingFixture(description: "fixture \(name) missing: run scripts/gen_llama_reference.py")
        }
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    func requireTokenizer() -> ByteLevelBPETokenizer? {
        guard RealModel.require() != nil else { return nil }
        guard let t = Self.tokenizer else { XCTFail("tokenizer did not build from the GGUF"); return nil }
        return t
    }

    func check(_ tok: any Tokenizer, _ fixture: TokenizerFixture, file: StaticString = #filePath, line: UInt = #line) {
        for c in fixture.cases {
            XCTAssertEqual(tok.encode(c.text, parseSpecial: true), c.ids, "special: \(c.text.debugDescription)", file: file, line: line)
            XCTAssertEqual(tok.encode(c.text, parseSpecial: false), c.ids_no_special, "plain: \(c.text.debugDescription)", file: file, line: line)
            XCTAssertEqual(tok.decode(c.ids), c.text, "round trip", file: file, line: line)
            XCTAssertEqual(tok.decode(c.ids), c.decoded, "llama.cpp detokenize", file: file, line: line)
        }
    }

    func testMatchesLlamaCppOnFixture() throws {
        guard let tok = requireTokenizer() else { return }
        let fixture = try load("llama_tokenizer.json", as: TokenizerFixture.self)
        XCTAssertGreaterThan(fixture.cases.count, 10)
        XCTAssertEqual(tok.preTokenizer, .smollm)
        XCTAssertEqual(tok.vocabularySize, 49152)
        XCTAssertEqual(tok.bosTokenID, 1)
        XCTAssertEqual(tok.eosTokenID, 2)
        check(tok, fixture)
        XCTAssertEqual(tok.decode([1, 2], skipSpecial: true), "")
    }

    func testReferencePromptsTokenise() throws {
        guard let tok = requireTokenizer() else { return }
        let reference = try load("llama_reference.json", as: ReferenceFixture.self)
        XCTAssertEqual(reference.prompts.count, 3)
        for p in reference.prompts {
            XCTAssertEqual(tok.encode(p.text), p.prompt_ids, p.name)
            XCTAssertEqual(tok.decode(p.generated_ids, skipSpecial: true), p.generated_text, p.name)
        }
        for p in reference.prompts where p.chat {
            XCTAssertEqual(ChatMLTemplate.render([ChatMessage(role: "user", content: p.user)]), p.text, "chat template")
        }
        let chat = reference.prompts[0]
        // The binary logits: per position, top-k u16 ids + top-k f16 + fixed f16.
        guard let url = TestPaths.fixture("llama_reference_logits.bin") else { return XCTFail("logits fixture missing") }
        let bytes = try Data(contentsOf: url)
        let perPosition = reference.top_k * 4 + reference.fixed_ids.count * 2
        XCTAssertEqual(bytes.count, reference.prompts.map(\.positions).reduce(0, +) * perPosition)
        // The top-1 id at the last prompt position is the first generated token (greedy).
        let lastPrompt = chat.prompt_ids.count - 1
        let top1 = UInt16(bytes[lastPrompt * perPosition]) | UInt16(bytes[lastPrompt * perPosition + 1]) << 8
        XCTAssertEqual(Int(top1), chat.generated_ids.first)
    }

    /// A tokenizer.json equivalent to the GGUF's tokenizer, as Hugging Face ships SmolLM2's.
    func testTokenizerJSONPathMatches() throws {
        guard let tok = requireTokenizer(), let gguf = RealModel.file else { return }
        let fixture = try load("llama_tokenizer.json", as: TokenizerFixture.self)
        let tokens = try gguf.strings("tokenizer.ggml.tokens")
        let types = try gguf.ints("tokenizer.ggml.token_type")
        var vocab: [String: Int] = [:]
        for (i, t) in tokens.enumerated() { vocab[t] = i }
        let added: [[String: Any]] = tokens.indices.filter { types[$0] == TokenType.control.rawValue }
            .map { ["id": $0, "content": tokens[$0], "special": true] }
        let json: [String: Any] = [
            "added_tokens": added,
            "pre_tokenizer": ["type": "Sequence", "pretokenizers": [
                ["type": "Digits", "individual_digits": true],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]]],
            "model": ["type": "BPE", "vocab": vocab, "merges": try gguf.strings("tokenizer.ggml.merges")],
        ]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("stepwise-smollm2-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let fromJSON = try makeTokenizer(tokenizerJSON: url)
        check(fromJSON, fixture)
        XCTAssertEqual(fromJSON.encode("Hello world"), tok.encode("Hello world"))
    }

    func testRandomTextRoundTrips() throws {
        guard let tok = requireTokenizer() else { return }
        // One 20,000-letter piece: the merge queue keeps this fast.
        let long = String(repeating: "a", count: 20_000) + " " + String(repeating: "xyz", count: 5000)
        let start = Date()
        XCTAssertEqual(tok.decode(tok.encode(long)), long)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        var rng = SeededRNG(seed: 17)
        let alphabet = Array("abcXYZ 019.,'!?\n\t  éß日本😀👍🏽\u{0301}<|>_")
        for _ in 0..<300 {
            let text = String((0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
            XCTAssertEqual(tok.decode(tok.encode(text, parseSpecial: false)), text)
        }
    }
}
