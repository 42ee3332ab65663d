// T5 against transformers: encoder output, logits, loss, every parameter's gradient and greedy
// generation of two small random models (v1.0 and v1.1) that scripts/gen_t5_reference.py made,
// plus T5's relative position buckets.

import Foundation
import Models
import NN
import Tensor
import XCTest

/// A fixture folder: the Hugging Face model plus its expected values.
struct T5Fixture {
    let folder: URL
    let reference: SafetensorsFile
    let json: [String: Any]

    init(_ name: String) throws {
        let root = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        folder = root
        reference = try SafetensorsFile(contentsOf: root.appendingPathComponent("reference.safetensors"))
        let data = try Data(contentsOf: root.appendingPathComponent("reference.json"))
        json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func tensor(_ name: String) throws -> Tensor { try reference.tensor(name) }
    func number(_ key: String) throws -> Double { try XCTUnwrap(json[key] as? Double, key) }
}

/// Largest |a - b| over two same-shaped tensors.
func maxAbsDiff(_ a: Tensor, _ b: Tensor, file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(a.shape, b.shape, "shapes differ", file: file, line: line)
    return zip(a.scalars, b.scalars).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) }
}

final class T5ParityTests: XCTestCase {
    func testV10MatchesTransformers() throws { try checkParity("t5_v10") }
    func testV11MatchesTransformers() throws { try checkParity("t5_v11") }

    func checkParity(_ name: String) throws {
        let fx = try T5Fixture(name)
        let model = try T5Model.load(from: fx.folder)
        model.eval()
        let ids = try fx.tensor("input_ids"), mask = try fx.tensor("attention_mask"), labels = try fx.tensor("labels")

        let encoded = try Tensor.withoutGrad { try model.encode(ids, attentionMask: mask) }
        let encoderError = maxAbsDiff(encoded, try fx.tensor("encoder_output"))
        XCTAssertLessThan(encoderError, 1e-4, "\(name) encoder output")

        let decoderInputs = try model.shiftRight(labels)
        let logits = try Tensor.withoutGrad { try model(inputIds: ids, attentionMask: mask, decoderInputIds: decoderInputs) }
        let logitsError = maxAbsDiff(logits, try fx.tensor("logits"))
        XCTAssertLessThan(logitsError, 1e-4, "\(name) logits")

        let loss = try model.loss(inputIds: ids, attentionMask: mask, labels: labels)
        let lossError = abs(Double(loss.item()) - (try fx.number("loss")))
        XCTAssertLessThan(lossError, 1e-4, "\(name) loss")
        loss.backward()

        var gradError: Float = 0, norm2 = 0.0, checked = 0
        for (pname, p) in model.namedParameters() {
            let grad = try XCTUnwrap(p.grad, "\(name): no gradient for \(pname)")
            let expected = try fx.tensor("grad." + pname)
            gradError = Swift.max(gradError, maxAbsDiff(grad, expected))
            norm2 += grad.scalars.reduce(0.0) { $0 + Double($1) * Double($1) }
            checked += 1
        }
        XCTAssertEqual(checked, fx.reference.names.filter { $0.hasPrefix("grad.") }.count, "every gradient checked")
        XCTAssertLessThan(gradError, 1e-5, "\(name) gradients")
        let normError = abs(norm2.squareRoot() - (try fx.number("grad_norm")))
        XCTAssertLessThan(normError, 1e-4, "\(name) gradient norm")
        print("T5 parity \(name): encoder \(encoderError), logits \(logitsError), loss \(lossError), " +
              "grads max \(gradError) over \(checked) tensors, grad norm \(normError)")
    }

    func testGreedyGenerationMatchesTransformers() throws {
        for name in ["t5_v10", "t5_v11"] {
            let fx = try T5Fixture(name)
            let model = try T5Model.load(from: fx.folder)
            let expected = try XCTUnwrap(fx.json["generated"] as? [[Int]])
            let eos = try XCTUnwrap(fx.json["eos_for_generation"] as? Int)
            let limit = try XCTUnwrap(fx.json["max_new_tokens"] as? Int)
            let got = try model.generate(inputIds: try fx.tensor("input_ids"), attentionMask: try fx.tensor("attention_mask"),
                                         maxNewTokens: limit, eosTokenId: eos)
            XCTAssertEqual(got, expected, name)
            XCTAssertTrue(model.isTraining, "generate restores the training mode")
        }
    }

    /// Training mode with a dropout rate too small to drop anything runs the unfused attention
    /// (dropout on probabilities) and must give the same logits as the fused kernel.
    func testUnfusedTrainingPathMatches() throws {
        let fx = try T5Fixture("t5_v11")
        var config = try T5Model.loadConfig(from: fx.folder)
        config.dropoutRate = 1e-9
        let model = try T5Model(config)
        try model.loadStateDict(try T5Model.load(from: fx.folder).stateDict())
        model.train()
        let ids = try fx.tensor("input_ids"), mask = try fx.tensor("attention_mask"), labels = try fx.tensor("labels")
        let loss = try model.loss(inputIds: ids, attentionMask: mask, labels: labels)
        XCTAssertEqual(Double(loss.item()), try fx.number("loss"), accuracy: 1e-4)
        loss.backward()
        let name = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
        let p = try XCTUnwrap(model.namedParameters().first { $0.0 == name }?.1)
        XCTAssertLessThan(maxAbsDiff(try XCTUnwrap(p.grad), try fx.tensor("grad." + name)), 1e-5)
    }

    func testRelativePositionBucketsMatchTransformers() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/t5_buckets", withExtension: "json"))
        let cases = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]])
        XCTAssertEqual(cases.count, 6)
        for c in cases {
            let bidirectional = try XCTUnwrap(c["bidirectional"] as? Bool)
            let buckets = try XCTUnwrap(c["num_buckets"] as? Int), distance = try XCTUnwrap(c["max_distance"] as? Int)
            let relative = try XCTUnwrap(c["relative"] as? [Int]), expected = try XCTUnwrap(c["bucket"] as? [Int])
            let got = relative.map { T5RelativePosition.bucket($0, bidirectional: bidirectional, numBuckets: buckets, maxDistance: distance) }
            XCTAssertEqual(got, expected, "buckets \(buckets), max distance \(distance), bidirectional \(bidirectional)")
        }
    }
}
