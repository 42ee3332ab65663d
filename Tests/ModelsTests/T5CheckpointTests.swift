// T5 Hugging Face folders: save/load round trips, the names, shapes and config keys transformers
// expects, and the typed errors for missing, mis-shaped, unknown and truncated tensors.

import Foundation
import Models
import NN
import Tensor
import XCTest

final class T5CheckpointTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("t5-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// Copies a fixture's config.json and model.safetensors into a scratch folder to damage it.
    func copyFixture(_ name: String) throws -> URL {
        let fx = try T5Fixture(name)
        let dir = scratch.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: fx.folder.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        return dir
    }

    func testSavedFolderHasHuggingFaceNamesShapesAndConfig() throws {
        for (name, tied) in [("t5_v10", true), ("t5_v11", false)] {
            let fx = try T5Fixture(name)
            let model = try T5Model.load(from: fx.folder)
            let out = scratch.appendingPathComponent("saved-\(name)")
            try model.save(to: out)
            // For the manual check in transformers: scripts/gen_t5_reference.py --verify DIR/t5_v10
            if let export = ProcessInfo.processInfo.environment["STEPWISE_T5_EXPORT"] {
                try model.save(to: URL(fileURLWithPath: export).appendingPathComponent(name))
            }

            let saved = try SafetensorsFile(contentsOf: out.appendingPathComponent("model.safetensors"))
            let expected = try XCTUnwrap(fx.json["parameters"] as? [String: [Int]])     // transformers' named_parameters
            XCTAssertEqual(Set(saved.names), Set(expected.keys), name)
            for (pname, shape) in expected { XCTAssertEqual(try saved.tensor(pname).shape, shape, pname) }
            XCTAssertEqual(saved.names.contains("lm_head.weight"), !tied)
            XCTAssertEqual(saved.metadata["format"], "pt")

            let config = try XCTUnwrap(JSONSerialization.jsonObject(
                with: Data(contentsOf: out.appendingPathComponent("config.json"))) as? [String: Any])
            for key in ["d_model", "d_kv", "d_ff", "num_layers", "num_decoder_layers", "num_heads", "vocab_size",
                        "relative_attention_num_buckets", "relative_attention_max_distance", "feed_forward_proj",
                        "tie_word_embeddings", "scale_decoder_outputs", "dropout_rate", "layer_norm_epsilon",
                        "decoder_start_token_id", "pad_token_id", "eos_token_id", "model_type", "architectures"] {
                XCTAssertNotNil(config[key], "config.json lacks \(key)")
            }
            XCTAssertEqual(config["model_type"] as? String, "t5")
            // transformers 5 rejects an int where it expects a float.
            let text = try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8)
            XCTAssertTrue(text.contains("\"initializer_factor\": 1.0") && text.contains("\"dropout_rate\": 0.1"), text)
            XCTAssertEqual(config["tie_word_embeddings"] as? Bool, tied)

            // Round trip: same logits, bit for bit.
            let again = try T5Model.load(from: out)
            XCTAssertEqual(again.config, model.config)
            let ids = try fx.tensor("input_ids"), mask = try fx.tensor("attention_mask")
            let dec = try model.shiftRight(try fx.tensor("labels"))
            let a = try Tensor.withoutGrad { try model(inputIds: ids, attentionMask: mask, decoderInputIds: dec) }
            let b = try Tensor.withoutGrad { try again(inputIds: ids, attentionMask: mask, decoderInputIds: dec) }
            XCTAssertEqual(a.scalars, b.scalars)
        }
    }

    func testFolderTokenizerMatchesSentencePieceAndIsExported() throws {
        let fx = try T5Fixture("t5_v10")
        let tokenizer = try XCTUnwrap(try T5Model.loadTokenizer(from: fx.folder), "t5_v10 has a spiece.model")
        let cases = try XCTUnwrap(fx.json["tokenizer"] as? [[String: Any]])
        XCTAssertFalse(cases.isEmpty)
        for c in cases {
            let text = try XCTUnwrap(c["text"] as? String), ids = try XCTUnwrap(c["ids"] as? [Int])
            XCTAssertEqual(tokenizer.encode(text, parseSpecial: false), ids, text)
            XCTAssertEqual(tokenizer.decode(ids, skipSpecial: true), text)
        }
        XCTAssertNil(try T5Model.loadTokenizer(from: try T5Fixture("t5_v11").folder))
        let out = scratch.appendingPathComponent("with-tokenizer")
        try T5Model.load(from: fx.folder).save(to: out, tokenizerFrom: fx.folder)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("spiece.model")),
                       try Data(contentsOf: fx.folder.appendingPathComponent("spiece.model")))
        XCTAssertNotNil(try T5Model.loadTokenizer(from: out))
    }

    func testFromScratchPresetsSaveAndLoad() throws {
        for size in T5Config.Size.allCases where size != .small {
            let model = try T5Model(T5Config.preset(size, vocabSize: 50), seed: 3)
            let dir = scratch.appendingPathComponent(size.rawValue)
            try model.save(to: dir)
            let loaded = try T5Model.load(from: dir)
            XCTAssertEqual(loaded.config, model.config)
            XCTAssertEqual(loaded.stateDict().mapValues(\.scalars), model.stateDict().mapValues(\.scalars))
        }
    }

    func testMissingTensorIsNamed() throws {
        let dir = try copyFixture("t5_v11")
        let url = dir.appendingPathComponent("model.safetensors")
        var tensors = try SafetensorsFile(contentsOf: url).tensors()
        tensors["decoder.block.1.layer.2.DenseReluDense.wi_1.weight"] = nil
        try SafetensorsFile.write(tensors, to: url)
        XCTAssertThrowsError(try T5Model.load(from: dir)) { error in
            guard case T5Error.missingTensor(let name, _)? = error as? T5Error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "decoder.block.1.layer.2.DenseReluDense.wi_1.weight")
        }
    }

    func testShapeMismatchAndUnknownTensorsAreNamed() throws {
        let dir = try copyFixture("t5_v10")
        let url = dir.appendingPathComponent("model.safetensors")
        var tensors = try SafetensorsFile(contentsOf: url).tensors()
        tensors["encoder.block.0.layer.0.SelfAttention.q.weight"] = Tensor.zeros([16, 32])
        try SafetensorsFile.write(tensors, to: url)
        XCTAssertThrowsError(try T5Model.load(from: dir)) { error in
            guard case T5Error.shapeMismatch(let name, let expected, let got, _)? = error as? T5Error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "encoder.block.0.layer.0.SelfAttention.q.weight")
            XCTAssertEqual(expected, [32, 32])
            XCTAssertEqual(got, [16, 32])
        }
        tensors["encoder.block.0.layer.0.SelfAttention.q.weight"] = Tensor.zeros([32, 32])
        tensors["model.layers.0.mlp.up_proj.weight"] = Tensor.zeros([2])
        try SafetensorsFile.write(tensors, to: url)
        XCTAssertThrowsError(try T5Model.load(from: dir)) { error in
            guard case T5Error.unexpectedTensors(let names, _)? = error as? T5Error else { return XCTFail("\(error)") }
            XCTAssertEqual(names, ["model.layers.0.mlp.up_proj.weight"])
        }
    }

    func testTruncatedFileAndMissingConfigGiveErrors() throws {
        let dir = try copyFixture("t5_v10")
        let url = dir.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        XCTAssertThrowsError(try T5Model.load(from: dir)) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try T5Model.load(from: dir)) { error in
            XCTAssertTrue("\(error)".contains("no config.json"), "\(error)")
        }
        try Data("{\"model_type\": \"llama\"}".utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try T5Model.load(from: dir)) { error in
            XCTAssertTrue("\(error)".contains("llama"), "\(error)")
        }
    }

    func testConfigReadsHuggingFaceKeysAndDefaults() throws {
        let json = """
        {"d_model": 64, "d_kv": 16, "d_ff": 128, "num_layers": 3, "num_heads": 4, "vocab_size": 100,
         "feed_forward_proj": "gated-gelu", "tie_word_embeddings": false, "model_type": "t5",
         "eos_token_id": [1, 7], "num_decoder_layers": null, "task_specific_params": {"summarization": {}}}
        """
        let config = try JSONDecoder().decode(T5Config.self, from: Data(json.utf8))
        XCTAssertEqual(config.numDecoderLayers, 3, "num_decoder_layers defaults to num_layers")
        XCTAssertFalse(config.scaleDecoderOutputs, "untied configs without scale_decoder_outputs do not scale")
        XCTAssertEqual(try config.feedForward(), .gatedGelu)
        XCTAssertEqual(config.relativeAttentionNumBuckets, 32)
        XCTAssertEqual(config.eosTokenId, 1, "a list of eos ids gives the first")
        var bad = config
        bad.feedForwardProj = "gated-silu"
        XCTAssertThrowsError(try T5Model(bad))
        bad = config
        bad.eosTokenId = 100
        XCTAssertThrowsError(try bad.validate())
    }
}
