// Task streams: what the trainer learns from. A stream is a named list of (source, target)
// texts made with one template, with its own loss weight and a cluster name (the family of tasks
// it belongs to, which FLAN holds out whole). Fine-tuning is one stream of gold labels,
// distillation one stream of teacher labels, distilling step-by-step two streams over the same
// inputs (label and rationale, weighted alpha and 1 - alpha), and an instruction-tuning mixture
// many streams, one per task and template.
import Foundation

/// How an example becomes a source text and a target text: a format string for each, with
/// `{input}`, `{label}`, `{rationale}`, `{options}` (the choices, one per line after "- ") and
/// `{FIELD}` for any other field of the example. `{{` and `}}` are literal braces.
public struct PromptTemplate: Hashable, Sendable, Codable {
    /// The template's name, which evaluation reports accuracy under ("label", "t3").
    public var name: String
    /// The source format.
    public var input: String
    /// The target format.
    public var target: String

    /// Creates a template.
    public init(name: String, input: String, target: String = "{label}") {
        self.name = name
        self.input = input
        self.target = target
    }

    /// A template that puts `prefix` before the input and asks for the label: the paper's
    /// `label: ` and `rationale: ` prefixes are two of these.
    public static func prefix(_ prefix: String, name: String, target: String = "{label}") -> PromptTemplate {
        PromptTemplate(name: name, input: Self.escaped(prefix) + "{input}", target: target)
    }

    /// The source text of `example`.
    /// - Throws: `TrainingError.invalidSetting` naming a placeholder the example has no value for.
    public func source(for example: Example, input: String? = nil) throws -> String {
        try Self.render(self.input, example, input: input, template: name)
    }

    /// The target text of `example`.
    /// - Throws: `TrainingError.invalidSetting` naming a placeholder the example has no value for.
    public func target(for example: Example) throws -> String {
        try Self.render(target, example, input: nil, template: name)
    }

    /// Checks that every `{` opens a placeholder that closes.
    /// - Throws: `TrainingError.invalidSetting` naming the template and the problem.
    public func validate() throws {
        for format in [input, target] { _ = try Self.pieces(format, template: name) }
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "{", with: "{{").replacingOccurrences(of: "}", with: "}}")
    }

    /// Literal text and placeholder names, in order.
    static func pieces(_ format: String, template: String) throws -> [(literal: String, name: String?)] {
        var out: [(String, String?)] = []
        var literal = "", chars = Array(format), i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "{" || c == "}", i + 1 < chars.count, chars[i + 1] == c {
                literal.append(c)
                i += 2
                continue
            }
            if c == "}" {
                throw TrainingError.invalidSetting("template '\(template)' has a '}' without its '{' (write '}}' for a brace)")
            }
            if c == "{" {
                guard let close = chars[(i + 1)...].firstIndex(of: "}") else {
                    throw TrainingError.invalidSetting("template '\(template)' has a '{' that never closes (write '{{' for a brace)")
                }
                out.append((literal, String(chars[(i + 1)..<close])))
                literal = ""
                i = close + 1
                continue
            }
            literal.append(c)
            i += 1
        }
        out.append((literal, nil))
        return out
    }

    static func render(_ format: String, _ example: Example, input: String?, template: String) throws -> String {
        var text = ""
        for (literal, name) in try pieces(format, template: template) {
            text += literal
            guard let name else { continue }
            switch name {
            case "input": text += input ?? example.input
            case "label": text += example.label
            case "rationale":
                guard let rationale = example.rationale else {
                    throw TrainingError.invalidSetting("template '\(template)' needs a rationale, and \(example.id) has none")
                }
                text += rationale
            case "options":
                text += example.choices.map { "- " + $0 }.joined(separator: "\n")
            default:
                guard let value = example.fields[name] else {
                    throw TrainingError.invalidSetting("template '\(template)' uses {\(name)}, which \(example.id) does not have (it has \(example.fields.keys.sorted().joined(separator: ", ")))")
                }
                text += value
            }
        }
        return text
    }
}

/// A named source of training pairs.
public struct TaskStream: Hashable, Sendable {
    /// The stream's name, unique in its mixture ("label", "rationale", "anli1/t2").
    public var name: String
    /// The family of tasks it belongs to (FLAN's clusters: "nli", "qa"); its name when not given.
    public var cluster: String
    /// The stream's loss weight.
    public var weight: Double
    /// Streams with the same `inputs` are drawn together, example by example: step-by-step's
    /// label and rationale streams share their inputs, so a batch trains both tasks on the same
    /// examples. Defaults to the stream's name (drawn on its own).
    public var inputs: String
    /// The template the sources and targets were made with.
    public var template: PromptTemplate
    /// Target tokens per pair for this stream (nil: the trainer's `maxTargetTokens`).
    public var maxTargetTokens: Int?
    /// The pairs, at most one per example.
    public var pairs: [TrainingPair]

    /// Creates a stream.
    public init(name: String, pairs: [TrainingPair], template: PromptTemplate, weight: Double = 1, cluster: String? = nil,
                inputs: String? = nil, maxTargetTokens: Int? = nil) {
        self.name = name
        self.pairs = pairs
        self.template = template
        self.weight = weight
        self.cluster = cluster ?? name
        self.inputs = inputs ?? name
        self.maxTargetTokens = maxTargetTokens
    }

    /// A stream made by rendering `examples` with `template`.
    /// - Throws: `TrainingError.invalidSetting` when an example lacks a field the template uses.
    public static func rendering(_ examples: [Example], name: String, template: PromptTemplate, weight: Double = 1,
                                 cluster: String? = nil) throws -> TaskStream {
        try template.validate()
        let pairs = try examples.map {
            TrainingPair(exampleID: $0.id, source: try template.source(for: $0), target: try template.target(for: $0))
        }
        return TaskStream(name: name, pairs: pairs, template: template, weight: weight, cluster: cluster)
    }

    /// Checks the stream.
    /// - Throws: `TrainingError.invalidSetting` naming what is wrong.
    public func validate() throws {
        guard !name.isEmpty else { throw TrainingError.invalidSetting("a stream needs a name") }
        guard weight.isFinite, weight >= 0 else {
            throw TrainingError.invalidSetting("stream '\(name)' has weight \(weight); weights must be finite and ≥ 0")
        }
        if let maxTargetTokens, maxTargetTokens < 1 {
            throw TrainingError.invalidSetting("stream '\(name)' allows \(maxTargetTokens) target tokens; at least 1")
        }
        var seen = Set<ExampleID>()
        for pair in pairs where !seen.insert(pair.exampleID).inserted {
            throw TrainingError.invalidSetting("stream '\(name)' has two pairs for \(pair.exampleID); a stream holds one pair per example")
        }
    }
}
