// FLAN's templates: several natural-language phrasings of each task, at least one "turned
// around" (input and target swap roles), options rendered as FLAN renders them (`OPTIONS:` then
// one `- option` a line), the paper's two ablations (no template, dataset name), and a lint that
// catches what FLAN's own v1 templates shipped with (a stray letter glued to a placeholder).
import Foundation

/// One phrasing of a task.
public struct InstructionTemplate: Hashable, Sendable {
    /// The source and target formats; `template.name` is the id ("anli1/t3").
    public var template: PromptTemplate
    /// Input and target swap roles ("Write a premise and a hypothesis for which the answer is …"):
    /// trained on, never used to score, since its target is not an answer.
    public var turnedAround: Bool

    /// Creates a template.
    public init(_ id: String, input: String, target: String = "{label}", turnedAround: Bool = false) {
        template = PromptTemplate(name: id, input: input, target: target)
        self.turnedAround = turnedAround
    }

    /// The template's id.
    public var id: String { template.name }

    /// Whether the source lists the options.
    public var usesOptions: Bool { template.input.contains("{options}") || template.target.contains("{options}") }
}

/// Which phrasing a mixture trains on: FLAN's instructions, or one of the paper's ablations.
public enum TemplatePreset: String, CaseIterable, Sendable, Codable {
    /// Each example under one of its task's instruction templates, drawn with the mixture's seed.
    case instructions = "flan"
    /// The input and its options only: no instruction at all.
    case noTemplate = "no-template"
    /// The task's name in place of an instruction ("anli1: Premise: …").
    case datasetName = "dataset-name"
}

/// The built-in template sets, the generic set any JSON Lines task gets, the ablations, and the lint.
public enum InstructionTemplates {
    /// The options block FLAN appends to a classification input.
    public static let options = "OPTIONS:\n{options}"

    /// The templates of a task Stepwise knows (svamp, cqa, anli1, esnli, synthetic, and the
    /// instruction world's word tasks), or nil.
    public static func builtIn(_ task: String) -> [InstructionTemplate]? {
        switch task {
        case "svamp": return svamp
        case "synthetic": return synthetic
        case "cqa": return cqa
        case "anli1", "esnli": return nli(task)
        default: return WordTasks.templates[task]
        }
    }

    /// The task's templates: its built-in set, else the generic set over `{input}` and `{label}`
    /// (with the options block when its labels are classes or its examples have choices).
    public static func templates(for task: String, hasOptions: Bool) -> [InstructionTemplate] {
        builtIn(task) ?? generic(task, hasOptions: hasOptions)
    }

    /// Generic templates for any task with an input and a label.
    public static func generic(_ task: String, hasOptions: Bool) -> [InstructionTemplate] {
        let name = PromptTemplate.escaped(task)
        let tail = hasOptions ? "\n" + options : ""
        let phrasings = [
            "{input}" + tail,
            "Input: {input}" + tail + "\nOutput:",
            "{input}" + tail + "\n\nWhat is the answer?",
            "Answer the following.\n\n{input}" + tail,
            "Here is a problem from the task \"\(name)\".\n{input}" + tail + "\nAnswer:",
            "Read this and respond with the answer only.\n{input}" + tail,
        ]
        var out = phrasings.enumerated().map { InstructionTemplate("\(task)/t\($0.offset + 1)", input: $0.element) }
        out.append(InstructionTemplate("\(task)/t\(phrasings.count + 1)", input: "Write an input for which the answer is \"{label}\".",
                                       target: "{input}", turnedAround: true))
        return out
    }

    /// The template an ablation trains with (nil for `.instructions`, which uses the task's set).
    public static func ablation(_ preset: TemplatePreset, task: String, hasOptions: Bool) -> InstructionTemplate? {
        let tail = hasOptions ? "\n" + options : ""
        switch preset {
        case .instructions: return nil
        case .noTemplate: return InstructionTemplate("\(task)/no-template", input: "{input}" + tail)
        case .datasetName: return InstructionTemplate("\(task)/dataset-name", input: PromptTemplate.escaped(task) + ": {input}" + tail)
        }
    }

    static let svamp: [InstructionTemplate] = [
        InstructionTemplate("svamp/t1", input: "{input}\nWrite an equation that answers the question."),
        InstructionTemplate("svamp/t2", input: "Solve this math word problem by writing the equation that computes its answer.\n\n{input}"),
        InstructionTemplate("svamp/t3", input: "Problem: {input}\nWhat arithmetic expression gives the answer?"),
        InstructionTemplate("svamp/t4", input: "Read the story and give the calculation that answers it.\nStory: {input}\nCalculation:"),
        InstructionTemplate("svamp/t5", input: "{input}\n\nTranslate this word problem into an equation."),
        InstructionTemplate("svamp/t6", input: "Which equation answers the following question?\n{input}"),
        InstructionTemplate("svamp/t7", input: "Write a math word problem that is solved by the equation {label}.",
                            target: "{input}", turnedAround: true),
    ]

    static let synthetic: [InstructionTemplate] = [
        InstructionTemplate("synthetic/t1", input: "{input}\nGive the equation for the answer."),
        InstructionTemplate("synthetic/t2", input: "Write the calculation this story asks for.\n\n{input}"),
        InstructionTemplate("synthetic/t3", input: "Story: {input}\nEquation:"),
        InstructionTemplate("synthetic/t4", input: "Ignore the numbers that do not matter and write the equation.\n{input}"),
        InstructionTemplate("synthetic/t5", input: "{input}\n\nWhich expression computes the answer?"),
        InstructionTemplate("synthetic/t6", input: "Turn the word problem into arithmetic: {input}"),
        InstructionTemplate("synthetic/t7", input: "Make up a short story whose answer is computed by {label}.",
                            target: "{input}", turnedAround: true),
    ]

    static let cqa: [InstructionTemplate] = [
        InstructionTemplate("cqa/t1", input: "{question}\n\n" + options),
        InstructionTemplate("cqa/t2", input: "Answer the following question with common sense.\n{question}\n" + options),
        InstructionTemplate("cqa/t3", input: "Question: {question}\nChoose the most sensible answer.\n" + options + "\nAnswer:"),
        InstructionTemplate("cqa/t4", input: "Pick the option that best answers the question.\n\nQuestion: {question}\n\n" + options),
        InstructionTemplate("cqa/t5", input: "{question}\nWhich of these is the best answer?\n" + options),
        InstructionTemplate("cqa/t6", input: "Use everyday knowledge to answer: {question}\n" + options),
        InstructionTemplate("cqa/t7", input: "Write a question whose common-sense answer is \"{label}\".",
                            target: "{question}", turnedAround: true),
    ]

    static func nli(_ task: String) -> [InstructionTemplate] {
        [
            InstructionTemplate("\(task)/t1", input: "Premise: {premise}\nHypothesis: {hypothesis}\nDoes the premise entail the hypothesis?\n" + options),
            InstructionTemplate("\(task)/t2", input: "{premise}\n\nBased on the paragraph above, can we conclude that \"{hypothesis}\"?\n\n" + options),
            InstructionTemplate("\(task)/t3", input: "Read the text and decide how the sentence relates to it.\nText: {premise}\nSentence: {hypothesis}\n" + options),
            InstructionTemplate("\(task)/t4", input: "If \"{premise}\", is it true that \"{hypothesis}\"?\n" + options),
            InstructionTemplate("\(task)/t5", input: "Given the premise \"{premise}\", how does the hypothesis \"{hypothesis}\" relate to it?\n" + options),
            InstructionTemplate("\(task)/t6", input: "{premise}\nQuestion: does this imply that {hypothesis}\n" + options),
            InstructionTemplate("\(task)/t7", input: "Write a premise and a hypothesis for which the relation is {label}.",
                                target: "Premise: {premise}\nHypothesis: {hypothesis}", turnedAround: true),
        ]
    }

    /// What the lint found wrong with one template, or one template on one example.
    public struct Problem: Hashable, Sendable, CustomStringConvertible {
        /// The template's id.
        public var template: String
        /// The example, when the problem is in rendering it.
        public var example: ExampleID?
        /// What is wrong.
        public var reason: String

        public var description: String {
            "template \(template)" + (example.map { " on \($0)" } ?? "") + ": " + reason
        }
    }

    /// Checks a template's formats: they parse, no placeholder has a letter or digit glued to it
    /// (FLAN v1's `{premise}n`, from a broken `\n`), no literal backslash escape is left, and the
    /// source is not empty.
    public static func lint(_ template: InstructionTemplate) -> [Problem] {
        var problems: [Problem] = []
        let id = template.id
        for (side, format) in [("source", template.template.input), ("target", template.template.target)] {
            let pieces: [(literal: String, name: String?)]
            do { pieces = try PromptTemplate.pieces(format, template: id) } catch {
                problems.append(Problem(template: id, reason: "\(side): \(error)"))
                continue
            }
            if pieces.allSatisfy({ $0.name == nil }) && side == "target" {
                problems.append(Problem(template: id, reason: "the target has no placeholder, so every example would get the same answer"))
            }
            for (k, piece) in pieces.enumerated() {
                if piece.name == "" { problems.append(Problem(template: id, reason: "\(side) has an empty placeholder {}")) }
                guard piece.name != nil else { continue }
                if let before = piece.literal.last, before.isLetter || before.isNumber {
                    problems.append(Problem(template: id, reason: "\(side) has '\(before)' glued before {\(piece.name ?? "")}"))
                }
                if k + 1 < pieces.count, let after = pieces[k + 1].literal.first, after.isLetter || after.isNumber {
                    problems.append(Problem(template: id, reason: "\(side) has a stray '\(after)' right after {\(piece.name ?? "")}"))
                }
            }
            for escape in ["\\n", "\\t", "\\\""] where format.contains(escape) {
                problems.append(Problem(template: id, reason: "\(side) holds a literal \(escape) (an escape that was never turned into its character)"))
            }
        }
        if template.template.input.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems.append(Problem(template: id, reason: "the source is empty"))
        }
        return problems
    }

    /// Checks a template on one example: every placeholder filled with a non-empty value, every
    /// option list non-empty with no empty option, no `{placeholder}` left in the text, and a
    /// non-empty target.
    public static func lint(_ template: InstructionTemplate, on example: Example) -> [Problem] {
        var problems: [Problem] = []
        let id = template.id
        func add(_ reason: String) { problems.append(Problem(template: id, example: example.id, reason: reason)) }
        for format in [template.template.input, template.template.target] {
            guard let pieces = try? PromptTemplate.pieces(format, template: id) else { continue }
            for name in pieces.compactMap(\.name) {
                switch name {
                case "input": if example.input.isEmpty { add("{input} is empty") }
                case "label": if example.label.isEmpty { add("{label} is empty") }
                case "rationale": if (example.rationale ?? "").isEmpty { add("{rationale} is missing") }
                case "options":
                    if example.choices.isEmpty { add("{options} has no options") }
                    if example.choices.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) { add("an option is empty") }
                default:
                    if example.fields[name] == nil { add("{\(name)} is not a field of the example") } else if example.fields[name]?.isEmpty == true {
                        add("{\(name)} is empty")
                    }
                }
            }
        }
        do {
            let source = try template.template.source(for: example)
            let target = try template.template.target(for: example)
            if target.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { add("the target renders empty") }
            for text in [source, target] where leftoverPlaceholder(text, comparedWith: example) {
                add("a {placeholder} is left in the rendered text")
            }
        } catch {
            add("does not render: \(error)")
        }
        return problems
    }

    /// Whether `text` holds a `{word}` that the example's own text does not explain.
    static func leftoverPlaceholder(_ text: String, comparedWith example: Example) -> Bool {
        guard text.contains("{") else { return false }
        guard let regex = try? NSRegularExpression(pattern: "\\{[A-Za-z_][A-Za-z0-9_]*\\}") else { return false }
        let own = ([example.input, example.label, example.rationale ?? ""] + example.choices + Array(example.fields.values)).joined(separator: "\n")
        let range = NSRange(text.startIndex..., in: text)
        for match in regex.matches(in: text, range: range) {
            guard let r = Range(match.range, in: text) else { continue }
            if !own.contains(String(text[r])) { return true }
        }
        return false
    }
}
