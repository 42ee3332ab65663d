// Generation: sampling from a seed, stop strings cut from the text, streaming pieces that never
// split a multi-byte character, cancellation, the token limit, and the chat templates.
import Foundation
import Models
import Tensor
import XCTest

final class GenerationTests: XCTestCase {
    func testSamplerIsGreedyAtZeroTemperatureAndSeeded() {
        let logits: [Float] = [0.1, 2.0, 1.9, -1, 0.5]
        var greedy = Sampler()
        XCTAssertEqual(greedy.sample(logits), 1)
        var topOne = Sampler(temperature: 1, topK: 1, seed: 3)
        XCTAssertEqual((0..<20).map { _ in topOne.sample(logits) }, Array(repeating: 1, count: 20))
        var a = Sampler(temperature: 1, seed: 7), b = Sampler(temperature: 1, seed: 7)
        let drawsA = (0..<50).map { _ in a.sample(logits) }, drawsB = (0..<50).map { _ in b.sample(logits) }
        XCTAssertEqual(drawsA, drawsB)
        XCTAssertEqual(Set(drawsA).isSubset(of: Set(0..<5)), true)
        XCTAssertGreaterThan(Set(drawsA).count, 1, "temperature 1 should not always pick the same token")
        // top-p 0.5 keeps only tokens 1 and 2 (their mass is ~0.6 after token 1's ~0.35).
        var nucleus = Sampler(temperature: 1, topP: 0.5, seed: 1)
        XCTAssertTrue((0..<50).allSatisfy { _ in [1, 2].contains(nucleus.sample(logits)) })
    }

    func testTextStreamHoldsBackSplitCharactersAndStopPrefixes() throws {
        guard let file = RealModel.require() else { return }
        let tokenizer = try makeTokenizer(gguf: file)
        let text = "Café 😀 naïve 日本語 done. STOP after"
        let ids = tokenizer.encode(text, parseSpecial: false)
        // Without stops the pieces rebuild the text and none holds a replacement character.
        var stream = TextStream(tokenizer: tokenizer, stops: [])
        var pieces = ids.compactMap { stream.append($0) }
        if let rest = stream.finish() { pieces.append(rest) }
        XCTAssertEqual(pieces.joined(), text)
        XCTAssertFalse(pieces.contains { $0.contains("\u{FFFD}") })
        XCTAssertTrue(ids.count > pieces.count, "some emoji/CJK tokens should be partial characters")
        // With a stop string the text is cut before it and nothing of it is ever streamed.
        var stopping = TextStream(tokenizer: tokenizer, stops: [" STOP"])
        var streamed = ""
        for id in ids {
            if let piece = stopping.append(id) { streamed += piece }
            if stopping.stopped { break }
        }
        XCTAssertTrue(stopping.stopped)
        XCTAssertEqual(stopping.text, "Café 😀 naïve 日本語 done.")
        XCTAssertEqual(streamed, stopping.text)
    }

    func testGenerationLimitsSeedsAndCancellation() throws {
        let model = try LlamaModel(gguf: LlamaTinyModel.file())
        let generator = LlamaGenerator(model: model)
        let prompt = [3, 14, 15, 9]
        let sampled = GenerationParameters(maxTokens: 12, temperature: 0.9, topK: 20, topP: 0.95, seed: 42, stopAtEndOfSequence: false)
        let first = try generator.generate(promptTokens: prompt, parameters: sampled)
        let second = try generator.generate(promptTokens: prompt, parameters: sampled)
        XCTAssertEqual(first.tokens, second.tokens, "same seed, same tokens")
        XCTAssertEqual(first.tokens.count, 12)
        XCTAssertEqual(first.finishReason, .length)

        let cancel = CancellationFlag()
        var pieces = 0
        let stopped = try generator.generate(promptTokens: prompt, parameters: GenerationParameters(maxTokens: 30, stopAtEndOfSequence: false),
                                             cancel: cancel) { _ in
            pieces += 1
            if pieces == 3 { cancel.cancel() }
        }
        XCTAssertEqual(stopped.finishReason, .cancelled)
        XCTAssertEqual(stopped.tokens.count, 3)

        // A stop string made of the greedy output's own text ends the run there.
        let greedy = try generator.generate(promptTokens: prompt, parameters: GenerationParameters(maxTokens: 8, stopAtEndOfSequence: false))
        let stop = String(greedy.text.dropFirst(3).prefix(2))
        if stop.count == 2 {
            let cut = try generator.generate(promptTokens: prompt,
                                             parameters: GenerationParameters(maxTokens: 8, stop: [stop], stopAtEndOfSequence: false))
            XCTAssertEqual(cut.finishReason, .stopString)
            XCTAssertFalse(cut.text.contains(stop))
            XCTAssertTrue(greedy.text.hasPrefix(cut.text))
        }
        XCTAssertThrowsError(try generator.generate(promptTokens: []))
    }

    func testChunkedPrefillEqualsOnePassAndStopsWhenCancelled() throws {
        let model = try LlamaModel(gguf: LlamaTinyModel.file())
        let generator = LlamaGenerator(model: model)
        let prompt = (0..<40).map { ($0 * 7 + 3) % 47 }
        let parameters = GenerationParameters(maxTokens: 10, stopAtEndOfSequence: false)
        generator.prefillChunk = 1000
        let whole = try generator.generate(promptTokens: prompt, parameters: parameters)
        for chunk in [1, 7, 16] {
            generator.prefillChunk = chunk
            XCTAssertEqual(try generator.generate(promptTokens: prompt, parameters: parameters).tokens, whole.tokens, "chunk \(chunk)")
        }
        // The logits after a chunked prefill match one pass.
        let oneCache = model.makeCache(capacity: 64), chunkedCache = model.makeCache(capacity: 64)
        let one = try model.forward(prompt, cache: oneCache)
        var chunked: [Float] = []
        for start in stride(from: 0, to: prompt.count, by: 16) {
            chunked = try model.forward(Array(prompt[start..<min(prompt.count, start + 16)]), cache: chunkedCache)
        }
        XCTAssertEqual(one.count, chunked.count)
        XCTAssertLessThan(zip(one, chunked).map { abs($0 - $1) }.max() ?? 1, 1e-4)
        // A flag set before (or during) the prefill stops it before any token is generated.
        let cancel = CancellationFlag()
        cancel.cancel()
        generator.prefillChunk = 8
        let stopped = try generator.generate(promptTokens: prompt, parameters: parameters, cancel: cancel)
        XCTAssertEqual(stopped.finishReason, .cancelled)
        XCTAssertEqual(stopped.tokens, [])
    }

    func testSmolLM2ChatAnswersAndStopsAtEndOfTurn() throws {
        guard let file = RealModel.require() else { return }
        let generator = LlamaGenerator(model: try LlamaModel(gguf: file))
        XCTAssertEqual(generator.template, .chatML(defaultSystem: ChatMLTemplate.smolLM2DefaultSystem))
        var streamed = ""
        let result = try generator.chat([ChatMessage(role: "user", content: "What is the capital of France?")],
                                        parameters: GenerationParameters(maxTokens: 40)) { streamed += $0 }
        XCTAssertTrue(result.text.contains("Paris"), result.text)
        XCTAssertEqual(streamed, result.text)
        XCTAssertEqual(result.finishReason, .endOfSequence)
    }

    func testChatTemplatesRenderEachFamily() {
        let messages = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi"),
                        ChatMessage(role: "assistant", content: "Hello."), ChatMessage(role: "user", content: "2+2?")]
        XCTAssertEqual(ChatTemplate.llama3.render(messages),
                       "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                       + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                       + "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(ChatTemplate.llama2.render(messages),
                       "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] 2+2? [/INST]")
        XCTAssertEqual(ChatTemplate.mistral.render(messages), "<s>[INST] Be brief.\n\nHi [/INST]Hello.</s>[INST] 2+2? [/INST]")
        XCTAssertEqual(ChatTemplate.chatML(defaultSystem: nil).render(Array(messages.suffix(1))),
                       "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(ChatTemplate.detect(jinja: "{{ '<|start_header_id|>' }}"), .llama3)
        XCTAssertEqual(ChatTemplate.detect(jinja: "[INST] <<SYS>>"), .llama2)
        XCTAssertEqual(ChatTemplate.detect(jinja: "{{ '[INST] ' + m }}"), .mistral)
        XCTAssertEqual(ChatTemplate.detect(jinja: "<|im_start|>You are a helpful assistant."), .chatML(defaultSystem: "You are a helpful assistant."))
        XCTAssertEqual(ChatTemplate.llama3.endOfTurnTokens, ["<|eot_id|>", "<|end_of_text|>"])
    }

    func testRopeScalingFrequencies() {
        var config = LlamaConfig(vocabularySize: 8, dModel: 64, ffnDim: 8, nLayers: 1, nHeads: 1, nKVHeads: 1, ropeFreqBase: 500_000)
        let plain = Rope(config: config).frequencies
        XCTAssertEqual(plain[0], 1)
        XCTAssertEqual(plain[1], Float(pow(500_000.0, -2.0 / 64)), accuracy: 1e-7)
        config.ropeScaling = .linear(factor: 4)
        XCTAssertEqual(Rope(config: config).frequencies[5], plain[5] / 4, accuracy: 1e-9)
        // Llama 3.1's values: high frequencies kept, low ones divided by the factor.
        config.ropeScaling = .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192)
        let scaled = Rope(config: config).frequencies
        XCTAssertEqual(scaled[0], plain[0])
        XCTAssertEqual(scaled[31], plain[31] / 8, accuracy: 1e-12)
        XCTAssertTrue(zip(scaled, plain).allSatisfy { $0 <= $1 && $0 >= $1 / 8 * 0.999 })
        config.ropeNeoX = true
        XCTAssertTrue(Rope(config: config).neoX)
    }
}
