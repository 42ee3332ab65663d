// Prompt-processing and generation speed of the Llama decoder, measured the way
// bench/llama_generate.py measures llama.cpp: a prompt of N tokens in one batch, then M greedy
// tokens one at a time through the KV cache. `stepwise bench llama` and a gated XCTest call it.
import Foundation

/// Speed measurements of `LlamaModel`.
public enum LlamaBench {
    /// One measurement at one thread count.
    public struct Result: Sendable, Codable {
        public var threads: Int
        public var promptTokens: Int
        public var generatedTokens: Int
        /// Prompt tokens per second (the whole prompt in one forward call).
        public var promptTokensPerSecond: Double
        /// Generated tokens per second (one forward call per token, greedy).
        public var generatedTokensPerSecond: Double
    }

    /// Measures `model` at each thread count, best of `rounds` (the machine is shared; noise
    /// only slows a run down).
    /// - Parameters:
    ///   - promptTokens: prompt length; the prompt is `text`'s tokens repeated to this length.
    ///   - generatedTokens: greedy tokens after the prompt.
    public static func run(model: LlamaModel, promptTokens: Int = 512, generatedTokens: Int = 128,
                           threads: [Int] = [1, 2], rounds: Int = 2,
                           text: String = "The quick brown fox jumps over the lazy dog. ") throws -> [Result] {
        let base = model.tokenizer.encode(text, parseSpecial: false)
        guard !base.isEmpty else { throw LlamaError.emptyInput }
        let prompt = (0..<promptTokens).map { base[$0 % base.count] }
        let saved = model.threads
        defer { model.threads = saved }
        var results: [Result] = []
        for t in threads {
            model.threads = t
            var bestPrompt = Double.infinity, bestGenerate = Double.infinity
            for _ in 0..<max(rounds, 1) {
                let cache = model.makeCache(capacity: promptTokens + generatedTokens)
                let start = DispatchTime.now().uptimeNanoseconds
                var logits = try model.forward(prompt, cache: cache)
                let mid = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<generatedTokens {
                    logits = try model.forward([Sampler.argmax(logits)], cache: cache)
                }
                let end = DispatchTime.now().uptimeNanoseconds
                bestPrompt = min(bestPrompt, Double(mid - start) / 1e9)
                bestGenerate = min(bestGenerate, Double(end - mid) / 1e9)
            }
            results.append(Result(threads: t, promptTokens: promptTokens, generatedTokens: generatedTokens,
                                  promptTokensPerSecond: Double(promptTokens) / bestPrompt,
                                  generatedTokensPerSecond: Double(generatedTokens) / bestGenerate))
        }
        return results
    }

    /// The results as one JSON line.
    public static func json(_ results: [Result]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(results)).flatMap { String(data: $0, encoding: .utf8) } ?? "[]"
    }
}
