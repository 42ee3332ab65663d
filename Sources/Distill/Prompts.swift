// Few-shot chain-of-thought prompts in each task's answer format, as plain text for completion
// teachers and as chat messages for chat teachers. `render` returns exactly what the teacher sees.
import Foundation

/// One worked example of a few-shot prompt: an input, its rationale and its label.
public struct Exemplar: Hashable, Sendable {
    /// The input, as the task formats it (CQA with its choices, NLI with Premise/Hypothesis lines).
    public var input: String
    /// The step-by-step reasoning.
    public var rationale: String
    /// The answer: an equation, a choice's text or a class name.
    public var label: String
    /// The answer choices, for multiple-choice tasks.
    public var choices: [String]

    /// Creates an exemplar a user writes by hand.
    /// - Parameters:
    ///   - input: The input text.
    ///   - rationale: The reasoning.
    ///   - label: The answer.
    ///   - choices: The answer choices, for multiple-choice tasks.
    public init(input: String, rationale: String, label: String, choices: [String] = []) {
        self.input = input
        self.rationale = rationale
        self.label = label
        self.choices = choices
    }

    /// An exemplar from an example and a rationale (the example's gold one unless given).
    /// - Parameters:
    ///   - example: The example.
    ///   - rationale: A rationale to use instead of the gold one, e.g. the teacher's.
    /// - Throws: `PromptError.noRationale` when there is none.
    public init(_ example: Example, rationale: String? = nil) throws {
        guard let text = rationale ?? example.rationale,
              !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw PromptError.noRationale(example.id)
        }
        self.init(input: example.input, rationale: text.trimmingCharacters(in: .whitespacesAndNewlines),
                  label: example.label, choices: example.choices)
    }
}

/// A role in a chat conversation.
public enum ChatRole: String, Hashable, Sendable {
    case system, user, assistant
}

/// One message of a chat prompt.
public struct ChatMessage: Hashable, Sendable {
    /// Who speaks.
    public var role: ChatRole
    /// What they say.
    public var content: String

    /// Creates a message.
    /// - Parameters:
    ///   - role: The speaker.
    ///   - content: The text.
    public init(role: ChatRole, content: String) {
        self.role = role
        self.content = content
    }
}

/// What can go wrong building a prompt.
public enum PromptError: Error, Equatable, CustomStringConvertible {
    case noRationale(ExampleID)
    case labelNotAChoice(label: String, choices: [String])
    case notEnoughExemplars(wanted: Int, available: Int)

    public var description: String {
        switch self {
        case .noRationale(let id):
            return "example \(id) has no rationale; pass one, or choose examples that have one"
        case .labelNotAChoice(let label, let choices):
            return "label \"\(label)\" is not one of the choices \(choices)"
        case .notEnoughExemplars(let wanted, let available):
            return "asked for \(wanted) shots but only \(available) examples have a rationale"
        }
    }
}

public extension AnswerFormat {
    /// The question part of a prompt, ending where the teacher starts writing.
    /// - Parameters:
    ///   - input: The example's input.
    func query(_ input: String) -> String {
        switch self {
        case .equation, .choice: return "Q: \(input)\nA:"
        case .soTheAnswerIs: return "\(input)\nAnswer:"
        case .answerLine: return "\(input)\nReasonings:"
        }
    }

    /// The teacher's side of a worked example: the rationale, then the answer in this format.
    /// - Parameters:
    ///   - rationale: The reasoning.
    ///   - label: The answer.
    ///   - choices: The answer choices, for `.choice`.
    /// - Throws: `PromptError.labelNotAChoice` for a CQA label outside the choices.
    func answer(rationale: String, label: String, choices: [String] = []) throws -> String {
        switch self {
        case .equation:
            return "\(rationale) The answer is \(AnswerFormat.parenthesised(Arithmetic.compact(label)))."
        case .choice:
            guard let index = choices.firstIndex(of: label) else {
                throw PromptError.labelNotAChoice(label: label, choices: choices)
            }
            return "\(rationale) So the answer is (\(choiceLetter(index))) \(label)."
        case .soTheAnswerIs:
            return "\(rationale) So the answer is \(label)."
        case .answerLine:
            return "\(rationale)\nAnswer: \(label)"
        }
    }

    /// The instruction a chat teacher gets as its system message.
    var chatInstruction: String {
        switch self {
        case .equation:
            return "Solve the math word problem step by step. End with \"The answer is (equation).\""
        case .choice:
            return "Answer the question step by step. End with \"So the answer is (letter) choice.\""
        case .soTheAnswerIs(let labels):
            return "Decide whether the premise entails the hypothesis. Reason step by step, then end with "
                + "\"So the answer is X.\" where X is one of: \(labels.joined(separator: ", "))."
        case .answerLine(let labels):
            return "Decide whether the premise entails the hypothesis. Explain, then write a last line "
                + "\"Answer: X\" where X is one of: \(labels.joined(separator: ", "))."
        }
    }

    /// An equation wrapped in one pair of parentheses that spans all of it.
    static func parenthesised(_ equation: String) -> String {
        var depth = 0
        for (offset, character) in equation.enumerated() {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if depth == 0 && offset < equation.count - 1 { return "(\(equation))" }
        }
        return equation.hasPrefix("(") ? equation : "(\(equation))"
    }
}

/// A few-shot chain-of-thought prompt.
public struct CoTPrompt: Hashable, Sendable {
    /// The task's answer format.
    public var format: AnswerFormat
    /// The worked examples, in order.
    public var exemplars: [Exemplar]
    /// Optional text before the exemplars (and the chat system message, when given).
    public var instruction: String?

    /// A prompt from exemplars a user writes.
    /// - Parameters:
    ///   - format: The task's answer format.
    ///   - exemplars: The worked examples.
    ///   - instruction: Optional text before them.
    /// - Throws: `PromptError.labelNotAChoice` when an exemplar cannot be written in the format.
    public init(format: AnswerFormat, exemplars: [Exemplar], instruction: String? = nil) throws {
        for exemplar in exemplars {
            _ = try format.answer(rationale: exemplar.rationale, label: exemplar.label, choices: exemplar.choices)
        }
        self.format = format
        self.exemplars = exemplars
        self.instruction = instruction
    }

    /// A prompt from training examples chosen by a seed among those with a rationale.
    /// - Parameters:
    ///   - examples: The pool, usually the training split.
    ///   - shots: How many exemplars.
    ///   - format: The task's answer format.
    ///   - seed: The seed of the choice.
    ///   - rationales: Rationales to use instead of the gold ones (e.g. the teacher's), by example id.
    /// - Throws: `PromptError.notEnoughExemplars` or `.labelNotAChoice`.
    public static func sampled(from examples: [Example], shots: Int, format: AnswerFormat, seed: UInt64,
                               rationales: [ExampleID: String] = [:]) throws -> CoTPrompt {
        let pool = examples.compactMap { try? Exemplar($0, rationale: rationales[$0.id]) }
        guard shots >= 0, shots <= pool.count else {
            throw PromptError.notEnoughExemplars(wanted: shots, available: pool.count)
        }
        var generator = SplitMix64(seed: seed)
        let chosen = generator.sampleIndices(shots, from: pool.count).map { pool[$0] }
        return try CoTPrompt(format: format, exemplars: chosen)
    }

    /// A prompt from a teacher's outputs that parsed and agree with the gold label.
    /// - Parameters:
    ///   - outputs: Teacher outputs on training examples.
    ///   - shots: How many exemplars.
    ///   - kind: How labels compare.
    ///   - format: The task's answer format.
    ///   - seed: The seed of the choice.
    /// - Throws: `PromptError.notEnoughExemplars` or `.labelNotAChoice`.
    public static func fromTeacher(_ outputs: [TeacherOutput], shots: Int, kind: LabelKind, format: AnswerFormat,
                                   seed: UInt64) throws -> CoTPrompt {
        let agreeing = outputs.filter { Metrics.isCorrect($0.label, gold: $0.example.label, kind: kind) }
        var rationales: [ExampleID: String] = [:]
        for output in agreeing { rationales[output.example.id] = output.rationale }
        return try sampled(from: agreeing.map(\.example), shots: shots, format: format, seed: seed,
                           rationales: rationales)
    }

    /// Exactly the text a completion teacher sees for an example.
    /// - Parameters:
    ///   - example: The example to ask about.
    public func render(_ example: Example) -> String {
        render(input: example.input)
    }

    /// Exactly the text a completion teacher sees for an input.
    /// - Parameters:
    ///   - input: The input, formatted as the task formats it.
    public func render(input: String) -> String {
        var blocks: [String] = []
        if let instruction { blocks.append(instruction) }
        for exemplar in exemplars {
            // Exemplars were checked in init, so `answer` cannot throw here.
            let answer = (try? format.answer(rationale: exemplar.rationale, label: exemplar.label,
                                             choices: exemplar.choices)) ?? exemplar.label
            blocks.append("\(format.query(exemplar.input)) \(answer)")
        }
        blocks.append(format.query(input))
        return blocks.joined(separator: "\n\n")
    }

    /// The prompt as chat messages: a system instruction, then one user/assistant pair per exemplar,
    /// then the example as the last user message.
    /// - Parameters:
    ///   - example: The example to ask about.
    public func chat(_ example: Example) -> [ChatMessage] {
        var messages = [ChatMessage(role: .system, content: instruction ?? format.chatInstruction)]
        for exemplar in exemplars {
            let answer = (try? format.answer(rationale: exemplar.rationale, label: exemplar.label,
                                             choices: exemplar.choices)) ?? exemplar.label
            messages.append(ChatMessage(role: .user, content: exemplar.input))
            messages.append(ChatMessage(role: .assistant, content: answer))
        }
        messages.append(ChatMessage(role: .user, content: example.input))
        return messages
    }
}
