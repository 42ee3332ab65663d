// Reads llama.cpp's reference logits (llama_reference.json + llama_reference_logits.bin) into
// per-position values, and checks the fixture against itself: greedy tokens are the top-1 ids,
// top-k lists are sorted. The Llama decoder's tests will compare its logits with these.
import Foundation
import Models
import XCTest

/// llama.cpp's logits for one prompt, position by position.
struct ReferenceLogits {
    struct Position {
        /// The top-k token ids, best first, and their logits.
        var topIDs: [Int]
        var topLogits: [Float]
        /// Logits of the fixture's fixed ids, in `fixedIDs` order.
        var fixedLogits: [Float]
    }

    let name: String
    let text: String
    let promptIDs: [Int]
    let generatedIDs: [Int]
    let fixedIDs: [Int]
    let positions: [Position]

    /// Every prompt in the fixture.
    static func load() throws -> [ReferenceLogits] {
        guard let jsonURL = TestPaths.fixture("llama_reference.json"),
              let binURL = TestPaths.fixture("llama_reference_logits.bin") else {
            throw SmolLM2TokenizerTests.MissingFixture(description: "llama_reference fixtures missing: run scripts/gen_llama_reference.py")
        }
        let meta = try JSONDecoder().decode(SmolLM2TokenizerTests.ReferenceFixture.self, from: Data(contentsOf: jsonURL))
        let bytes = [UInt8](try Data(contentsOf: binURL))
        let k = meta.top_k, nFixed = meta.fixed_ids.count
        let stride = 4 * k + 2 * nFixed
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        var offset = 0
        var result: [ReferenceLogits] = []
        for p in meta.prompts {
            var positions: [Position] = []
            for _ in 0..<p.positions {
                guard offset + stride <= bytes.count else {
                    throw SmolLM2TokenizerTests.MissingFixture(description: "llama_reference_logits.bin is truncated")
                }
                let ids = (0..<k).map { Int(u16(offset + 2 * $0)) }
                let top = (0..<k).map { halfToFloat(u16(offset + 2 * k + 2 * $0)) }
                let fixed = (0..<nFixed).map { halfToFloat(u16(offset + 4 * k + 2 * $0)) }
                positions.append(Position(topIDs: ids, topLogits: top, fixedLogits: fixed))
                offset += stride
            }
            result.append(ReferenceLogits(name: p.name, text: p.text, promptIDs: p.prompt_ids,
                                          generatedIDs: p.generated_ids, fixedIDs: meta.fixed_ids, positions: positions))
        }
        return result
    }
}

final class LlamaReferenceFixtureTests: XCTestCase {
    func testFixtureIsSelfConsistent() throws {
        let prompts = try ReferenceLogits.load()
        XCTAssertEqual(prompts.map(\.name), ["cot_arithmetic", "capital", "raw_continuation"])
        for p in prompts {
            XCTAssertEqual(p.generatedIDs.isEmpty, false)
            // Greedy: the token generated after position i is the top-1 id there.
            for (step, id) in p.generatedIDs.enumerated() {
                let position = p.promptIDs.count - 1 + step
                guard position < p.positions.count else { break }
                XCTAssertEqual(p.positions[position].topIDs[0], id, "\(p.name) step \(step)")
            }
            for position in p.positions {
                XCTAssertEqual(position.topLogits, position.topLogits.sorted(by: >))
                XCTAssertTrue(position.topLogits.allSatisfy(\.isFinite))
                // A fixed id that is in the top-k has the same logit in both lists.
                for (i, id) in p.fixedIDs.enumerated() {
                    if let j = position.topIDs.firstIndex(of: id) { XCTAssertEqual(position.fixedLogits[i], position.topLogits[j]) }
                }
            }
        }
        // The chain-of-thought prompt answers in text, and the capital prompt names Paris.
        guard let tok = SmolLM2TokenizerTests.tokenizer else { return }
        XCTAssertTrue(tok.decode(prompts[1].generatedIDs, skipSpecial: true).contains("Paris"))
    }
}
