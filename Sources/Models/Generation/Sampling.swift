// Choosing the next token from logits: greedy, or temperature / top-k / top-p sampling from a
// seeded `RNG`, plus the parameters, result and cancellation flag a generation run uses.
import Foundation
import Tensor

/// How to generate: limits, sampling and stop conditions.
public struct GenerationParameters: Sendable {
    /// At most this many new tokens.
    public var maxTokens: Int
    /// 0 (or less) is greedy; otherwise logits are divided by it before sampling.
    public var temperature: Float
    /// Keep only the `topK` most likely tokens (0 keeps all).
    public var topK: Int
    /// Keep the smallest set of tokens whose probability reaches `topP` (1 keeps all).
    public var topP: Float
    /// Seeds the sampling stream; the same seed gives the same tokens.
    public var seed: UInt64
    /// Generation ends when the decoded text contains one of these; the stop text is cut.
    public var stop: [String]
    /// Stop at the tokenizer's end-of-sequence token (and the template's end-of-turn token).
    public var stopAtEndOfSequence: Bool

    public init(maxTokens: Int = 128, temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0,
                stop: [String] = [], stopAtEndOfSequence: Bool = true) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.stop = stop
        self.stopAtEndOfSequence = stopAtEndOfSequence
    }
}

/// Why generation ended.
public enum FinishReason: String, Sendable {
    case endOfSequence, stopString, length, cancelled
}

/// What a generation run produced.
public struct GenerationResult: Sendable {
    /// The generated text, stop string and end token excluded.
    public var text: String
    /// Every generated token id, including a final end-of-sequence id.
    public var tokens: [Int]
    public var finishReason: FinishReason
    /// Tokens in the prompt.
    public var promptTokenCount: Int
    /// Seconds spent on the prompt and on generating.
    public var promptSeconds: Double
    public var generationSeconds: Double
}

/// Picks token ids from logits.
public struct Sampler {
    /// As in `GenerationParameters`: 0 is greedy; top-k 0 and top-p 1 keep every token.
    public let temperature: Float, topK: Int, topP: Float
    private var rng: RNG

    /// A sampler whose draws are fixed by `seed`.
    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        rng = RNG(seed: seed)
    }

    /// The index of the largest logit (the first on ties).
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best
    }

    /// The next token: greedy at temperature 0, else a draw from the filtered distribution.
    public mutating func sample(_ logits: [Float]) -> Int {
        guard temperature > 0, !logits.isEmpty else { return Self.argmax(logits) }
        // Candidates sorted by logit, cut by top-k.
        var order = Array(logits.indices)
        if topK > 0 && topK < logits.count {
            order = Array(order.sorted { logits[$0] > logits[$1] }.prefix(topK))
        } else {
            order.sort { logits[$0] > logits[$1] }
        }
        let maxLogit = logits[order[0]]
        var probs = order.map { Foundation.exp((logits[$0] - maxLogit) / temperature) }
        let total = probs.reduce(0, +)
        probs = probs.map { $0 / total }
        // Nucleus: the shortest prefix whose mass reaches topP.
        var keep = probs.count
        if topP < 1 {
            var mass: Float = 0
            for (i, p) in probs.enumerated() {
                mass += p
                if mass >= topP { keep = i + 1; break }
            }
        }
        let kept = probs.prefix(keep), keptMass = kept.reduce(0, +)
        let u = rng.nextFloat() * keptMass
        var acc: Float = 0
        for (i, p) in kept.enumerated() {
            acc += p
            if u < acc { return order[i] }
        }
        return order[keep - 1]
    }
}
