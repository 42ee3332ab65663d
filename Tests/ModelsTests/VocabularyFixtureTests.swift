// SentencePiece BPE, Llama-3-style byte-level BPE and Unigram against llama.cpp, on the small synthetic
// vocabularies of vocab_fixtures.json (scripts/gen_tokenizer_vocab_fixtures.py). The test writes
// each vocabulary into a GGUF, loads it through the reader and compares ids with llama.cpp's.
import Foundation
import Models
import XCTest

final class VocabularyFixtureTests: XCTestCase {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let decoded: String
    }

    /// The fixture's vocabulary as GGUF metadata, plus its cases.
    func load(_ name: String) throws -> (GGUFFile, [Case]) {
        guard let url = TestPaths.fixture("vocab_fixtures.json"),
              let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
              let files = root["files"] as? [String: Any], let entry = files[name] as? [String: Any],
              let metadata = entry["metadata"] as? [String: Any] else {
            throw SmolLM2TokenizerTests.MissingFixture(description: "vocab_fixtures.json lacks '\(name)': run scripts/gen_tokenizer_vocab_fixtures.py")
        }
        var values: [(String, GGUFValue)] = []
        for key in metadata.keys.sorted() {
            let v = metadata[key]
            if key.hasSuffix("scores"), let a = v as? [Double] {
                values.append((key, .array(.float32, a.map { .float32(Float($0)) })))
            } else if let a = v as? [String] {
                values.append((key, .array(.string, a.map { .string($0) })))
            } else if let a = v as? [Int] {
                values.append((key, .array(.int32, a.map { .int32(Int32($0)) })))
            } else if let s = v as? String {
                values.append((key, .string(s)))
            } else if ["add_bos_token", "add_eos_token", "add_space_prefix", "remove_extra_whitespaces"]
                        .contains(where: key.hasSuffix), let b = v as? Bool {
                values.append((key, .bool(b)))
            } else if let i = v as? Int {
                values.append((key, .uint32(UInt32(i))))
            }
        }
        let cases = try JSONDecoder().decode([Case].self, from: JSONSerialization.data(withJSONObject: entry["cases"] ?? []))
        return (try GGUFFile(bytes: GGUFWriter.file(metadata: values, tensors: [])), cases)
    }

    func testSentencePieceBPEMatchesLlamaCpp() throws {
        let (file, cases) = try load("spm")
        let tok = try makeTokenizer(gguf: file)
        XCTAssertTrue(tok is SentencePieceBPETokenizer)
        for c in cases {
            XCTAssertEqual(tok.encode(c.text), c.ids, c.text.debugDescription)
            // llama.cpp keeps the space prefix when detokenising; SentencePiece drops it.
            let expected = c.decoded.hasPrefix(" ") ? String(c.decoded.dropFirst()) : c.decoded
            XCTAssertEqual(tok.decode(c.ids), expected, c.text.debugDescription)
            if !c.text.contains("<") { XCTAssertEqual(tok.decode(c.ids), c.text) }
        }
    }

    func testLlama3ByteLevelBPEMatchesLlamaCpp() throws {
        let (file, cases) = try load("llama3")
        let tok = try makeTokenizer(gguf: file)
        guard let bpe = tok as? ByteLevelBPETokenizer else { return XCTFail("expected byte-level BPE") }
        XCTAssertEqual(bpe.preTokenizer, .llama3)
        XCTAssertTrue(bpe.ignoreMerges)
        for c in cases {
            XCTAssertEqual(tok.encode(c.text), c.ids, c.text.debugDescription)
            XCTAssertEqual(tok.decode(c.ids), c.decoded)
            XCTAssertEqual(tok.decode(c.ids), c.text)
        }
    }
}

extension VocabularyFixtureTests {
    func testUnigramMatchesLlamaCpp() throws {
        let (file, cases) = try load("t5")
        let tok = try makeTokenizer(gguf: file)
        XCTAssertTrue(tok is UnigramTokenizer)
        XCTAssertEqual(tok.eosTokenID, 1)
        for c in cases {
            XCTAssertEqual(tok.encode(c.text), c.ids, c.text.debugDescription)
            let expected = c.decoded.hasPrefix(" ") ? String(c.decoded.dropFirst()) : c.decoded
            XCTAssertEqual(tok.decode(c.ids), expected, c.text.debugDescription)
        }
    }
}
