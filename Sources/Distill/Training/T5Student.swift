// A T5 encoder-decoder as a `Student`: built from scratch (a preset size and a vocabulary trained
// on the task's own text) or loaded from a Hugging Face folder, trained through the seq2seq loss,
// evaluated with batched greedy decoding, and saved as a folder transformers loads.
import Foundation
import Models
import NN
import Tensor

/// A T5 student: `Models.T5Model` with its tokenizer.
///
/// Sources and targets get T5's end-of-sequence token (`</s>`) appended, as Hugging Face's T5
/// tokenizers do. Dropout follows the model's config and is off during generation.
public final class T5Student: Student {
    /// The network.
    public let model: T5Model
    /// The tokenizer (a trained byte-level BPE, or the Hugging Face folder's own).
    public let tokenizer: any Tokenizer
    /// The most source tokens `generate` reads per input (longer inputs are cut, keeping `</s>`).
    public var maxGenerationSourceTokens: Int
    /// The folder whose tokenizer files `save(to:)` copies (a Hugging Face student), or nil when
    /// the tokenizer was trained here and is written out as a tokenizer.json.
    public let tokenizerFolder: URL?
    /// What the student was made from, for `summary`.
    private let origin: String

    /// Wraps a model and a tokenizer.
    /// - Parameters:
    ///   - model: The network; its vocabulary must hold every id the tokenizer produces.
    ///   - tokenizer: The tokenizer.
    ///   - tokenizerFolder: Where the tokenizer's files live, if it was loaded from a folder.
    ///   - origin: A few words for `summary` ("from scratch", the folder's name).
    ///   - maxGenerationSourceTokens: The source cut for generation (512 as in T5).
    /// - Throws: `TrainingError.invalidSetting` when the tokenizer's vocabulary is larger than the model's.
    public init(model: T5Model, tokenizer: any Tokenizer, tokenizerFolder: URL? = nil, origin: String = "custom",
                maxGenerationSourceTokens: Int = 512) throws {
        guard tokenizer.vocabularySize <= model.config.vocabSize else {
            throw TrainingError.invalidSetting("the tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocabulary holds \(model.config.vocabSize)")
        }
        guard maxGenerationSourceTokens >= 2 else {
            throw TrainingError.invalidSetting("maxGenerationSourceTokens must be at least 2, got \(maxGenerationSourceTokens)")
        }
        self.model = model
        self.tokenizer = tokenizer
        self.tokenizerFolder = tokenizerFolder
        self.origin = origin
        self.maxGenerationSourceTokens = maxGenerationSourceTokens
    }

    /// A T5 of a preset size with a fresh byte-level BPE vocabulary learned from `texts`.
    /// - Parameters:
    ///   - size: tiny, mini or small (`T5Config.preset`).
    ///   - texts: The task's text (sources with their prefixes, and targets); see `PreparedData.texts`.
    ///   - vocabularySize: The most tokens the vocabulary gets (fewer when the text runs out of pairs).
    ///   - dropout: Dropout rate (0.1 as in T5).
    ///   - seed: Fixes the initial weights.
    /// - Throws: `TrainingError.invalidSetting` for a vocabulary too small or empty texts.
    public static func fromScratch(size: T5Config.Size, texts: [String], vocabularySize: Int = 4000,
                                   dropout: Float = 0.1, seed: UInt64) throws -> T5Student {
        try fromScratch(config: T5Config.preset(size, vocabSize: 1, dropoutRate: dropout), texts: texts,
                        vocabularySize: vocabularySize, seed: seed, name: "t5-\(size.rawValue)")
    }

    /// A T5 of any shape with a fresh vocabulary learned from `texts`; the config's `vocabSize`
    /// is replaced by the vocabulary's size, and pad/eos/start ids are T5's (0, 1, 0).
    /// - Parameters:
    ///   - config: The dimensions.
    ///   - texts: The task's text.
    ///   - vocabularySize: The most tokens the vocabulary gets.
    ///   - seed: Fixes the initial weights.
    ///   - name: How `summary` names it.
    /// - Throws: `TrainingError.invalidSetting` for a bad config, a vocabulary too small or empty texts.
    public static func fromScratch(config: T5Config, texts: [String], vocabularySize: Int = 4000, seed: UInt64,
                                   name: String = "t5") throws -> T5Student {
        guard !texts.isEmpty else { throw TrainingError.invalidSetting("a vocabulary needs some text to learn from") }
        let tokenizer: ByteLevelBPETokenizer
        do {
            tokenizer = try VocabularyTrainer.trainBPE(texts: texts, vocabularySize: vocabularySize, splitDigits: true)
        } catch {
            throw TrainingError.invalidSetting("cannot train the vocabulary: \(error)")
        }
        var shaped = config
        shaped.vocabSize = tokenizer.vocabularySize
        shaped.padTokenId = 0
        shaped.eosTokenId = 1
        shaped.decoderStartTokenId = 0
        let model: T5Model
        do { model = try T5Model(shaped, seed: seed) } catch {
            throw TrainingError.invalidSetting("\(error)")
        }
        return try T5Student(model: model, tokenizer: tokenizer, origin: "\(name) from scratch")
    }

    /// A T5 from a Hugging Face folder (config.json, model.safetensors, tokenizer.json or spiece.model).
    /// - Parameters:
    ///   - folder: The folder.
    ///   - dropout: Replaces the config's dropout rate when given.
    /// - Throws: `TrainingError.badCheckpoint` naming what is missing or wrong.
    public convenience init(huggingFace folder: URL, dropout: Float? = nil) throws {
        let model: T5Model
        let tokenizer: (any Tokenizer)?
        do {
            model = try T5Model.load(from: folder, dropoutRate: dropout)
            tokenizer = try T5Model.loadTokenizer(from: folder)
        } catch let error as TrainingError {
            throw error
        } catch {
            throw TrainingError.badCheckpoint(path: folder.path, reason: "\(error)")
        }
        guard let tokenizer else {
            throw TrainingError.badCheckpoint(path: folder.path, reason: "it has no tokenizer.json or spiece.model")
        }
        try self.init(model: model, tokenizer: tokenizer, tokenizerFolder: folder, origin: folder.lastPathComponent)
    }

    // MARK: - Student

    public var family: String { "t5" }

    public var summary: String {
        let c = model.config
        let millions = Double(model.parameterCount) / 1e6
        return "\(origin): d_model \(c.dModel), \(c.numLayers)+\(c.numDecoderLayers) layers, \(c.numHeads) heads, " +
            "vocabulary \(c.vocabSize), \(String(format: "%.2f", millions))M parameters"
    }

    public func trainableParameters() -> [(String, Tensor)] { model.trainableParameters() }

    public func encode(_ pair: TrainingPair, maxSourceTokens: Int, maxTargetTokens: Int) throws -> EncodedPair {
        guard maxSourceTokens >= 2, maxTargetTokens >= 1 else {
            throw TrainingError.invalidSetting("token limits must leave room for text and </s> (source ≥ 2, target ≥ 1), got \(maxSourceTokens) and \(maxTargetTokens)")
        }
        let eos = model.config.eosTokenId
        let source = Array(tokenizer.encode(pair.source, parseSpecial: false).prefix(maxSourceTokens - 1)) + [eos]
        let target = Array((tokenizer.encode(pair.target, parseSpecial: false) + [eos]).prefix(maxTargetTokens))
        let vocabulary = model.config.vocabSize
        if let bad = (source + target).first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw TrainingError.invalidSetting("token \(bad) of the pair for \(pair.exampleID) is outside the model's vocabulary of \(vocabulary)")
        }
        return EncodedPair(source: source, target: target)
    }

    public func targetTokenLosses(_ pairs: [EncodedPair], packLength: Int?) throws -> Tensor {
        guard !pairs.isEmpty else { throw TrainingError.invalidSetting("a loss needs at least one pair") }
        do {
            return try model.targetTokenLosses(pairs: pairs.map { (source: $0.source, target: $0.target) }, packLength: packLength)
        } catch let error as TrainingError {
            throw error
        } catch {
            throw TrainingError.invalidSetting("\(error)")
        }
    }

    public var packsSourceWithTarget: Bool { false }

    public func generate(_ sources: [String], maxNewTokens: Int, cancel: CancellationFlag?) throws -> [String] {
        guard !sources.isEmpty else { return [] }
        guard maxNewTokens > 0 else { throw TrainingError.invalidSetting("maxNewTokens must be positive, got \(maxNewTokens)") }
        if cancel?.isCancelled == true { throw TrainingError.cancelled }
        let eos = model.config.eosTokenId
        let inputs = sources.map {
            Array(tokenizer.encode($0, parseSpecial: false).prefix(maxGenerationSourceTokens - 1)) + [eos]
        }
        let batch = try T5Batch(inputs: inputs, padTokenId: model.config.padTokenId)
        let rows: [[Int]]
        do {
            rows = try model.generate(inputIds: batch.inputIds, attentionMask: batch.attentionMask,
                                      maxNewTokens: maxNewTokens, shouldStop: { cancel?.isCancelled == true })
        } catch T5Error.cancelled {
            throw TrainingError.cancelled
        }
        return rows.map { row in
            let body = row.last == eos ? Array(row.dropLast()) : row
            return tokenizer.decode(body, skipSpecial: true).trimmingCharacters(in: .whitespaces)
        }
    }

    public func setTraining(_ on: Bool) { model.train(on) }

    public func reseedRandomness(_ seed: UInt64) {
        var streams = RNG(seed: seed)
        func visit(_ module: Module) {
            if let dropout = module as? Dropout { dropout.reseed(streams.next()) }
            for (_, child) in module.namedChildren() { visit(child) }
        }
        visit(model)
    }

    public func save(to directory: URL) throws {
        do {
            try model.save(to: directory, tokenizerFrom: tokenizerFolder)
        } catch {
            throw TrainingError.badCheckpoint(path: directory.path, reason: "cannot write the model: \(error)")
        }
        guard tokenizerFolder == nil else { return }
        guard let bpe = tokenizer as? ByteLevelBPETokenizer else {
            throw TrainingError.badCheckpoint(path: directory.path, reason: "the tokenizer has no folder and is not a trained byte-level BPE, so it cannot be written")
        }
        try TokenizerExport.write(bpe, to: directory, modelMaxLength: maxGenerationSourceTokens)
    }

    public func load(from directory: URL) throws {
        let configURL = directory.appendingPathComponent("config.json")
        let config: T5Config
        do { config = try T5Model.loadConfig(from: directory) } catch {
            throw TrainingError.badCheckpoint(path: configURL.path, reason: "\(error)")
        }
        let mine = model.config
        guard config.vocabSize == mine.vocabSize, config.dModel == mine.dModel, config.numLayers == mine.numLayers,
              config.numDecoderLayers == mine.numDecoderLayers, config.numHeads == mine.numHeads,
              config.dFF == mine.dFF, config.dKV == mine.dKV else {
            throw TrainingError.badCheckpoint(path: configURL.path, reason: "it describes another shape of T5 (d_model \(config.dModel), \(config.numLayers) layers, vocabulary \(config.vocabSize)) than this student's (d_model \(mine.dModel), \(mine.numLayers) layers, vocabulary \(mine.vocabSize))")
        }
        try T5Student.loadWeights(into: model, from: directory)
    }

    /// Copies `model.safetensors` of `folder` into `model`'s parameters, all or nothing.
    static func loadWeights(into model: T5Model, from folder: URL) throws {
        let url = folder.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.badCheckpoint(path: url.path, reason: "the file is missing")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: url) } catch {
            throw TrainingError.badCheckpoint(path: url.path, reason: "not a readable safetensors file (\(error)); is it truncated?")
        }
        let names = Set(file.names)
        var staged: [(Tensor, Tensor)] = []
        for (name, parameter) in model.namedParameters() {
            let key = name == "shared.weight" && !names.contains(name)
                ? ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"].first(where: names.contains) ?? name : name
            guard names.contains(key) else {
                throw TrainingError.badCheckpoint(path: url.path, reason: "it has no tensor '\(name)'")
            }
            let value: Tensor
            do { value = try file.finiteTensor(key) } catch {
                throw TrainingError.badCheckpoint(path: url.path, reason: "cannot read '\(key)': \(error)")
            }
            guard value.shape == parameter.shape else {
                throw TrainingError.badCheckpoint(path: url.path, reason: "tensor '\(key)' has shape \(value.shape), the student's is \(parameter.shape)")
            }
            guard value.dtype == .float32 || value.dtype == .float16 || value.dtype == .bfloat16 else {
                throw TrainingError.badCheckpoint(path: url.path, reason: "tensor '\(key)' has dtype \(value.dtype); weights must be F32, F16 or BF16")
            }
            staged.append((parameter, value))
        }
        Tensor.withoutGrad { for (parameter, value) in staged { parameter.assign(value) } }
    }
}
