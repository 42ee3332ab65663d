// A pretrained Llama-family decoder as the student: a GGUF's weights dequantised into trainable
// Float32, LoRA adapters on chosen projections, and the prompt format of the reference run
// (STACK.md, "SVAMP with the released teacher rationales"): `{prefix}{input}\nAnswer:` →
// ` {target}<end of turn>`, with the loss on the target tokens only. Generation folds the
// adapters into a Float32 inference model (KV cache) and decodes greedily.
import Foundation
import Models
import NN
import Tensor

/// A Llama-family decoder from a GGUF file, fine-tuned through LoRA adapters.
public final class LlamaLoRAStudent: Student {
    /// The family's name in checkpoints and tables.
    public let family = "llama-lora"
    /// The trainable model (base weights frozen, adapters trainable).
    public let model: LlamaTrainable
    /// The GGUF the base weights, tokenizer and metadata come from.
    public let file: GGUFFile
    /// Where `file` was read from ("" for one built in memory).
    public let path: String
    /// The GGUF's tokenizer.
    public let tokenizer: any Tokenizer
    /// The adapters' settings.
    public let lora: LoRAConfig
    /// The token that ends a target and stops generation (the chat format's end of turn).
    public let endTokenID: Int
    /// What follows the source in the prompt; the target starts after it with a space.
    public let answerCue = "\nAnswer:"
    /// The inference model for `generate`, kept while the adapters are unchanged.
    private var merged: (model: LlamaModel, fingerprint: [Double])?

    /// Reads the GGUF at `path` and adds adapters.
    /// - Throws: `TrainingError.invalidSetting` for a bad LoRA setting, a GGUF or model error for
    ///   a file that cannot be read or is not a supported decoder.
    public convenience init(ggufPath: String, lora: LoRAConfig = LoRAConfig(), seed: UInt64 = 0) throws {
        let file: GGUFFile
        do { file = try GGUFFile(path: ggufPath) } catch {
            throw TrainingError.badCheckpoint(path: ggufPath, reason: "\(error)")
        }
        try self.init(gguf: file, path: ggufPath, lora: lora, seed: seed)
    }

    /// Dequantises `file`'s weights and adds adapters initialised from `seed`.
    /// - Throws: as `init(ggufPath:lora:seed:)`.
    public init(gguf file: GGUFFile, path: String = "", lora: LoRAConfig = LoRAConfig(), seed: UInt64 = 0) throws {
        guard lora.rank > 0 else { throw TrainingError.invalidSetting("LoRA rank must be positive, got \(lora.rank)") }
        guard lora.alpha > 0, lora.alpha.isFinite else { throw TrainingError.invalidSetting("LoRA alpha must be positive, got \(lora.alpha)") }
        guard lora.dropout >= 0, lora.dropout < 1 else { throw TrainingError.invalidSetting("LoRA dropout must be in [0, 1), got \(lora.dropout)") }
        guard !lora.targets.isEmpty else { throw TrainingError.invalidSetting("LoRA needs at least one target module") }
        self.file = file
        self.path = path
        self.lora = lora
        // A corrupt file's error names the file; the model's own error says what is wrong in it.
        do {
            tokenizer = try makeTokenizer(gguf: file)
            model = try LlamaTrainable(gguf: file)
        } catch {
            throw TrainingError.badCheckpoint(path: path.isEmpty ? "the GGUF" : path, reason: "\(error)")
        }
        guard let end = Self.endOfTurnToken(file: file, tokenizer: tokenizer) else {
            throw TrainingError.invalidSetting("the GGUF names no end-of-turn or end-of-sequence token to end targets with")
        }
        endTokenID = end
        model.addAdapters(lora, seed: seed)
    }

    /// The end-of-turn token: `tokenizer.ggml.eot_token_id`, else the chat template's end-of-turn
    /// token when it is a single id, else the end-of-sequence token.
    static func endOfTurnToken(file: GGUFFile, tokenizer: any Tokenizer) -> Int? {
        if let eot = try? file.int("tokenizer.ggml.eot_token_id"), eot >= 0, eot < tokenizer.vocabularySize { return eot }
        for text in ChatTemplate.detect(gguf: file).endOfTurnTokens {
            let ids = tokenizer.encode(text, parseSpecial: true)
            if ids.count == 1, let id = ids.first, tokenizer.tokenText(id) == text { return id }
        }
        return tokenizer.eosTokenID
    }

    /// The end token's text (for example `<|im_end|>`).
    public var endToken: String { tokenizer.tokenText(endTokenID) ?? "" }

    public var summary: String {
        let total = model.parameters().reduce(0) { $0 + $1.count }
        let trainable = model.adapterParameters().reduce(0) { $0 + $1.1.count }
        let name = (try? file.string("general.name")) ?? URL(fileURLWithPath: path).lastPathComponent
        return "\(name) (\(model.config.architecture), \(String(format: "%.1f", Double(total) / 1e6))M parameters), "
            + "LoRA r\(lora.rank) α\(formatNumber(lora.alpha)) on \(lora.targets.map(\.rawValue).joined(separator: ",")): "
            + "\(String(format: "%.2f", Double(trainable) / 1e6))M trainable"
    }

    public func trainableParameters() -> [(String, Tensor)] { model.adapterParameters() }

    /// Whether the GGUF asks for BOS before the text.
    private var addsBOS: Bool { (try? file.bool("tokenizer.ggml.add_bos_token")) == true && tokenizer.bosTokenID != nil }

    /// The prompt's ids: BOS if the model wants it, `source`, then the answer cue (kept whole
    /// when the source is cut to `limit`).
    func promptTokens(_ source: String, limit: Int = .max) -> [Int] {
        var text = tokenizer.encode(source, parseSpecial: false)
        let cue = tokenizer.encode(answerCue, parseSpecial: false)
        let bos = addsBOS ? [tokenizer.bosTokenID ?? 0] : []
        let room = Swift.max(0, limit - cue.count - bos.count)
        if text.count > room { text = Array(text.prefix(room)) }
        return bos + text + cue
    }

    public func encode(_ pair: TrainingPair, maxSourceTokens: Int, maxTargetTokens: Int) throws -> EncodedPair {
        guard maxSourceTokens > 0, maxTargetTokens > 0 else {
            throw TrainingError.invalidSetting("token limits must be positive (source \(maxSourceTokens), target \(maxTargetTokens))")
        }
        let source = promptTokens(pair.source, limit: maxSourceTokens)
        var target = tokenizer.encode(" " + pair.target, parseSpecial: false) + [endTokenID]
        if target.count > maxTargetTokens { target = Array(target.prefix(maxTargetTokens)) }
        guard !source.isEmpty else { throw TrainingError.invalidSetting("the source of \(pair.exampleID) gives no tokens") }
        return EncodedPair(source: source, target: target)
    }

    public func targetTokenLosses(_ pairs: [EncodedPair], packLength: Int?) throws -> Tensor {
        guard !pairs.isEmpty else { throw TrainingError.noTrainingData("an empty batch") }
        let length = pairs.map(\.length).max() ?? 0
        guard length <= model.config.contextLength else {
            throw TrainingError.invalidSetting("a pair of \(length) tokens exceeds the model's context of \(model.config.contextLength)")
        }
        if let packLength, packLength > model.config.contextLength {
            throw TrainingError.invalidSetting("pack: \(packLength) exceeds the model's context of \(model.config.contextLength)")
        }
        guard pairs.allSatisfy({ !$0.target.isEmpty }) else { throw TrainingError.noTrainingData("a pair has no target tokens") }
        // Right padding: with causal attention no real position sees a pad, and pads carry no label.
        return try model.targetTokenLosses(pairs: pairs.map { (prompt: $0.source, target: $0.target) }, packLength: packLength,
                                           padTokenId: tokenizer.eosTokenID ?? endTokenID)
    }

    public var packsSourceWithTarget: Bool { true }

    public func generate(_ sources: [String], maxNewTokens: Int, cancel: CancellationFlag?) throws -> [String] {
        guard maxNewTokens >= 0 else { throw TrainingError.invalidSetting("maxNewTokens must not be negative, got \(maxNewTokens)") }
        let inference = try mergedModel()
        inference.threads = Parallel.threads
        var ends: Set<Int> = [endTokenID]
        if let eos = tokenizer.eosTokenID { ends.insert(eos) }
        var out: [String] = []
        out.reserveCapacity(sources.count)
        var first = 0
        while first < sources.count {
            let group = Array(sources[first..<Swift.min(first + Swift.max(1, generationBatch), sources.count)])
            out += try generateGroup(group, model: inference, ends: ends, maxNewTokens: maxNewTokens, cancel: cancel)
            first += group.count
        }
        return out
    }

    /// Sequences decoded together: each prompt runs alone through its own cache, then every
    /// step feeds the unfinished sequences' next tokens as one batch (weights read once).
    public var generationBatch = 32

    private func generateGroup(_ sources: [String], model inference: LlamaModel, ends: Set<Int>, maxNewTokens: Int,
                               cancel: CancellationFlag?) throws -> [String] {
        var generated = [[Int]](repeating: [], count: sources.count)
        guard maxNewTokens > 0 else { return generated.map { _ in "" } }
        let v = model.config.vocabularySize
        var caches: [LlamaKVCache] = [], next: [Int] = []
        for source in sources {
            if cancel?.isCancelled == true { throw TrainingError.cancelled }
            let prompt = promptTokens(source, limit: Swift.max(1, model.config.contextLength - maxNewTokens))
            let cache = inference.makeCache(capacity: prompt.count + maxNewTokens)
            next.append(Self.argmax(try inference.forward(prompt, cache: cache)))
            caches.append(cache)
        }
        var active = Array(sources.indices)
        while true {
            // Take each active sequence's token; drop those that ended or reached the limit.
            var still: [Int] = []
            for (slot, i) in active.enumerated() where !ends.contains(next[slot]) {
                generated[i].append(next[slot])
                if generated[i].count < maxNewTokens { still.append(i) }
            }
            if still.isEmpty { break }
            if cancel?.isCancelled == true { throw TrainingError.cancelled }
            let tokens = still.map { generated[$0].last ?? 0 }
            let logits = try inference.forward(next: tokens, caches: still.map { caches[$0] })
            next = (0..<still.count).map { Self.argmax(Array(logits[($0 * v)..<(($0 + 1) * v)])) }
            active = still
        }
        return generated.map { tokenizer.decode($0, skipSpecial: true).trimmingCharacters(in: .whitespaces) }
    }

    /// The index of the largest logit (the first of equals).
    static func argmax(_ logits: [Float]) -> Int {
        var best = 0, bestValue = -Float.infinity
        for (i, v) in logits.enumerated() where v > bestValue { best = i; bestValue = v }
        return best
    }

    /// An inference model with the current adapters folded into Float32 weights (KV cache,
    /// one matvec per generated token). Rebuilt only when the adapters' values have changed.
    /// Export: `save(to:)` writes the PEFT adapter, which PEFT's `merge_and_unload()` folds
    /// into the Hugging Face base model; this is the same fold, in memory.
    public func mergedModel() throws -> LlamaModel {
        let fingerprint = adapterFingerprint()
        if let merged, merged.fingerprint == fingerprint { return merged.model }
        let built = try LlamaModel(merging: model, gguf: file)
        merged = (built, fingerprint)
        return built
    }

    /// Sums and weighted sums of every adapter tensor: any update changes them.
    private func adapterFingerprint() -> [Double] {
        model.adapterParameters().flatMap { _, t -> [Double] in
            let values = t.scalars
            var sum = 0.0, weighted = 0.0
            for (i, v) in values.enumerated() { sum += Double(v); weighted += Double(v) * Double(i % 997 + 1) }
            return [sum, weighted]
        }
    }

    public func setTraining(_ on: Bool) { model.train(on) }

    /// Restarts every adapter's dropout stream from `seed` (one derived seed per projection).
    public func reseedRandomness(_ seed: UInt64) {
        var index: UInt64 = 0
        for layer in model.layers {
            for target in LoRATarget.allCases {
                for case let (_, dropout as Dropout) in layer.projection(target).namedChildren() {
                    dropout.reseed(seed &+ (index &+ 1) &* 0x9E37_79B9_7F4A_7C15)
                }
                index += 1
            }
        }
    }

    public func save(to directory: URL) throws {
        try model.saveAdapters(to: directory, config: lora, baseModel: path)
    }

    /// Loads a PEFT adapter folder into the existing adapter tensors (an optimizer holding them
    /// stays valid).
    /// - Throws: `TrainingError.badCheckpoint` when a file is missing or the adapter does not fit.
    public func load(from directory: URL) throws {
        for name in [LlamaTrainable.adapterConfigFile, LlamaTrainable.adapterWeightsFile]
        where !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
            throw TrainingError.badCheckpoint(path: directory.path, reason: "\(name) is missing")
        }
        // Check the shape first, so that a refused adapter leaves this one as it was.
        let configURL = directory.appendingPathComponent(LlamaTrainable.adapterConfigFile)
        guard let json = (try? JSONSerialization.jsonObject(with: Data(contentsOf: configURL))) as? [String: Any] else {
            throw TrainingError.badCheckpoint(path: directory.path, reason: "\(LlamaTrainable.adapterConfigFile) is not a JSON object")
        }
        let rank = (json["r"] as? NSNumber)?.intValue ?? 0
        let targets = Set((json["target_modules"] as? [String] ?? []).compactMap(LoRATarget.init(rawValue:)))
        let alpha = (json["lora_alpha"] as? NSNumber)?.floatValue ?? Float(rank)
        guard rank == lora.rank, alpha == lora.alpha, targets == Set(lora.targets) else {
            throw TrainingError.badCheckpoint(path: directory.path,
                                              reason: "the adapter has rank \(rank), alpha \(alpha) on \(targets.map(\.rawValue).sorted()); this student has rank \(lora.rank), alpha \(lora.alpha) on \(lora.targets.map(\.rawValue).sorted())")
        }
        let current = model.adapterParameters()
        do {
            try model.loadAdapters(from: directory)
        } catch {
            restore(current, values: nil)
            throw TrainingError.badCheckpoint(path: directory.path, reason: "\(error)")
        }
        let fresh = model.adapterParameters()
        restore(current, values: fresh.map(\.1))
        merged = nil
    }

    /// Re-installs the student's adapter tensors (the ones an optimizer holds), copying `values`
    /// into them when given.
    private func restore(_ tensors: [(String, Tensor)], values: [Tensor]?) {
        if let values { for ((_, t), v) in zip(tensors, values) { t.assign(v.scalars) } }
        let byName = Dictionary(tensors, uniquingKeysWith: { a, _ in a })
        for (l, layer) in model.layers.enumerated() {
            for target in lora.targets {
                let prefix = "base_model.model.model.layers.\(l).\([.q, .k, .v, .o].contains(target) ? "self_attn" : "mlp").\(target.rawValue)"
                if let a = byName[prefix + ".lora_A.weight"], let b = byName[prefix + ".lora_B.weight"] {
                    layer.projection(target).setAdapter(a: a, b: b, scale: lora.scale)
                }
            }
        }
    }
}

/// `32` for 32.0, `0.5` for 0.5.
private func formatNumber(_ x: Float) -> String {
    x == x.rounded() ? String(Int(x)) : String(x)
}
