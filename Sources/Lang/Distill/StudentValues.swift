// Students and recipes as cell-language values: `t5(size:, tokenizer:)` builds a T5 from scratch
// with a vocabulary learned from a task's (or a teacher's) text, `t5(path:)` loads one, and
// `finetune`, `distill` and `stepByStep(alpha:, agreeOnly:)` are the paper's three recipes.
import Distill
import Foundation
import Models
import Tensor

/// A student model, with what the language remembers about it: how its inputs were masked and
/// its last training run.
public final class StudentObject: HostObject {
    /// The model.
    public let student: Student
    /// Whether numbers were masked in its training data (evaluation masks the same way); nil
    /// until it is trained, when evaluation follows the task (masking for equation tasks).
    public var maskNumbers: Bool?
    /// Whether it was trained to write rationales (step-by-step), so evaluation can show them.
    public var writesRationales = false
    /// Its last training run, kept even when the run was interrupted.
    public var lastRun: RunObject?

    /// Wraps a student.
    public init(_ student: Student) { self.student = student }

    public var typeName: String { "Student" }

    static let memberDocs: [String: String] = [
        "summary": "One line: the family, its size and its parameter count.",
        "family": "\"t5\" or \"llama-lora\".",
        "save": "save(_ path: String, overwrite: Bool = false) -> String\n\nWrites the student to the folder `path`, relative to the notebook's folder, in a form Hugging Face transformers loads: config.json, model.safetensors and the tokenizer (a LoRA student writes its adapter in PEFT format). `t5(path:)` loads it back. The folder is created, or replaced atomically when it holds only an earlier save. A folder holding other files (a notebook, a store) is refused unless `overwrite: true`, and even then only the student's files are replaced; no other file is ever removed. `\"\"`, `\".\"` and the notebook's own folder are always refused.",
        "lastRun": "The student's last training run (also after an interrupt), or nil.",
        "generate": "generate(_ input: String, task: String = \"label\", maxTokens: Int = 64) -> String\n\nThe student's greedy output for one input, as a label (`task: \"label\"`) or a rationale (`task: \"rationale\"`).",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "summary": return .string(student.summary)
        case "family": return .string(student.family)
        case "lastRun": return lastRun.map { .host($0) } ?? .null
        case "save":
            return hostMethod("save", [Parameter("path", "String"), Parameter("overwrite", "Bool", labeled: true, default: .bool(false))],
                              returns: "String", documentation: Self.memberDocs["save"] ?? "") { arguments, _ in
                let path = try arguments.string("path")
                let url = URL(fileURLWithPath: path)
                let parent = url.deletingLastPathComponent().path
                guard FileManager.default.fileExists(atPath: parent) else {
                    throw CellError(.value, "cannot save the student to \(path): \(describeLocation(parent))")
                }
                do {
                    try TrainerCheckpoint.writeAtomically(url, overwrite: try arguments.bool("overwrite")) { try self.student.save(to: $0) }
                } catch let error as TrainingError {
                    throw CellError(.value, "cannot save the student: \(error.description)")
                }
                return .string(url.standardizedFileURL.path)
            }
        case "generate":
            return hostMethod("generate", [Parameter("input", "String"), Parameter("task", "String", labeled: true, default: .string("label")),
                                           Parameter("maxTokens", "Int", labeled: true, default: .integer(64))],
                              returns: "String", documentation: Self.memberDocs["generate"] ?? "") { arguments, context in
                let task: StudentTask
                switch try arguments.string("task") {
                case "label": task = .label
                case "rationale": task = .rationale
                case let other: throw CellError(.value, "unknown task \"\(other)\"; use \"label\" or \"rationale\"")
                }
                let maxTokens = try arguments.integer("maxTokens")
                guard (1...2048).contains(maxTokens) else { throw CellError(.value, "`generate(maxTokens:)` must be between 1 and 2048, got \(maxTokens)") }
                let input = try arguments.string("input")
                var masked = input, mask: NumberMask?
                if self.maskNumbers == true {
                    let masking = NumberMask.masking(input)
                    masked = masking.masked
                    mask = masking.mask
                }
                let flag = CancellationFlag()
                let source = Recipe.source(masked, task: task)
                let outputs = try runOnLargeStack(context, cancel: flag, interrupted: { "generation was interrupted" }) {
                    self.student.setTraining(false)
                    return try self.student.generate([source], maxNewTokens: maxTokens, cancel: flag)
                }
                let text = outputs.first ?? ""
                return .string(mask?.restore(text) ?? text)
            }
        default: return nil
        }
    }

    public func render() -> MimeBundle {
        let trained = lastRun.map { "; last trained \($0.result.steps) steps (\($0.method))" } ?? "; untrained"
        return MimeBundle(plain: "Student \(student.summary)\(trained)")
    }
}

/// A training recipe: the method and its settings.
public final class RecipeObject: HostObject {
    /// The recipe (its `maskNumbers` is set by `train` from the task).
    public let recipe: Recipe

    /// Wraps a recipe.
    public init(_ recipe: Recipe) { self.recipe = recipe }

    public var typeName: String { "Recipe" }

    public var memberNames: [String] { ["method", "alpha", "agreeOnly"] }

    public func documentation(ofMember name: String) -> String? {
        ["method": "\"finetune\", \"distill\" or \"step-by-step\".",
         "alpha": "Step-by-step's weight of the label loss (the rest goes to the rationale loss).",
         "agreeOnly": "Whether only rationales whose teacher label agrees with gold are kept."][name]
    }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "method": return .string(recipe.method.rawValue)
        case "alpha": return .double(recipe.alpha)
        case "agreeOnly": return .bool(recipe.agreeOnly)
        default: return nil
        }
    }

    var label: String {
        switch recipe.method {
        case .finetune: return "finetune"
        case .distill: return "distill" + (recipe.agreeOnly ? " (agreeing only)" : "")
        case .stepByStep:
            return "stepByStep(alpha: \(recipe.alpha)\(recipe.agreeOnly ? ", agreeOnly: true" : "")\(recipe.teacherLabels ? ", teacherLabels: true" : ""))"
        }
    }

    public func render() -> MimeBundle { MimeBundle(plain: label) }
}

/// The recipe a `method:` argument names: a recipe value, or one of the recipe builtins left uncalled (`stepByStep`).
func recipeArgument(_ value: Value, context: BuiltinContext, callee: String) throws -> Recipe {
    switch value {
    case .host(let recipe as RecipeObject): return recipe.recipe
    case .function(.builtin(let builtin)) where ["finetune", "distill", "stepByStep"].contains(builtin.name):
        return try recipeArgument(try context.call(value, []), context: context, callee: callee)
    default:
        throw CellError(.type, "`\(callee)(method:)` must be finetune, distill or stepByStep(alpha: ...), got \(value.typeName)")
    }
}

/// Source and target texts of a task's (or a teacher's) training data, as a from-scratch
/// vocabulary should see them: both prefixes, numbers masked for equation tasks.
private func vocabularyTexts(_ value: Value, callee: String) throws -> [String] {
    if case .host(let rationalesObject as RationalesObject) = value {
        var rationales: [ExampleID: String] = [:]
        for entry in rationalesObject.entries { rationales[entry.example.id] = entry.output?.rationale }
        return vocabularyTexts(examples: rationalesObject.entries.map(\.example), rationales: rationales, kind: rationalesObject.task.dataset.labelKind)
    }
    if let mixture = mixtureArgument(value) { return mixture.mixture.texts }
    let (examples, task) = try examplesArgument(value, callee: callee, name: "tokenizer")
    return vocabularyTexts(examples: examples, rationales: [:], kind: task.dataset.labelKind)
}

/// The texts of examples with their rationales (a teacher's where given, else the gold one).
func vocabularyTexts(examples: [Example], rationales: [ExampleID: String], kind: LabelKind) -> [String] {
    var texts: [String] = []
    for example in examples {
        let rationale = rationales[example.id].flatMap { $0.isEmpty ? nil : $0 } ?? example.rationale
        let masked = kind == .equation ? example.maskingNumbers(rationale: rationale).example
            : Example(id: example.id, input: example.input, label: example.label, rationale: rationale)
        texts += [Recipe.source(masked.input, task: .label), masked.label, Recipe.source(masked.input, task: .rationale)]
        if let text = masked.rationale { texts.append(text) }
    }
    return texts
}

let studentBuiltins: [Builtin] = [
    Builtin("t5", [Parameter("size", "String", labeled: true, default: .string("tiny")), Parameter("tokenizer", "Task", labeled: true, default: .null),
                   Parameter("path", "String", labeled: true, default: .null), Parameter("vocabulary", "Int", labeled: true, default: .integer(4000)),
                   Parameter("dropout", "Double", labeled: true, default: .double(0.1)), Parameter("seed", "Int", labeled: true, default: .null)],
            returns: "Student", documentation: """
        A T5 student: from scratch at "tiny", "mini" or "small", or loaded with `path:`.

        From scratch, its vocabulary (byte-level BPE, digits split, at most `vocabulary:` tokens) is \
        learned from `tokenizer:`, a task (its training split, gold rationales included), a \
        mixture (every source and target it trains on) or a teacher's rationales, so it knows the words it will read and write; numbers are masked for \
        equation tasks as training will mask them. `seed:` fixes the initial weights (default: \
        `%seed`). `path:` loads a Hugging Face T5 folder (or one `student.save` wrote). \
        Example: `let s = t5(size: "tiny", tokenizer: svamp)`.
        """) { arguments, context in
        if let path = try arguments.optionalString("path") {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CellError(.value, "`t5(path:)` needs a Hugging Face T5 folder (config.json, model.safetensors, tokenizer.json): \(describeLocation(path))")
            }
            let student = try converting { try T5Student(huggingFace: URL(fileURLWithPath: path)) }
            return .host(StudentObject(student))
        }
        let sizeName = try arguments.string("size").lowercased()
        guard let size = T5Config.Size(rawValue: sizeName) else {
            throw CellError(.value, "unknown T5 size \"\(sizeName)\"; use \"tiny\", \"mini\" or \"small\" (or `path:` for a saved model)")
        }
        guard arguments["tokenizer"] != .null else {
            throw CellError(.value, "a T5 from scratch needs `tokenizer:`, the task (or rationales) whose text its vocabulary is learned from, e.g. `t5(size: \"tiny\", tokenizer: svamp)`")
        }
        let texts = try vocabularyTexts(arguments["tokenizer"], callee: "t5")
        let vocabulary = try arguments.integer("vocabulary", in: TrainingBounds.vocabulary)
        let dropout = try arguments.double("dropout")
        guard (0..<1).contains(dropout) else { throw CellError(.value, "`t5(dropout:)` must be in [0, 1), got \(dropout)") }
        let seed = arguments["seed"] == .null ? context.seed : try arguments.seed("seed")
        let flag = CancellationFlag()
        let student = try runOnLargeStack(context, cancel: flag, interrupted: { "building the student was interrupted" }) {
            try T5Student.fromScratch(size: size, texts: texts, vocabularySize: vocabulary, dropout: Float(dropout), seed: seed)
        }
        return .host(StudentObject(student))
    },
    Builtin("finetune", [Parameter("maskNumbers", "Bool", labeled: true, default: .null)], returns: "Recipe", documentation: """
        Standard fine-tuning: the student learns input → gold label. The paper's first baseline.

        `finetune` can be passed uncalled: `train(s, on: svamp, method: finetune)`.
        """) { arguments, _ in
        var recipe = Recipe.finetune()
        if case .bool(let mask) = arguments["maskNumbers"] { recipe.maskNumbers = mask }
        return .host(RecipeObject(recipe))
    },
    Builtin("distill", [Parameter("agreeOnly", "Bool", labeled: true, default: .bool(false))], returns: "Recipe", documentation: """
        Standard distillation: the student learns input → the teacher's label. The paper's second baseline.

        `agreeOnly: true` keeps only examples where the teacher's label agrees with gold. Train it \
        on a teacher's rationales: `train(s, on: why, method: distill)`.
        """) { arguments, _ in
        .host(RecipeObject(Recipe.distill(agreeOnly: try arguments.bool("agreeOnly"))))
    },
    Builtin("stepByStep", [Parameter("alpha", "Double", labeled: true, default: .double(0.5)), Parameter("agreeOnly", "Bool", labeled: true, default: .bool(false)),
                           Parameter("teacherLabels", "Bool", labeled: true, default: .bool(false))], returns: "Recipe", documentation: """
        Distilling step-by-step: the student learns `[label] input` → label and `[rationale] input` → the teacher's rationale.

        The loss is `alpha * label + (1 - alpha) * rationale`, on every batch. `agreeOnly: true` \
        keeps only rationales whose teacher label agrees with gold; `teacherLabels: true` trains the \
        label task on the teacher's labels instead of gold. Example: \
        `train(s, on: why, method: stepByStep(alpha: 0.5), steps: 2000)`.
        """) { arguments, _ in
        let alpha = try arguments.double("alpha")
        guard alpha >= 0, alpha <= 1 else { throw CellError(.value, "`stepByStep(alpha:)` must be in [0, 1], got \(alpha)") }
        return .host(RecipeObject(Recipe.stepByStep(alpha: alpha, agreeOnly: try arguments.bool("agreeOnly"), teacherLabels: try arguments.bool("teacherLabels"))))
    },
]
