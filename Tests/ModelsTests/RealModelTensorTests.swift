// Sanity of the real SmolLM2 tensors after dequantisation: finite, centred, plausible spread,
// and RMSNorm weights positive on average.
import Foundation
import Models
import XCTest

final class RealModelTensorTests: XCTestCase {
    struct Stats { var mean, std, maxAbs: Double; var finite: Bool }

    func stats(_ v: [Float]) -> Stats {
        var sum = 0.0, sq = 0.0, maxAbs = 0.0, finite = true
        for x in v {
            if !x.isFinite { finite = false }
            sum += Double(x); sq += Double(x) * Double(x); maxAbs = max(maxAbs, Double(abs(x)))
        }
        let mean = sum / Double(v.count)
        return Stats(mean: mean, std: (sq / Double(v.count) - mean * mean).squareRoot(), maxAbs: maxAbs, finite: finite)
    }

    func testDequantisedStatistics() throws {
        guard let file = RealModel.require() else { return }
        let embeddingStats = stats(try file.requireTensor("token_embd.weight").dequantized())
        XCTAssertTrue(embeddingStats.finite)
        XCTAssertLessThan(abs(embeddingStats.mean), 0.01)
        XCTAssertTrue((0.02...0.5).contains(embeddingStats.std), "token_embd std \(embeddingStats.std)")
        for layer in [0, 15, 29] {
            for part in ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] {
                let s = stats(try file.requireTensor("blk.\(layer).\(part).weight").dequantized())
                XCTAssertTrue(s.finite, "\(layer) \(part)")
                XCTAssertLessThan(abs(s.mean), 0.02, "blk.\(layer).\(part) mean")
                XCTAssertTrue((0.005...0.5).contains(s.std), "blk.\(layer).\(part) std \(s.std)")
                XCTAssertLessThan(s.maxAbs, 20, "blk.\(layer).\(part)")
            }
            let norm = stats(try file.requireTensor("blk.\(layer).attn_norm.weight").dequantized())
            XCTAssertGreaterThan(norm.mean, 0, "attn_norm weights are scales around 1")
        }
        // The row helpers agree with the whole-tensor dequantisation.
        let t = try file.requireTensor("blk.3.ffn_gate.weight")
        XCTAssertEqual(t.dequantizedRow(7), Array(t.dequantized()[7 * 576..<8 * 576]))
        let embedding = try file.requireTensor("token_embd.weight")
        var row = [Float](repeating: .nan, count: 576)
        row.withUnsafeMutableBufferPointer { if let p = $0.baseAddress { embedding.dequantizeRow(49151, into: p) } }
        XCTAssertEqual(row, embedding.dequantizedRow(49151))
    }
}
