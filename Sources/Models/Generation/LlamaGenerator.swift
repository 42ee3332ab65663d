// The generation loop for a Llama-family model: prompt through the KV cache in chunks, then
// one token at a time with a `Sampler`, stopping at end-of-sequence, a stop string (cut from the
// text), the token limit or a cancellation flag, and streaming text pieces that never split a
// multi-byte character or show text that a stop string may still swallow.
import Foundation
import Tensor

/// Generates text from a `LlamaModel`.
public final class LlamaGenerator {
    /// The model generated from.
    public let model: LlamaModel
    /// The chat format for `chat(_:)`; detected from the GGUF's `tokenizer.chat_template`.
    public var template: ChatTemplate
    /// Token ids that end generation besides the tokenizer's EOS (the template's end of turn).
    public var endTokenIDs: Set<Int>
    /// Prompt tokens per prefill step: large enough for the matrix products to run at full speed,
    /// small enough that a step takes a fraction of a second on a laptop core, so an interrupt
    /// is seen between steps.
    public var prefillChunk = 128

    /// A generator for `model`, with its chat template and end tokens.
    public init(model: LlamaModel) {
        self.model = model
        template = ChatTemplate.detect(gguf: model.file)
        var ends = Set<Int>()
        if let eos = model.tokenizer.eosTokenID { ends.insert(eos) }
        for text in template.endOfTurnTokens {
            let ids = model.tokenizer.encode(text, parseSpecial: true)
            if ids.count == 1, let id = ids.first { ends.insert(id) }
        }
        endTokenIDs = ends
    }

    /// Renders `messages` with the model's chat template and generates the assistant's reply.
    /// - Parameters:
    ///   - messages: the conversation so far.
    ///   - onText: called with each new piece of text as it becomes final.
    public func chat(_ messages: [ChatMessage], parameters: GenerationParameters = GenerationParameters(),
                     cancel: CancellationFlag? = nil, onText: ((String) -> Void)? = nil) throws -> GenerationResult {
        try generate(prompt: template.render(messages), parameters: parameters, cancel: cancel, onText: onText)
    }

    /// Generates a continuation of `prompt` (special tokens such as `<|im_start|>` are parsed).
    /// BOS is put first when the GGUF asks for it (`tokenizer.ggml.add_bos_token`: Llama 2/3,
    /// Mistral) and the text does not already start with it.
    public func generate(prompt: String, parameters: GenerationParameters = GenerationParameters(),
                         cancel: CancellationFlag? = nil, onText: ((String) -> Void)? = nil) throws -> GenerationResult {
        var tokens = model.tokenizer.encode(prompt, parseSpecial: true)
        if (try? model.file.bool("tokenizer.ggml.add_bos_token")) == true, let bos = model.tokenizer.bosTokenID,
           tokens.first != bos {
            tokens.insert(bos, at: 0)
        }
        return try generate(promptTokens: tokens, parameters: parameters, cancel: cancel, onText: onText)
    }


    /// Generates a continuation of `promptTokens`.
    /// - Throws: `LlamaError` (empty prompt, a token outside the vocabulary, context too long).
    public func generate(promptTokens: [Int], parameters: GenerationParameters = GenerationParameters(),
                         cancel: CancellationFlag? = nil, onText: ((String) -> Void)? = nil) throws -> GenerationResult {
        let capacity = Swift.min(model.config.contextLength, promptTokens.count + Swift.max(parameters.maxTokens, 0))
        let cache = model.makeCache(capacity: Swift.max(capacity, 1))
        var sampler = Sampler(temperature: parameters.temperature, topK: parameters.topK, topP: parameters.topP,
                              seed: parameters.seed)
        var stream = TextStream(tokenizer: model.tokenizer, stops: parameters.stop)
        var tokens: [Int] = []
        var reason = FinishReason.length

        let promptStart = Date()
        // The prompt runs in chunks so that an interrupt is seen within a chunk's time (a 16-shot
        // prompt in one piece took 8 s to notice it); the cache makes the chunks one prefill.
        var logits: [Float] = []
        var start = 0
        repeat {
            if cancel?.isCancelled == true {
                return GenerationResult(text: "", tokens: [], finishReason: .cancelled, promptTokenCount: promptTokens.count,
                                        promptSeconds: Date().timeIntervalSince(promptStart), generationSeconds: 0)
            }
            let end = Swift.min(promptTokens.count, start + Swift.max(1, prefillChunk))
            logits = try model.forward(Array(promptTokens[start..<end]), cache: cache)
            start = end
        } while start < promptTokens.count
        let promptSeconds = Date().timeIntervalSince(promptStart)
        let generationStart = Date()
        while tokens.count < parameters.maxTokens {
            if cancel?.isCancelled == true { reason = .cancelled; break }
            let next = sampler.sample(logits)
            tokens.append(next)
            if parameters.stopAtEndOfSequence && endTokenIDs.contains(next) { reason = .endOfSequence; break }
            if let piece = stream.append(next) { onText?(piece) }
            if stream.stopped { reason = .stopString; break }
            if tokens.count == parameters.maxTokens || cache.count >= cache.capacity { break }
            logits = try model.forward([next], cache: cache)
        }
        if let rest = stream.finish() { onText?(rest) }
        return GenerationResult(text: stream.text, tokens: tokens, finishReason: reason,
                                promptTokenCount: promptTokens.count, promptSeconds: promptSeconds,
                                generationSeconds: Date().timeIntervalSince(generationStart))
    }
}

/// Turns a growing list of token ids into text pieces. A piece is released only when it is
/// final: not the start of an unfinished UTF-8 character (decoded as U+FFFD at the end) and not
/// a prefix of a stop string.
public struct TextStream {
    let tokenizer: any Tokenizer
    let stops: [String]
    private var ids: [Int] = []
    /// Unicode scalars of the decoded text released so far.
    private var released = 0
    /// Whether a stop string has appeared.
    public private(set) var stopped = false
    /// The text so far, cut before a stop string once one appeared.
    public private(set) var text = ""

    public init(tokenizer: any Tokenizer, stops: [String]) {
        self.tokenizer = tokenizer
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// Adds a token; returns the newly final text, if any.
    public mutating func append(_ id: Int) -> String? {
        guard !stopped else { return nil }
        ids.append(id)
        var full = tokenizer.decode(ids, skipSpecial: true)
        if let cut = earliestStop(in: full) {
            full = String(full[..<cut])
            stopped = true
            text = full
            return release(upTo: full.unicodeScalars.count, of: full)
        }
        text = full
        let scalars = Array(full.unicodeScalars)
        var end = scalars.count
        while end > released, scalars[end - 1] == "\u{FFFD}" { end -= 1 }
        end -= heldForStops(scalars[released..<end])
        return release(upTo: end, of: full)
    }

    /// Releases whatever is left (the run ended).
    public mutating func finish() -> String? {
        release(upTo: text.unicodeScalars.count, of: text)
    }

    private mutating func release(upTo end: Int, of full: String) -> String? {
        guard end > released else { return nil }
        let scalars = full.unicodeScalars
        let from = scalars.index(scalars.startIndex, offsetBy: released), to = scalars.index(scalars.startIndex, offsetBy: end)
        released = end
        return String(scalars[from..<to])
    }

    private func earliestStop(in full: String) -> String.Index? {
        stops.compactMap { full.range(of: $0)?.lowerBound }.min()
    }

    /// Length of the longest tail of `pending` that begins some stop string.
    private func heldForStops(_ pending: ArraySlice<Unicode.Scalar>) -> Int {
        var held = 0
        for stop in stops {
            let s = Array(stop.unicodeScalars)
            for length in stride(from: Swift.min(s.count - 1, pending.count), to: held, by: -1)
            where pending.suffix(length).elementsEqual(s.prefix(length)) {
                held = length
                break
            }
        }
        return held
    }
}
