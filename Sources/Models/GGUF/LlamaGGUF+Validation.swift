// Reads a Llama-family GGUF's hyper-parameters and checks each one as it is read: against the
// limits of what the engine can allocate, against each other (head widths, RoPE dims) and
// against the tensors the file actually holds. This is the one place a corrupt or hostile
// value is stopped, before any buffer is sized from it; each check names the key, the value
// and the limit (ggml's gguf reader style: a specific error for each check).
import Foundation

/// Limits on a Llama-family model's shape: generous for real models (Llama 3.1 405B has
/// width 16,384 and 131,072 positions), small enough that products of two stay far inside `Int`.
public enum LlamaLimits {
    /// Largest width, head count or head width accepted.
    public static let maxWidth = 1 << 20
    /// Largest context length accepted (the KV cache is sized from it).
    public static let maxContextLength = 1 << 24
}

/// Reads and validates `LlamaHyperparameters` from a GGUF file.
struct LlamaMetadataReader {
    let file: GGUFFile

    func read() throws -> LlamaHyperparameters {
        let arch = try file.string("general.architecture")
        func key(_ name: String) -> String { "\(arch).\(name)" }

        // What the tensors say: the embedding's shape, the blocks present, block 0's projections.
        let embedding = try file.requireTensor(LlamaGGUFName.tokenEmbedding)
        let embeddingWidth = embedding.info.rowLength, embeddingRows = embedding.info.rowCount
        let blocksInFile = Self.blockCount(file)

        let dModel = try required(key(LlamaGGUFName.embeddingLength))
        try check(dModel, key(LlamaGGUFName.embeddingLength), within: 1...LlamaLimits.maxWidth)
        try check(dModel == embeddingWidth, key(LlamaGGUFName.embeddingLength), dModel,
                  "\(LlamaGGUFName.tokenEmbedding) rows hold \(embeddingWidth) values")

        let nLayers = try required(key(LlamaGGUFName.blockCount))
        try check(nLayers >= 1, key(LlamaGGUFName.blockCount), nLayers, "a model needs at least 1 block")
        try check(nLayers == blocksInFile, key(LlamaGGUFName.blockCount), nLayers,
                  "this file's tensors hold \(blocksInFile) blocks")

        let nHeads = try required(key(LlamaGGUFName.headCount))
        try check(nHeads, key(LlamaGGUFName.headCount), within: 1...LlamaLimits.maxWidth)
        let nKVHeads = try int(key(LlamaGGUFName.headCountKV)) ?? nHeads
        try check(nKVHeads, key(LlamaGGUFName.headCountKV), within: 1...nHeads)
        try check(nHeads % nKVHeads == 0, key(LlamaGGUFName.headCountKV), nKVHeads,
                  "it must divide \(key(LlamaGGUFName.headCount)) (\(nHeads))")

        let headDim: Int
        if let keyLength = try int(key(LlamaGGUFName.attentionKeyLength)) {
            try check(keyLength, key(LlamaGGUFName.attentionKeyLength), within: 1...LlamaLimits.maxWidth)
            headDim = keyLength
        } else {
            try check(dModel % nHeads == 0, key(LlamaGGUFName.headCount), nHeads,
                      "it must divide \(key(LlamaGGUFName.embeddingLength)) (\(dModel)) when attention.key_length is absent")
            headDim = dModel / nHeads
        }
        if let valueLength = try int(key("attention.value_length")) {
            try check(valueLength == headDim, key("attention.value_length"), valueLength,
                      "this decoder needs it equal to the key length \(headDim)")
        }
        // Both factors are at most maxWidth, so the products fit in Int.
        let qRows = try file.requireTensor(LlamaGGUFName.attnQ(0)).info.rowCount
        try check(nHeads * headDim == qRows, key(LlamaGGUFName.headCount), nHeads,
                  "\(nHeads) heads of \(headDim) need \(nHeads * headDim) rows but \(LlamaGGUFName.attnQ(0)) has \(qRows)")
        let kRows = try file.requireTensor(LlamaGGUFName.attnK(0)).info.rowCount
        try check(nKVHeads * headDim == kRows, key(LlamaGGUFName.headCountKV), nKVHeads,
                  "\(nKVHeads) heads of \(headDim) need \(nKVHeads * headDim) rows but \(LlamaGGUFName.attnK(0)) has \(kRows)")

        let ffnDim = try required(key(LlamaGGUFName.feedForwardLength))
        try check(ffnDim, key(LlamaGGUFName.feedForwardLength), within: 1...LlamaLimits.maxWidth)
        let upRows = try file.requireTensor(LlamaGGUFName.ffnUp(0)).info.rowCount
        try check(ffnDim == upRows, key(LlamaGGUFName.feedForwardLength), ffnDim,
                  "\(LlamaGGUFName.ffnUp(0)) has \(upRows) rows")

        let contextLength = try required(key(LlamaGGUFName.contextLength))
        try check(contextLength, key(LlamaGGUFName.contextLength), within: 1...LlamaLimits.maxContextLength)

        // The vocabulary: the tokenizer's tokens, the embedding's rows and vocab_size agree.
        let tokens = try file.array("tokenizer.ggml.tokens").count
        try check(tokens == embeddingRows, "tokenizer.ggml.tokens", "\(tokens) tokens",
                  "\(LlamaGGUFName.tokenEmbedding) has \(embeddingRows) rows")
        if let vocab = try int(key(LlamaGGUFName.vocabSize)) {
            try check(vocab == embeddingRows, key(LlamaGGUFName.vocabSize), vocab,
                      "\(LlamaGGUFName.tokenEmbedding) has \(embeddingRows) rows")
        }

        let ropeDimensions = try int(key(LlamaGGUFName.ropeDimensionCount)) ?? headDim
        try check(ropeDimensions >= 2 && ropeDimensions <= headDim, key(LlamaGGUFName.ropeDimensionCount), ropeDimensions,
                  "it must be from 2 to the head width \(headDim)")
        try check(ropeDimensions % 2 == 0, key(LlamaGGUFName.ropeDimensionCount), ropeDimensions,
                  "RoPE rotates pairs, so it must be even")
        let freqBase = try number(key(LlamaGGUFName.ropeFreqBase)) ?? 10_000
        try check(freqBase.isFinite && freqBase > 1 && freqBase <= Double(Float.greatestFiniteMagnitude),
                  key(LlamaGGUFName.ropeFreqBase), freqBase, "it must be a finite number above 1")
        let epsilon = try number(key(LlamaGGUFName.rmsNormEpsilon)) ?? 1e-5
        try check(epsilon.isFinite && Float(epsilon) > 0 && epsilon < 1, key(LlamaGGUFName.rmsNormEpsilon), epsilon,
                  "it must be a number in (0, 1)")
        let scaling = try ropeScaling(key: key, contextLength: contextLength)
        try checkFrequencyFactors(count: ropeDimensions / 2)

        return LlamaHyperparameters(
            architecture: arch, vocabularySize: embeddingRows, contextLength: contextLength, dModel: dModel,
            ffnDim: ffnDim, nLayers: nLayers, nHeads: nHeads, nKVHeads: nKVHeads, headDim: headDim,
            ropeDimensions: ropeDimensions, ropeFreqBase: Float(freqBase), ropeScaling: scaling,
            rmsNormEpsilon: Float(epsilon), tiedOutput: file.tensor(named: LlamaGGUFName.output) == nil)
    }

    /// `rope.scaling.*`: the type, and the numbers that type uses.
    func ropeScaling(key: (String) -> String, contextLength: Int) throws -> RopeScaling {
        let type = try file.optional(key("rope.scaling.type"), file.string) ?? "none"
        func factor(_ name: String, _ fallback: Double, atLeast minimum: Double, exclusive: Bool = false) throws -> Float {
            let value = try number(key(name)) ?? fallback
            let ok = value.isFinite && (exclusive ? value > minimum : value >= minimum) && value <= 1e6
            try check(ok, key(name), value, "it must be a finite number \(exclusive ? "above" : "from") \(minimum) up to 1e6")
            return Float(value)
        }
        func original() throws -> Int {
            let value = try int(key("rope.scaling.original_context_length")) ?? contextLength
            try check(value, key("rope.scaling.original_context_length"), within: 1...LlamaLimits.maxContextLength)
            return value
        }
        switch type {
        case "none": return .none
        case "linear":
            let f = try factor("rope.scaling.factor", 1, atLeast: 1)
            return f == 1 ? .none : .linear(factor: f)
        case "yarn":
            return .yarn(factor: try factor("rope.scaling.factor", 1, atLeast: 1), originalContextLength: try original(),
                         attentionFactor: try factor("rope.scaling.attn_factor", 1, atLeast: 0, exclusive: true))
        case "llama3":
            let f = try factor("rope.scaling.factor", 1, atLeast: 1)
            let low = try factor("rope.scaling.low_freq_factor", 1, atLeast: 0, exclusive: true)
            let high = try factor("rope.scaling.high_freq_factor", 4, atLeast: 0, exclusive: true)
            try check(high > low, key("rope.scaling.high_freq_factor"), high,
                      "it must exceed rope.scaling.low_freq_factor (\(low))")
            return .llama3(factor: f, lowFreqFactor: low, highFreqFactor: high, originalContextLength: try original())
        default: throw LlamaError.unsupportedRopeScaling(type)
        }
    }

    /// `rope_freqs.weight` (Llama 3's stored scaling) divides the RoPE frequencies: one finite,
    /// positive factor per rotated pair.
    func checkFrequencyFactors(count: Int) throws {
        guard let t = file.tensor(named: "rope_freqs.weight") else { return }
        guard t.info.elementCount == count else {
            throw LlamaError.tensorShape(name: "rope_freqs.weight", expected: [count], found: t.info.dims)
        }
        if let bad = t.dequantized().firstIndex(where: { !($0.isFinite && $0 > 0) }) {
            throw LlamaError.invalidHyperparameter(key: "rope_freqs.weight", value: "\(t.dequantized()[bad]) at \(bad)",
                                                   limit: "frequency factors must be finite and positive")
        }
    }

    /// Blocks the tensor table holds: one more than the largest N of a `blk.N.` name.
    static func blockCount(_ file: GGUFFile) -> Int {
        var count = 0
        for info in file.tensorInfos where info.name.hasPrefix("blk.") {
            let digits = info.name.dropFirst(4).prefix { $0 != "." }
            if let n = Int(digits), n >= 0, n < Int.max { count = Swift.max(count, n + 1) }
        }
        return count
    }

    // MARK: - Typed reads and checks

    /// An integer at `key`, nil when absent; a non-integer is a type error, and a u64 beyond
    /// `Int` is reported with its value rather than silently wrapped.
    func int(_ key: String) throws -> Int? {
        guard let value = file.metadata[key] else { return nil }
        if case .uint64(let v) = value, v > UInt64(Int.max) {
            throw LlamaError.invalidHyperparameter(key: key, value: "\(v)", limit: "it does not fit a 64-bit signed integer")
        }
        guard let i = value.intValue else { throw GGUFError.wrongValueType(key: key, expected: "integer", found: value.type) }
        return i
    }

    func required(_ key: String) throws -> Int {
        guard let value = try int(key) else { throw GGUFError.missingKey(key) }
        return value
    }

    /// A number at `key` (float or integer), nil when absent.
    func number(_ key: String) throws -> Double? {
        guard let value = file.metadata[key] else { return nil }
        guard let d = value.doubleValue else { throw GGUFError.wrongValueType(key: key, expected: "number", found: value.type) }
        return d
    }

    func check(_ ok: Bool, _ key: String, _ value: Any, _ limit: @autoclosure () -> String) throws {
        guard ok else { throw LlamaError.invalidHyperparameter(key: key, value: "\(value)", limit: limit()) }
    }

    func check(_ value: Int, _ key: String, within range: ClosedRange<Int>, limit: String? = nil) throws {
        if value < range.lowerBound {
            throw LlamaError.invalidHyperparameter(key: key, value: "\(value)", limit: limit ?? "it must be at least \(range.lowerBound)")
        }
        if value > range.upperBound {
            throw LlamaError.invalidHyperparameter(key: key, value: "\(value)", limit: limit ?? "it exceeds \(range.upperBound)")
        }
    }
}
