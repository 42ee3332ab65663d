// Recipes: which texts a student trains on. Standard fine-tuning pairs inputs with gold labels,
// standard distillation with the teacher's labels, and distilling step-by-step adds a second task
// (the teacher's rationale) under its own prefix. Number masking for equation tasks happens here,
// so every pair and every evaluation sees the same placeholders.
import Foundation

/// The three training methods of the paper.
public enum TrainingMethod: String, CaseIterable, Sendable, Codable {
    /// Standard fine-tuning: input → gold label.
    case finetune
    /// Standard distillation: input → the teacher's label.
    case distill
    /// Distilling step-by-step: input → label, and input → the teacher's rationale, under two prefixes.
    case stepByStep = "step-by-step"

    /// The method named `name` ("finetune", "distill", "step-by-step"; "sbs" too).
    /// - Throws: `TrainingError.invalidSetting` naming the known methods.
    public static func named(_ name: String) throws -> TrainingMethod {
        if let method = TrainingMethod(rawValue: name.lowercased()) { return method }
        if ["sbs", "stepbystep", "step_by_step"].contains(name.lowercased()) { return .stepByStep }
        throw TrainingError.invalidSetting("unknown method '\(name)'; use finetune, distill or step-by-step")
    }
}

/// How training pairs are made from examples and teacher outputs.
public struct Recipe: Hashable, Sendable {
    /// The method.
    public var method: TrainingMethod
    /// Step-by-step's weight of the label loss: `alpha * label + (1 - alpha) * rationale`, in [0, 1].
    public var alpha: Double
    /// Keep only rationales (step-by-step) or examples (distillation) whose teacher label agrees
    /// with the gold label.
    public var agreeOnly: Bool
    /// Step-by-step's labels come from the teacher instead of the gold data (the paper's
    /// comparison with standard distillation).
    public var teacherLabels: Bool
    /// Replace input numbers by placeholders (`numa`, …) in inputs, labels and rationales; evaluation
    /// substitutes them back. For equation tasks (SVAMP, synthetic).
    public var maskNumbers: Bool

    /// Creates a recipe.
    /// - Parameters:
    ///   - method: The method.
    ///   - alpha: The label loss weight for step-by-step (0.5 in the paper).
    ///   - agreeOnly: Drop rationales whose teacher label disagrees with the gold label.
    ///   - teacherLabels: Step-by-step trains on the teacher's labels.
    ///   - maskNumbers: Mask input numbers.
    public init(method: TrainingMethod, alpha: Double = 0.5, agreeOnly: Bool = false, teacherLabels: Bool = false,
                maskNumbers: Bool = false) {
        self.method = method
        self.alpha = alpha
        self.agreeOnly = agreeOnly
        self.teacherLabels = teacherLabels
        self.maskNumbers = maskNumbers
    }

    /// Standard fine-tuning on gold labels.
    public static func finetune(maskNumbers: Bool = false) -> Recipe { Recipe(method: .finetune, maskNumbers: maskNumbers) }
    /// Standard distillation on teacher labels.
    public static func distill(agreeOnly: Bool = false, maskNumbers: Bool = false) -> Recipe {
        Recipe(method: .distill, agreeOnly: agreeOnly, maskNumbers: maskNumbers)
    }
    /// Distilling step-by-step.
    public static func stepByStep(alpha: Double = 0.5, agreeOnly: Bool = false, teacherLabels: Bool = false,
                                  maskNumbers: Bool = false) -> Recipe {
        Recipe(method: .stepByStep, alpha: alpha, agreeOnly: agreeOnly, teacherLabels: teacherLabels, maskNumbers: maskNumbers)
    }

    /// The weight of the label loss in a step's loss: alpha for step-by-step, 1 otherwise.
    public var labelWeight: Double { method == .stepByStep ? alpha : 1 }

    /// Whether the recipe reads teacher outputs.
    public var needsTeacher: Bool { method != .finetune }

    /// Checks the settings.
    /// - Throws: `TrainingError.invalidSetting` for alpha outside [0, 1].
    public func validate() throws {
        guard alpha >= 0, alpha <= 1, alpha.isFinite else {
            throw TrainingError.invalidSetting("alpha must be in [0, 1], got \(alpha)")
        }
    }

    /// The source text of an input for one of step-by-step's tasks: the task's prefix, then the
    /// (masked) input.
    public static func source(_ input: String, task: StudentTask) -> String { task.prefix + input }

    /// The template of each of step-by-step's streams.
    public static func template(_ task: StudentTask) -> PromptTemplate {
        .prefix(task.prefix, name: task.rawValue, target: task == .label ? "{label}" : "{rationale}")
    }

    /// Makes the recipe's streams from examples: one label stream (gold or teacher labels), and
    /// for step-by-step a rationale stream over the same inputs, weighted `alpha` and
    /// `1 - alpha` per stream: exactly the paper's loss. A stream with weight 0 is left out.
    /// - Parameters:
    ///   - examples: The training examples, with gold labels.
    ///   - teacher: The teacher's outputs, aligned by example id (any order; extra outputs are
    ///     ignored). Needed for distillation and step-by-step, ignored by fine-tuning.
    ///   - kind: How the task compares labels (for the agreement filter).
    ///   - maxRationaleTokens: The rationale stream's target length (nil: the trainer's).
    /// - Returns: The mixture, and a report of what was dropped and why.
    /// - Throws: `TrainingError.invalidSetting` for a bad alpha or missing teacher outputs, and
    ///   `TrainingError.noTrainingData` when nothing is left.
    public func prepare(_ examples: [Example], teacher: [TeacherOutput] = [], kind: LabelKind,
                        maxRationaleTokens: Int? = nil) throws -> PreparedData {
        try validate()
        var byID: [ExampleID: TeacherOutput] = [:]
        for output in teacher where byID[output.example.id] == nil { byID[output.example.id] = output }
        if needsTeacher, let missing = examples.first(where: { byID[$0.id] == nil }) {
            throw TrainingError.invalidSetting("the \(method.rawValue) recipe needs a teacher output for every training example; \(missing.id) has none")
        }
        var labels: [TrainingPair] = [], rationales: [TrainingPair] = []
        var report = RecipeReport(examples: examples.count)
        for example in examples {
            let output = byID[example.id]
            let agrees = output?.agrees(kind: kind) ?? false
            let teacherParsed = output?.outcome.answer
            let masked = maskNumbers ? example.maskingNumbers(rationale: teacherParsed?.rationale) : nil
            let mask = masked?.mask
            let input = masked?.example.input ?? example.input
            func masking(_ text: String) -> String { mask?.apply(text) ?? text }

            let label: String
            var rationale: String?
            switch method {
            case .finetune:
                label = masking(example.label)
            case .distill:
                guard let parsed = teacherParsed else { report.droppedUnparseable += 1; continue }
                if agreeOnly && !agrees { report.droppedDisagreeing += 1; continue }
                label = masking(parsed.label)
            case .stepByStep:
                if teacherLabels {
                    guard let parsed = teacherParsed else { report.droppedUnparseable += 1; continue }
                    label = masking(parsed.label)
                } else {
                    label = masking(example.label)
                }
                if let parsed = teacherParsed {
                    if agreeOnly && !agrees {
                        report.rationalesDroppedDisagreeing += 1
                    } else if parsed.rationale.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                        report.rationalesDroppedEmpty += 1
                    } else {
                        rationale = masked?.example.rationale ?? parsed.rationale
                    }
                } else if !teacherLabels {
                    report.rationalesDroppedUnparseable += 1
                }
            }
            labels.append(TrainingPair(exampleID: example.id, source: Recipe.source(input, task: .label), target: label))
            if let rationale {
                rationales.append(TrainingPair(exampleID: example.id, source: Recipe.source(input, task: .rationale), target: rationale))
            }
        }
        report.kept = labels.count
        report.rationales = rationales.count
        guard !labels.isEmpty else {
            throw TrainingError.noTrainingData("all \(examples.count) examples were dropped (\(report.droppedSummary))")
        }
        if method == .stepByStep && rationales.isEmpty && alpha < 1 {
            throw TrainingError.noTrainingData("step-by-step has no rationale left to train on (\(report.droppedSummary))")
        }
        // Both streams read the same inputs, so a batch trains both tasks on the same examples.
        var streams: [TaskStream] = []
        if labelWeight > 0 {
            streams.append(TaskStream(name: StudentTask.label.rawValue, pairs: labels, template: Recipe.template(.label),
                                      weight: labelWeight, inputs: "examples"))
        }
        if method == .stepByStep, alpha < 1 {
            streams.append(TaskStream(name: StudentTask.rationale.rawValue, pairs: rationales, template: Recipe.template(.rationale),
                                      weight: 1 - alpha, inputs: "examples", maxTargetTokens: maxRationaleTokens))
        }
        let mixture = try Mixture(streams, normalisation: .perStream)
        return PreparedData(recipe: self, mixture: mixture, report: report)
    }
}

/// What a recipe kept and dropped.
public struct RecipeReport: Hashable, Sendable, CustomStringConvertible {
    /// Examples given.
    public var examples: Int
    /// Examples kept (items).
    public var kept = 0
    /// Items with a rationale pair.
    public var rationales = 0
    /// Examples dropped because the teacher output could not be parsed (distillation, or teacher labels).
    public var droppedUnparseable = 0
    /// Examples dropped because the teacher label disagreed with gold (distillation with agreeOnly).
    public var droppedDisagreeing = 0
    /// Rationales dropped (the label pair stays) because the teacher output could not be parsed.
    public var rationalesDroppedUnparseable = 0
    /// Rationales dropped because the teacher label disagreed with gold (agreeOnly).
    public var rationalesDroppedDisagreeing = 0
    /// Rationales dropped because they were empty.
    public var rationalesDroppedEmpty = 0

    /// Creates an empty report for `examples` examples.
    public init(examples: Int) { self.examples = examples }

    /// The drops as one phrase ("3 unparseable, 2 disagreeing"), or "nothing dropped".
    public var droppedSummary: String {
        var parts: [String] = []
        if droppedUnparseable > 0 { parts.append("\(droppedUnparseable) examples with unparseable teacher output") }
        if droppedDisagreeing > 0 { parts.append("\(droppedDisagreeing) examples whose teacher label disagrees with gold") }
        if rationalesDroppedUnparseable > 0 { parts.append("\(rationalesDroppedUnparseable) rationales unparseable") }
        if rationalesDroppedDisagreeing > 0 { parts.append("\(rationalesDroppedDisagreeing) rationales whose teacher label disagrees with gold") }
        if rationalesDroppedEmpty > 0 { parts.append("\(rationalesDroppedEmpty) rationales empty") }
        return parts.isEmpty ? "nothing dropped" : parts.joined(separator: ", ")
    }

    public var description: String {
        "\(kept) of \(examples) examples kept, \(rationales) with rationales; \(droppedSummary)"
    }
}

/// The mixture a recipe made, and what it kept and dropped.
public struct PreparedData: Sendable {
    /// The recipe that made it.
    public var recipe: Recipe
    /// The recipe's streams.
    public var mixture: Mixture
    /// What was dropped and why.
    public var report: RecipeReport

    /// Creates prepared data.
    public init(recipe: Recipe, mixture: Mixture, report: RecipeReport) {
        self.recipe = recipe
        self.mixture = mixture
        self.report = report
    }

    /// Every source and target text, for training a vocabulary from scratch.
    public var texts: [String] { mixture.texts }
}
