// Chat formats of the Llama families, rendered in Swift: ChatML (SmolLM2, Qwen2), Llama 2's
// `[INST]` with `<<SYS>>`, Llama 3's header tokens and Mistral's `[INST]`. The format is chosen
// from the GGUF's Jinja `tokenizer.chat_template` by its marker tokens.
import Foundation

/// A chat format: how messages become the prompt text (special tokens written as text).
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n`; `defaultSystem` is inserted when the
    /// conversation has no system message (SmolLM2 and Qwen2 templates do this).
    case chatML(defaultSystem: String?)
    /// `<s>[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] assistant </s>`.
    case llama2
    /// `<|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>`.
    case llama3
    /// `<s>[INST] user [/INST]assistant</s>`; a system message is put before the first user turn.
    case mistral

    /// The format `file`'s `tokenizer.chat_template` uses; ChatML when it has none.
    public static func detect(gguf file: GGUFFile) -> ChatTemplate {
        detect(jinja: (try? file.string("tokenizer.chat_template")) ?? "")
    }

    /// The format a Jinja chat template implements, recognised by its marker tokens.
    public static func detect(jinja: String) -> ChatTemplate {
        if jinja.contains("<|start_header_id|>") { return .llama3 }
        if jinja.contains("<<SYS>>") { return .llama2 }
        if jinja.contains("[INST]") { return .mistral }
        if jinja.contains(ChatMLTemplate.smolLM2DefaultSystem) { return .chatML(defaultSystem: ChatMLTemplate.smolLM2DefaultSystem) }
        let qwenSystem = "You are a helpful assistant."
        if jinja.contains("<|im_start|>") && jinja.contains(qwenSystem) { return .chatML(defaultSystem: qwenSystem) }
        return .chatML(defaultSystem: nil)
    }

    /// Special tokens that end an assistant turn in this format.
    public var endOfTurnTokens: [String] {
        switch self {
        case .chatML: return ["<|im_end|>"]
        case .llama2, .mistral: return ["</s>"]
        case .llama3: return ["<|eot_id|>", "<|end_of_text|>"]
        }
    }

    /// Renders `messages`; with `addGenerationPrompt` the text ends where the assistant's reply begins.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        switch self {
        case .chatML(let system):
            return ChatMLTemplate.render(messages, addGenerationPrompt: addGenerationPrompt, defaultSystem: system)
        case .llama3:
            var out = "<|begin_of_text|>"
            for m in messages {
                out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(m.content.trimmingCharacters(in: .whitespacesAndNewlines))<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
            return out
        case .llama2, .mistral:
            return renderInstruct(messages, llama2: self == .llama2)
        }
    }

    /// Llama 2 and Mistral: user turns in `[INST] … [/INST]`, assistant turns closed by `</s>`.
    private func renderInstruct(_ messages: [ChatMessage], llama2: Bool) -> String {
        var system: String?
        var turns = messages
        if let first = turns.first, first.role == "system" {
            system = first.content
            turns.removeFirst()
        }
        var out = ""
        var firstUser = true
        for m in turns {
            if m.role == "user" {
                var content = m.content.trimmingCharacters(in: .whitespacesAndNewlines)
                if firstUser, let system {
                    content = llama2 ? "<<SYS>>\n\(system)\n<</SYS>>\n\n\(content)" : "\(system)\n\n\(content)"
                }
                // Llama 2 opens every exchange with BOS; Mistral only the conversation.
                if llama2 || firstUser { out += "<s>" }
                out += "[INST] \(content) [/INST]"
                firstUser = false
            } else {
                let content = m.content.trimmingCharacters(in: .whitespacesAndNewlines)
                out += llama2 ? " \(content) </s>" : "\(content)</s>"
            }
        }
        return out
    }
}
