// T5 configuration: the hyper-parameters of Hugging Face's `config.json` (keys kept in CodingKeys,
// so outside names live in one place), the from-scratch presets, and the errors of this folder.

import Foundation

/// The feed-forward flavour: T5 v1.0's ReLU MLP, or v1.1 / FLAN-T5's gated GELU (tanh approximation).
public enum T5FeedForward: String, Sendable, Equatable {
    case relu
    case gatedGelu = "gated-gelu"
}

/// Hyper-parameters of a T5 model, read from and written to Hugging Face's `config.json`.
public struct T5Config: Codable, Equatable, Sendable {
    /// Vocabulary size (rows of `shared.weight`).
    public var vocabSize: Int
    /// Width of the residual stream.
    public var dModel: Int
    /// Width of one attention head (T5 does not require dModel == nHeads * dKV).
    public var dKV: Int
    /// Hidden width of the feed-forward layer.
    public var dFF: Int
    /// Encoder blocks.
    public var numLayers: Int
    /// Decoder blocks (nil in a config means the same as `numLayers`).
    public var numDecoderLayers: Int
    /// Attention heads.
    public var numHeads: Int
    /// Buckets of the relative position bias.
    public var relativeAttentionNumBuckets: Int
    /// Distance beyond which relative positions share the last bucket.
    public var relativeAttentionMaxDistance: Int
    /// `"relu"` (v1.0) or `"gated-gelu"` (v1.1, FLAN-T5).
    public var feedForwardProj: String
    /// v1.0 ties the output head to the input embedding (`shared.weight`); v1.1 has its own `lm_head.weight`.
    public var tieWordEmbeddings: Bool
    /// Multiply decoder outputs by dModel^-0.5 before the head (v1.0). transformers 5 writes this key
    /// and always sets tie_word_embeddings true; older configs imply it from tie_word_embeddings.
    public var scaleDecoderOutputs: Bool
    /// Dropout on embeddings, sub-layer outputs, attention probabilities and the FFN hidden layer.
    public var dropoutRate: Float
    /// Epsilon of T5's RMS layer norm.
    public var layerNormEpsilon: Float
    /// The first decoder input (T5 uses the pad id, 0).
    public var decoderStartTokenId: Int
    /// The padding id (also what -100 labels become in decoder inputs).
    public var padTokenId: Int
    /// End of sequence: greedy generation stops a row here.
    public var eosTokenId: Int

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case dModel = "d_model"
        case dKV = "d_kv"
        case dFF = "d_ff"
        case numLayers = "num_layers"
        case numDecoderLayers = "num_decoder_layers"
        case numHeads = "num_heads"
        case relativeAttentionNumBuckets = "relative_attention_num_buckets"
        case relativeAttentionMaxDistance = "relative_attention_max_distance"
        case feedForwardProj = "feed_forward_proj"
        case tieWordEmbeddings = "tie_word_embeddings"
        case scaleDecoderOutputs = "scale_decoder_outputs"
        case dropoutRate = "dropout_rate"
        case layerNormEpsilon = "layer_norm_epsilon"
        case decoderStartTokenId = "decoder_start_token_id"
        case padTokenId = "pad_token_id"
        case eosTokenId = "eos_token_id"
    }

    /// A configuration with every field given; defaults are t5-small's.
    public init(vocabSize: Int, dModel: Int = 512, dKV: Int = 64, dFF: Int = 2048, numLayers: Int = 6,
                numDecoderLayers: Int? = nil, numHeads: Int = 8, relativeAttentionNumBuckets: Int = 32,
                relativeAttentionMaxDistance: Int = 128, feedForwardProj: String = "relu",
                tieWordEmbeddings: Bool = true, scaleDecoderOutputs: Bool? = nil, dropoutRate: Float = 0.1, layerNormEpsilon: Float = 1e-6,
                decoderStartTokenId: Int = 0, padTokenId: Int = 0, eosTokenId: Int = 1) {
        self.vocabSize = vocabSize
        self.dModel = dModel
        self.dKV = dKV
        self.dFF = dFF
        self.numLayers = numLayers
        self.numDecoderLayers = numDecoderLayers ?? numLayers
        self.numHeads = numHeads
        self.relativeAttentionNumBuckets = relativeAttentionNumBuckets
        self.relativeAttentionMaxDistance = relativeAttentionMaxDistance
        self.feedForwardProj = feedForwardProj
        self.tieWordEmbeddings = tieWordEmbeddings
        self.scaleDecoderOutputs = scaleDecoderOutputs ?? tieWordEmbeddings
        self.dropoutRate = dropoutRate
        self.layerNormEpsilon = layerNormEpsilon
        self.decoderStartTokenId = decoderStartTokenId
        self.padTokenId = padTokenId
        self.eosTokenId = eosTokenId
    }

    /// Decodes a `config.json`, with Hugging Face's defaults for absent keys.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let layers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? 6
        self.init(vocabSize: try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 32128,
                  dModel: try c.decodeIfPresent(Int.self, forKey: .dModel) ?? 512,
                  dKV: try c.decodeIfPresent(Int.self, forKey: .dKV) ?? 64,
                  dFF: try c.decodeIfPresent(Int.self, forKey: .dFF) ?? 2048,
                  numLayers: layers,
                  numDecoderLayers: try c.decodeIfPresent(Int.self, forKey: .numDecoderLayers),
                  numHeads: try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? 8,
                  relativeAttentionNumBuckets: try c.decodeIfPresent(Int.self, forKey: .relativeAttentionNumBuckets) ?? 32,
                  relativeAttentionMaxDistance: try c.decodeIfPresent(Int.self, forKey: .relativeAttentionMaxDistance) ?? 128,
                  feedForwardProj: try c.decodeIfPresent(String.self, forKey: .feedForwardProj) ?? "relu",
                  tieWordEmbeddings: try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true,
                  scaleDecoderOutputs: try c.decodeIfPresent(Bool.self, forKey: .scaleDecoderOutputs),
                  dropoutRate: try c.decodeIfPresent(Float.self, forKey: .dropoutRate) ?? 0.1,
                  layerNormEpsilon: try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-6,
                  decoderStartTokenId: try c.decodeIfPresent(Int.self, forKey: .decoderStartTokenId) ?? 0,
                  padTokenId: try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? 0,
                  eosTokenId: try Self.firstId(c, .eosTokenId) ?? 1)
    }

    /// An id that a config may write as a number or as a list of numbers (the first counts).
    static func firstId(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Int? {
        if let list = try? c.decodeIfPresent([Int].self, forKey: key) { return list.first }
        return try c.decodeIfPresent(Int.self, forKey: key)
    }

    /// The feed-forward flavour named by `feedForwardProj`. "gated-gelu" and "gated-gelu_new" are
    /// the same (transformers maps both to gelu_new); anything else is an error.
    public func feedForward() throws -> T5FeedForward {
        switch feedForwardProj {
        case "relu": return .relu
        case "gated-gelu", "gated-gelu_new": return .gatedGelu
        default: throw T5Error.invalidConfig("feed_forward_proj '\(feedForwardProj)' is not supported; use 'relu' or 'gated-gelu'")
        }
    }

    /// Checks that the dimensions can build a model on this machine: each positive and within
    /// `T5Limits`, the relative position buckets usable, the numbers finite, and the parameters
    /// the config implies within the machine's memory. Runs before anything is allocated.
    /// - Throws: `T5Error.invalidConfig` naming the key, its value and the limit.
    public func validate() throws {
        let sized: [(String, Int, Int)] = [
            ("vocab_size", vocabSize, T5Limits.maxVocabulary), ("d_model", dModel, T5Limits.maxWidth),
            ("d_kv", dKV, T5Limits.maxWidth), ("d_ff", dFF, T5Limits.maxWidth),
            ("num_layers", numLayers, T5Limits.maxLayers), ("num_decoder_layers", numDecoderLayers, T5Limits.maxLayers),
            ("num_heads", numHeads, T5Limits.maxHeads),
            ("relative_attention_num_buckets", relativeAttentionNumBuckets, T5Limits.maxBuckets),
            ("relative_attention_max_distance", relativeAttentionMaxDistance, T5Limits.maxDistance)]
        for (name, value, limit) in sized {
            guard value > 0 else { throw T5Error.invalidConfig("\(name) = \(value) must be positive") }
            guard value <= limit else { throw T5Error.invalidConfig("\(name) = \(value) exceeds \(limit)") }
        }
        guard relativeAttentionNumBuckets >= 4 else {
            throw T5Error.invalidConfig("relative_attention_num_buckets = \(relativeAttentionNumBuckets) must be at least 4")
        }
        // Distances from buckets / 2 on are bucketed by log(d / maxExact) / log(maxDistance / maxExact),
        // which needs maxDistance above the exact range.
        guard relativeAttentionMaxDistance > relativeAttentionNumBuckets / 2 else {
            throw T5Error.invalidConfig("relative_attention_max_distance = \(relativeAttentionMaxDistance) must exceed "
                                        + "relative_attention_num_buckets / 2 = \(relativeAttentionNumBuckets / 2)")
        }
        guard dropoutRate >= 0 && dropoutRate < 1 else { throw T5Error.invalidConfig("dropout_rate = \(dropoutRate) must be in [0, 1)") }
        guard layerNormEpsilon.isFinite, layerNormEpsilon > 0, layerNormEpsilon < 1 else {
            throw T5Error.invalidConfig("layer_norm_epsilon = \(layerNormEpsilon) must be in (0, 1)")
        }
        for (name, id) in [("decoder_start_token_id", decoderStartTokenId), ("pad_token_id", padTokenId), ("eos_token_id", eosTokenId)]
        where id < 0 || id >= vocabSize {
            throw T5Error.invalidConfig("\(name) = \(id) is outside the vocabulary 0..<\(vocabSize)")
        }
        _ = try feedForward()
        // Each factor is capped above, so the count fits in Int; the budget is the machine's memory.
        let parameters = parameterShapes().reduce(0) { $0 + $1.shape.reduce(1, *) }
        let memory = ProcessInfo.processInfo.physicalMemory
        guard UInt64(parameters) * 4 <= memory else {
            throw T5Error.invalidConfig("the config implies \(parameters) parameters (\(UInt64(parameters) * 4 >> 20) MiB as Float32), "
                                        + "more than this machine's \(memory >> 20) MiB of memory")
        }
    }

    /// Every parameter a model of this config has, Hugging Face name and shape, in the order
    /// `T5Model.namedParameters()` gives them: what a checkpoint must hold, known before any
    /// tensor is allocated.
    public func parameterShapes() -> [(name: String, shape: [Int])] {
        let inner = numHeads * dKV
        let gated = feedForwardProj != "relu"
        var out: [(name: String, shape: [Int])] = [("shared.weight", [vocabSize, dModel])]
        func attention(_ prefix: String, bias: Bool) {
            out += [("\(prefix).q.weight", [inner, dModel]), ("\(prefix).k.weight", [inner, dModel]),
                    ("\(prefix).v.weight", [inner, dModel]), ("\(prefix).o.weight", [dModel, inner])]
            if bias { out.append(("\(prefix).relative_attention_bias.weight", [relativeAttentionNumBuckets, numHeads])) }
        }
        for (stack, count) in [("encoder", numLayers), ("decoder", numDecoderLayers)] {
            for i in 0..<count {
                let block = "\(stack).block.\(i).layer"
                attention("\(block).0.SelfAttention", bias: i == 0)
                out.append(("\(block).0.layer_norm.weight", [dModel]))
                var next = 1
                if stack == "decoder" {
                    attention("\(block).1.EncDecAttention", bias: false)
                    out.append(("\(block).1.layer_norm.weight", [dModel]))
                    next = 2
                }
                let ff = "\(block).\(next).DenseReluDense"
                out += gated ? [("\(ff).wi_0.weight", [dFF, dModel]), ("\(ff).wi_1.weight", [dFF, dModel])]
                             : [("\(ff).wi.weight", [dFF, dModel])]
                out += [("\(ff).wo.weight", [dModel, dFF]), ("\(block).\(next).layer_norm.weight", [dModel])]
            }
            out.append(("\(stack).final_layer_norm.weight", [dModel]))
        }
        if !tieWordEmbeddings { out.append(("lm_head.weight", [vocabSize, dModel])) }
        return out
    }

    // MARK: - Presets

    /// From-scratch sizes: tiny (128, 2+2, gated GELU), mini (256, 4+4, gated GELU), small (t5-small: 512, 6+6, ReLU).
    public enum Size: String, CaseIterable, Sendable {
        case tiny, mini, small
    }

    /// A from-scratch configuration of a named size for a vocabulary of `vocabSize` tokens.
    /// - Parameters:
    ///   - size: tiny, mini or small.
    ///   - vocabSize: rows of the embedding table (the tokenizer's vocabulary).
    ///   - dropoutRate: 0.1 as in T5.
    public static func preset(_ size: Size, vocabSize: Int, dropoutRate: Float = 0.1) -> T5Config {
        switch size {
        case .tiny:
            return T5Config(vocabSize: vocabSize, dModel: 128, dKV: 32, dFF: 512, numLayers: 2, numHeads: 4,
                            feedForwardProj: "gated-gelu", tieWordEmbeddings: false, dropoutRate: dropoutRate)
        case .mini:
            return T5Config(vocabSize: vocabSize, dModel: 256, dKV: 64, dFF: 1024, numLayers: 4, numHeads: 4,
                            feedForwardProj: "gated-gelu", tieWordEmbeddings: false, dropoutRate: dropoutRate)
        case .small:
            return T5Config(vocabSize: vocabSize, dropoutRate: dropoutRate)
        }
    }

    /// The preset named `name` ("tiny", "mini", "small"), or nil.
    public static func preset(named name: String, vocabSize: Int) -> T5Config? {
        Size(rawValue: name.lowercased()).map { preset($0, vocabSize: vocabSize) }
    }

    /// Bytes of `config.json` as Hugging Face writes it (plus the keys transformers needs to pick T5).
    /// Written by hand because transformers 5 validates types strictly: float fields must be
    /// written with a decimal point (1.0, not 1), which JSONSerialization does not guarantee.
    public func jsonData() throws -> Data {
        func float(_ x: Float) -> String { x.isFinite ? "\(x)" : "0.0" }       // Swift prints 1.0, 0.1, 1e-06
        func string(_ x: String) -> String {
            "\"" + x.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        let fields: [(String, String)] = [
            ("architectures", "[\"T5ForConditionalGeneration\"]"),
            (CodingKeys.dFF.rawValue, "\(dFF)"),
            (CodingKeys.dKV.rawValue, "\(dKV)"),
            (CodingKeys.dModel.rawValue, "\(dModel)"),
            ("dense_act_fn", string(feedForwardProj == "relu" ? "relu" : "gelu_new")),
            (CodingKeys.decoderStartTokenId.rawValue, "\(decoderStartTokenId)"),
            (CodingKeys.dropoutRate.rawValue, float(dropoutRate)),
            (CodingKeys.eosTokenId.rawValue, "\(eosTokenId)"),
            (CodingKeys.feedForwardProj.rawValue, string(feedForwardProj)),
            ("initializer_factor", "1.0"),
            ("is_encoder_decoder", "true"),
            ("is_gated_act", feedForwardProj == "relu" ? "false" : "true"),
            (CodingKeys.layerNormEpsilon.rawValue, float(layerNormEpsilon)),
            ("model_type", "\"t5\""),
            (CodingKeys.numDecoderLayers.rawValue, "\(numDecoderLayers)"),
            (CodingKeys.numHeads.rawValue, "\(numHeads)"),
            (CodingKeys.numLayers.rawValue, "\(numLayers)"),
            (CodingKeys.padTokenId.rawValue, "\(padTokenId)"),
            (CodingKeys.relativeAttentionMaxDistance.rawValue, "\(relativeAttentionMaxDistance)"),
            (CodingKeys.relativeAttentionNumBuckets.rawValue, "\(relativeAttentionNumBuckets)"),
            (CodingKeys.scaleDecoderOutputs.rawValue, "\(scaleDecoderOutputs)"),
            (CodingKeys.tieWordEmbeddings.rawValue, "\(tieWordEmbeddings)"),
            ("use_cache", "true"),
            (CodingKeys.vocabSize.rawValue, "\(vocabSize)"),
        ]
        let body = fields.map { "  \(string($0.0)): \($0.1)" }.joined(separator: ",\n")
        return Data("{\n\(body)\n}\n".utf8)
    }
}

/// Upper limits on a T5 config's sizes: well above every released T5 (t5-11b: d_ff 65,536,
/// 128 heads of 128; mT5: 250,112 tokens), low enough that products of them fit in `Int`.
public enum T5Limits {
    public static let maxVocabulary = 1 << 24
    public static let maxWidth = 1 << 16
    public static let maxHeads = 1 << 10
    public static let maxLayers = 1 << 10
    public static let maxBuckets = 1 << 16
    public static let maxDistance = 1 << 24
}

/// Why a T5 model could not be built, loaded, saved or run. Messages say what to fix.
public enum T5Error: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case io(String)
    case missingTensor(name: String, file: String)
    case shapeMismatch(name: String, expected: [Int], got: [Int], file: String)
    case unexpectedTensors([String], file: String)
    case invalidInput(String)
    case cancelled(generated: [[Int]])

    public var description: String {
        switch self {
        case .invalidConfig(let m): return "T5 config: \(m)"
        case .io(let m): return "T5: \(m)"
        case let .missingTensor(name, file):
            return "T5: \(file) has no tensor '\(name)'; is this a T5 checkpoint with the same config.json?"
        case let .shapeMismatch(name, expected, got, file):
            return "T5: tensor '\(name)' in \(file) has shape \(got), but config.json implies \(expected)"
        case let .unexpectedTensors(names, file):
            let shown = names.prefix(5).joined(separator: ", ")
            return "T5: \(file) has \(names.count) tensor(s) a T5 model does not use (\(shown)); is it another architecture?"
        case .invalidInput(let m): return "T5 input: \(m)"
        case .cancelled(let rows): return "T5: generation cancelled after \(rows.map(\.count).max() ?? 0) token(s)"
        }
    }
}
