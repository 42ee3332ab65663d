// Chat templates rendered in Swift rather than by a Jinja engine. SmolLM2 uses ChatML:
// `<|im_start|>role\ncontent<|im_end|>\n` per message, with a default system message first.
import Foundation

/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable {
    /// "system", "user" or "assistant".
    public var role: String
    /// The message text.
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// ChatML as SmolLM2-Instruct's `tokenizer.chat_template` renders it.
public enum ChatMLTemplate {
    /// The system message SmolLM2's template inserts when the conversation has none.
    public static let smolLM2DefaultSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    /// Renders messages as ChatML.
    /// - Parameters:
    ///   - messages: the conversation; if its first message is not a system message,
    ///     `defaultSystem` (when non-nil) is put before it, as SmolLM2's template does.
    ///   - addGenerationPrompt: end with `<|im_start|>assistant\n` so the model answers.
    public static func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true,
                              defaultSystem: String? = smolLM2DefaultSystem) -> String {
        var out = ""
        if let system = defaultSystem, let first = messages.first, first.role != "system" {
            out += "<|im_start|>system\n\(system)<|im_end|>\n"
        }
        for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
        if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }
}
