// A Llama-family decoder's configuration read from GGUF metadata (Llama 2/3, SmolLM2, Qwen2,
// Mistral), its typed errors, and rotary position embeddings: the per-dimension frequencies for
// plain, linear, Llama-3 and YaRN scaling, applied in llama.cpp's normal or NeoX pair ordering.
import Foundation

/// Why a Llama-family model could not be loaded or run.
public enum LlamaError: Error, Equatable, CustomStringConvertible {
    case unsupportedArchitecture(String)
    case unsupportedRopeScaling(String)
    case tensorShape(name: String, expected: [Int], found: [Int])
    case tokenOutOfRange(id: Int, vocabularySize: Int)
    case contextFull(capacity: Int, needed: Int)
    case emptyInput
    case adapterMismatch(String)
    /// A hyperparameter outside its limit: `key` is what the file calls it, `limit` what it broke.
    case invalidHyperparameter(key: String, value: String, limit: String)
    /// Input the model cannot take, with what is wrong (e.g. an example with an empty prompt).
    case invalidInput(String)

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let a):
            return "architecture '\(a)' is not a supported Llama-family decoder (supported: \(LlamaConfig.supportedArchitectures.sorted().joined(separator: ", ")))"
        case .unsupportedRopeScaling(let s):
            return "RoPE scaling '\(s)' is not supported (supported: none, linear, llama3, yarn)"
        case let .tensorShape(name, expected, found):
            return "tensor '\(name)' has shape \(found), expected \(expected) from the model's metadata"
        case let .tokenOutOfRange(id, vocab):
            return "token id \(id) is outside the vocabulary (0..<\(vocab))"
        case let .contextFull(capacity, needed):
            return "the KV cache holds \(capacity) positions but \(needed) are needed; make a larger cache"
        case .emptyInput:
            return "no input tokens"
        case .adapterMismatch(let why):
            return "LoRA adapter does not fit the model: \(why)"
        case let .invalidHyperparameter(key, value, limit):
            return "\(key) is \(value); \(limit)"
        case .invalidInput(let why):
            return "invalid input: \(why)"
        }
    }
}

/// How RoPE positions are stretched beyond the training context.
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Positions divided by `factor` (Llama 2 long-context fine-tunes).
    case linear(factor: Float)
    /// Llama 3.1's `rope_scaling`: low frequencies divided by `factor`, high ones kept, a smooth
    /// ramp between `originalContextLength / lowFreqFactor` and `/ highFreqFactor` wavelengths.
    case llama3(factor: Float, lowFreqFactor: Float, highFreqFactor: Float, originalContextLength: Int)
    /// YaRN (llama.cpp's `rope_yarn`, beta_fast 32, beta_slow 1, extrapolation factor 1).
    case yarn(factor: Float, originalContextLength: Int, attentionFactor: Float)
}

/// Everything the decoder's shape and numerics need.
public struct LlamaConfig: Sendable, Equatable {
    /// Architectures this decoder runs (GGUF `general.architecture`).
    public static let supportedArchitectures: Set<String> = ["llama", "mistral", "qwen2"]

    /// GGUF `general.architecture` ("llama", "mistral", "qwen2").
    public var architecture: String
    /// Tokens in the vocabulary (rows of the embedding and the head).
    public var vocabularySize: Int
    /// The training context length (the default KV cache size).
    public var contextLength: Int
    /// Width of the residual stream.
    public var dModel: Int
    /// Hidden width of the SwiGLU feed-forward.
    public var ffnDim: Int
    /// Decoder blocks.
    public var nLayers: Int
    /// Query heads.
    public var nHeads: Int
    /// Key/value heads (fewer than `nHeads` with grouped-query attention).
    public var nKVHeads: Int
    /// Width of one head (`attention.key_length`, else `dModel / nHeads`).
    public var headDim: Int
    /// Leading dimensions of each head that RoPE rotates (usually `headDim`).
    public var ropeDimensions: Int
    /// RoPE base θ (`rope.freq_base`).
    public var ropeFreqBase: Float
    /// How RoPE positions are stretched (`rope.scaling.*`).
    public var ropeScaling: RopeScaling
    /// NeoX ordering rotates pairs `(i, i + d/2)` (Qwen2); normal ordering `(2i, 2i+1)` (Llama,
    /// whose GGUF conversion permutes Q and K rows to match).
    public var ropeNeoX: Bool
    /// RMSNorm epsilon.
    public var rmsNormEpsilon: Float
    /// Q, K and V projections carry biases (Qwen2).
    public var attentionBias: Bool
    /// The output head reuses the token embedding.
    public var tiedOutput: Bool

    /// A configuration from explicit values (tests, models built in code).
    public init(architecture: String = "llama", vocabularySize: Int, contextLength: Int = 2048, dModel: Int,
                ffnDim: Int, nLayers: Int, nHeads: Int, nKVHeads: Int, ropeFreqBase: Float = 10_000,
                ropeScaling: RopeScaling = .none, rmsNormEpsilon: Float = 1e-5, attentionBias: Bool = false,
                tiedOutput: Bool = true) {
        self.architecture = architecture
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.dModel = dModel
        self.ffnDim = ffnDim
        self.nLayers = nLayers
        self.nHeads = nHeads
        self.nKVHeads = nKVHeads
        self.headDim = dModel / nHeads
        self.ropeDimensions = dModel / nHeads
        self.ropeFreqBase = ropeFreqBase
        self.ropeScaling = ropeScaling
        self.ropeNeoX = architecture == "qwen2"
        self.rmsNormEpsilon = rmsNormEpsilon
        self.attentionBias = attentionBias
        self.tiedOutput = tiedOutput
    }

    /// Reads the configuration from GGUF metadata (keys in `LlamaGGUFName`), every value
    /// validated against its limits and the file's tensors before anything is allocated.
    /// - Throws: `LlamaError.unsupportedArchitecture`, `.unsupportedRopeScaling`,
    ///   `.invalidHyperparameter`, or `GGUFError` naming a missing key or tensor.
    public init(gguf file: GGUFFile) throws {
        let architecture = try file.string("general.architecture")
        guard Self.supportedArchitectures.contains(architecture) else {
            throw LlamaError.unsupportedArchitecture(architecture)
        }
        let hp = try LlamaHyperparameters(gguf: file)
        self.init(architecture: hp.architecture, vocabularySize: hp.vocabularySize, contextLength: hp.contextLength,
                  dModel: hp.dModel, ffnDim: hp.ffnDim, nLayers: hp.nLayers, nHeads: hp.nHeads,
                  nKVHeads: hp.nKVHeads, ropeFreqBase: hp.ropeFreqBase, ropeScaling: hp.ropeScaling,
                  rmsNormEpsilon: hp.rmsNormEpsilon,
                  attentionBias: file.tensor(named: "blk.0.attn_q.bias") != nil, tiedOutput: hp.tiedOutput)
        headDim = hp.headDim
        ropeDimensions = hp.ropeDimensions
    }

    /// Query heads per key/value head.
    public var kvGroups: Int { nHeads / nKVHeads }
    /// Width of the key (and value) projection: `nKVHeads * headDim`.
    public var kvDim: Int { nKVHeads * headDim }
    /// Width of the query projection: `nHeads * headDim`.
    public var qDim: Int { nHeads * headDim }
}

/// Rotary embeddings: one inverse frequency per rotated pair, and a magnitude (YaRN only).
public struct Rope: Sendable {
    /// `ropeDimensions / 2` angular speeds; the angle of pair i at position p is `p * frequencies[i]`.
    public let frequencies: [Float]
    /// Multiplies cos and sin (1 except for YaRN).
    public let magnitude: Float
    /// Rotated dimensions per head.
    public let dimensions: Int
    /// Pair ordering: `(i, i + d/2)` when true, `(2i, 2i+1)` otherwise.
    public let neoX: Bool

    /// Frequencies for `config`; `frequencyFactors` (GGUF `rope_freqs.weight`, Llama 3's
    /// conversion stores its scaling this way) divide them when given.
    public init(config: LlamaConfig, frequencyFactors: [Float]? = nil) {
        let d = config.ropeDimensions, half = d / 2
        dimensions = d
        neoX = config.ropeNeoX
        var freqs = (0..<half).map { i in Float(Foundation.pow(Double(config.ropeFreqBase), -2 * Double(i) / Double(d))) }
        var scale: Float = 1
        switch config.ropeScaling {
        case .none: break
        case .linear(let factor): freqs = freqs.map { $0 / factor }
        case let .llama3(factor, low, high, original):
            let lowWavelength = Float(original) / low, highWavelength = Float(original) / high
            freqs = freqs.map { f in
                let wavelength = 2 * Float.pi / f
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return f / factor }
                let smooth = (Float(original) / wavelength - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
        case let .yarn(factor, original, attentionFactor):
            // llama.cpp: theta = theta_interp * (1 - mix) + theta_extrap * mix, with
            // theta_interp = theta_extrap / factor and mix a ramp over the correction dimensions.
            func correctionDim(_ rotations: Double) -> Double {
                Double(d) * Foundation.log(Double(original) / (rotations * 2 * Double.pi)) / (2 * Foundation.log(Double(config.ropeFreqBase)))
            }
            let low = Swift.max(0, Foundation.floor(correctionDim(32))), highDim = Swift.min(Double(d - 1), Foundation.ceil(correctionDim(1)))
            freqs = freqs.enumerated().map { i, f in
                let y = (Double(i) - low) / Swift.max(0.001, highDim - low)
                let mix = Float(1 - Swift.min(1, Swift.max(0, y)))
                return f / factor * (1 - mix) + f * mix
            }
            scale = attentionFactor * (1 + 0.1 * Foundation.log(factor))
        }
        if let factors = frequencyFactors, factors.count == half {
            freqs = zip(freqs, factors).map { $0 / $1 }
        }
        frequencies = freqs
        magnitude = scale
    }

    /// cos and sin tables for `positions`, each `(positions.count, dimensions / 2)`.
    public func tables(_ positions: Range<Int>) -> (cos: [Float], sin: [Float]) {
        let half = dimensions / 2
        var c = [Float](repeating: 0, count: positions.count * half), s = c
        for (row, p) in positions.enumerated() {
            for i in 0..<half {
                let angle = Float(p) * frequencies[i]
                c[row * half + i] = Foundation.cos(angle) * magnitude
                s[row * half + i] = Foundation.sin(angle) * magnitude
            }
        }
        return (c, s)
    }

    /// Rotates `heads` consecutive heads of `headDim` floats at `x` in place, with one row of
    /// the tables (`cos`, `sin` point at `dimensions / 2` values).
    @inline(__always)
    func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int,
               cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let half = dimensions / 2
        for h in 0..<heads {
            let v = x + h * headDim
            if neoX {
                for i in 0..<half {
                    let a = v[i], b = v[i + half]
                    v[i] = a * cos[i] - b * sin[i]
                    v[i + half] = a * sin[i] + b * cos[i]
                }
            } else {
                for i in 0..<half {
                    let a = v[2 * i], b = v[2 * i + 1]
                    v[2 * i] = a * cos[i] - b * sin[i]
                    v[2 * i + 1] = a * sin[i] + b * cos[i]
                }
            }
        }
    }
}
