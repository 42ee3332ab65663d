// T5 checkpoints as Hugging Face folders: `config.json` plus `model.safetensors` (or shards with
// `model.safetensors.index.json`). Loads t5-small, t5-v1_1 and flan-t5 downloads as they are,
// and saves folders that transformers loads back. Writes are atomic (temporary file + rename).

import Foundation
import Tensor

extension T5Model {
    /// Names a checkpoint may hold that this model derives from others, or that transformers ignores.
    static let ignorableNames: Set<String> = [
        "encoder.embed_tokens.weight", "decoder.embed_tokens.weight",
        "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight",
    ]

    /// Loads a Hugging Face T5 folder. Nothing is allocated from the files until the config
    /// has been validated and every tensor's name, shape and dtype checked against it.
    /// - Parameters:
    ///   - folder: a directory with `config.json` and `model.safetensors` (or a sharded
    ///     `model.safetensors.index.json`); F32, F16 and BF16 weights are converted to Float32.
    ///   - dropoutRate: replaces the config's dropout rate when given.
    /// - Throws: `T5Error` naming the missing file, the config key and its limit, the missing,
    ///   mis-shaped or non-finite tensor, or unknown tensors.
    public static func load(from folder: URL, dropoutRate: Float? = nil) throws -> T5Model {
        var config = try loadConfig(from: folder)
        if let dropoutRate {
            config.dropoutRate = dropoutRate
            try config.validate()
        }
        let files = try weightFiles(in: folder)
        var tensors: [String: (SafetensorsFile, String)] = [:]        // name -> (file, file name)
        for (name, file) in files { for key in file.names { tensors[key] = (file, name) } }
        let fileLabel = files.count == 1 ? (files.first?.0 ?? "model.safetensors") : "model.safetensors shards"
        let configPath = folder.appendingPathComponent("config.json").path

        // The blocks the files hold must be the ones config.json counts.
        for (stack, key, count) in [("encoder", "num_layers", config.numLayers), ("decoder", "num_decoder_layers", config.numDecoderLayers)] {
            let held = blockCount(stack, in: tensors.keys)
            guard held == count else {
                throw T5Error.invalidConfig("\(configPath): \(key) = \(count); \(fileLabel) holds \(held) \(stack) blocks")
            }
        }
        // Every parameter's tensor, checked against its header entry before the model exists.
        var sources: [String: (key: String, file: SafetensorsFile, fileName: String)] = [:]
        for (name, shape) in config.parameterShapes() {
            // Old checkpoints store the embedding under the encoder's or decoder's name too.
            let candidates = name == "shared.weight"
                ? ["shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"] : [name]
            guard let key = candidates.first(where: { tensors[$0] != nil }), let (file, fileName) = tensors[key],
                  let entry = file.entries[key] else {
                throw T5Error.missingTensor(name: name, file: folder.appendingPathComponent(fileLabel).path)
            }
            guard entry.shape == shape else {
                throw T5Error.shapeMismatch(name: key, expected: shape, got: entry.shape,
                                            file: folder.appendingPathComponent(fileName).path)
            }
            guard entry.dtype == .float32 || entry.dtype == .float16 || entry.dtype == .bfloat16 else {
                throw T5Error.io("tensor '\(key)' in \(fileName) has dtype \(entry.dtype); weights must be F32, F16 or BF16")
            }
            sources[name] = (key, file, fileName)
        }
        var ignorable = ignorableNames
        if config.tieWordEmbeddings { ignorable.insert("lm_head.weight") }     // the tied head is shared.weight
        let used = Set(sources.values.map(\.key))
        let unexpected = tensors.keys.filter { !used.contains($0) && !ignorable.contains($0) }.sorted()
        guard unexpected.isEmpty else { throw T5Error.unexpectedTensors(unexpected, file: folder.appendingPathComponent(fileLabel).path) }

        let model = try T5Model(config)
        for (name, parameter) in model.namedParameters() {
            guard let (key, file, fileName) = sources[name] else {
                throw T5Error.missingTensor(name: name, file: folder.appendingPathComponent(fileLabel).path)
            }
            let value: Tensor
            do { value = try file.finiteTensor(key) } catch {
                throw T5Error.io("cannot read '\(key)' from \(folder.appendingPathComponent(fileName).path): \(error)")
            }
            guard value.shape == parameter.shape else {
                throw T5Error.shapeMismatch(name: key, expected: parameter.shape, got: value.shape,
                                            file: folder.appendingPathComponent(fileName).path)
            }
            Tensor.withoutGrad { parameter.assign(value) }
        }
        return model
    }

    /// Blocks of `stack` ("encoder" or "decoder") among tensor names: one more than the largest
    /// N of a `<stack>.block.N.` name.
    static func blockCount<Names: Sequence>(_ stack: String, in names: Names) -> Int where Names.Element == String {
        let prefix = "\(stack).block."
        var count = 0
        for name in names where name.hasPrefix(prefix) {
            if let n = Int(name.dropFirst(prefix.count).prefix { $0 != "." }), n >= 0, n < Int.max { count = max(count, n + 1) }
        }
        return count
    }

    /// Reads and validates `config.json` in `folder`.
    public static func loadConfig(from folder: URL) throws -> T5Config {
        let url = folder.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw T5Error.io("no config.json in \(folder.path); a T5 folder holds config.json and model.safetensors")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw T5Error.io("cannot read \(url.path): \(error.localizedDescription)") }
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let type = object["model_type"] as? String, type != "t5" {
            throw T5Error.invalidConfig("\(url.path) describes a '\(type)' model, not t5")
        }
        let config: T5Config
        do { config = try JSONDecoder().decode(T5Config.self, from: data) } catch {
            throw T5Error.invalidConfig("\(url.path) is not a valid T5 config: \(error)")
        }
        do { try config.validate() } catch T5Error.invalidConfig(let reason) {
            throw T5Error.invalidConfig("\(url.path): \(reason)")
        }
        return config
    }

    /// The safetensors files of a folder: one file, or the shards an index names.
    static func weightFiles(in folder: URL) throws -> [(String, SafetensorsFile)] {
        let fm = FileManager.default
        let single = folder.appendingPathComponent("model.safetensors")
        if fm.fileExists(atPath: single.path) { return [("model.safetensors", try open(single))] }
        let index = folder.appendingPathComponent("model.safetensors.index.json")
        if fm.fileExists(atPath: index.path) {
            guard let data = try? Data(contentsOf: index),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = object["weight_map"] as? [String: String] else {
                throw T5Error.io("\(index.path) has no 'weight_map' object of tensor name -> shard file")
            }
            return try Set(map.values).sorted().map { ($0, try open(folder.appendingPathComponent($0))) }
        }
        if fm.fileExists(atPath: folder.appendingPathComponent("pytorch_model.bin").path) {
            throw T5Error.io("\(folder.path) has only pytorch_model.bin; convert it to model.safetensors " +
                             "(transformers: model.save_pretrained(dir, safe_serialization=True))")
        }
        throw T5Error.io("no model.safetensors in \(folder.path)")
    }

    static func open(_ url: URL) throws -> SafetensorsFile {
        do { return try SafetensorsFile(contentsOf: url) } catch {
            throw T5Error.io("\(url.lastPathComponent) is not a readable safetensors file (\(error)); is it truncated?")
        }
    }

    /// Files of a Hugging Face folder that describe the tokenizer.
    static let tokenizerFiles = ["tokenizer.json", "spiece.model", "tokenizer_config.json", "special_tokens_map.json"]

    /// The tokenizer of a Hugging Face T5 folder: `tokenizer.json` (Unigram) if present, else
    /// `spiece.model`; nil when the folder has neither. T5 appends eos (`</s>`, id 1) to inputs and
    /// targets; `encode` does not, so add `config.eosTokenId` yourself.
    public static func loadTokenizer(from folder: URL) throws -> (any Tokenizer)? {
        let json = folder.appendingPathComponent("tokenizer.json"), spiece = folder.appendingPathComponent("spiece.model")
        do {
            if FileManager.default.fileExists(atPath: json.path) { return try makeTokenizer(tokenizerJSON: json) }
            if FileManager.default.fileExists(atPath: spiece.path) { return try makeTokenizer(sentencePieceModel: spiece) }
        } catch {
            throw T5Error.io("cannot read the tokenizer in \(folder.path): \(error)")
        }
        return nil
    }

    /// Saves this model as a Hugging Face folder that transformers' `T5ForConditionalGeneration.from_pretrained` loads.
    /// - Parameters:
    ///   - folder: created if needed; `config.json` and `model.safetensors` are replaced atomically.
    ///   - tokenizerFolder: a folder whose tokenizer files (tokenizer.json, spiece.model and their
    ///     configs) are copied alongside, so the export is complete; nil to skip.
    public func save(to folder: URL, tokenizerFrom tokenizerFolder: URL? = nil) throws {
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw T5Error.io("cannot create \(folder.path): \(error.localizedDescription)")
        }
        var tensors: [String: Tensor] = [:]
        for (name, p) in namedParameters() { tensors[name] = p.detached() }
        do {
            try SafetensorsFile.write(tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent("model.safetensors"))
        } catch {
            throw T5Error.io("cannot write model.safetensors in \(folder.path): \(error)")
        }
        let url = folder.appendingPathComponent("config.json")
        do { try config.jsonData().write(to: url, options: .atomic) } catch {
            throw T5Error.io("cannot write \(url.path): \(error.localizedDescription)")
        }
        guard let source = tokenizerFolder, source.standardizedFileURL != folder.standardizedFileURL else { return }
        for name in Self.tokenizerFiles where FileManager.default.fileExists(atPath: source.appendingPathComponent(name).path) {
            do {
                try Data(contentsOf: source.appendingPathComponent(name)).write(to: folder.appendingPathComponent(name), options: .atomic)
            } catch {
                throw T5Error.io("cannot copy \(name) from \(source.path): \(error.localizedDescription)")
            }
        }
    }
}
