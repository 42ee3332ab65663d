// `train(student, on:, method:, ...)`: one trainer for the three recipes, run on its own thread
// while the cell shows a progress bar and a live loss curve (at most four updates a second). An
// interrupt stops it at the last completed step, which the student keeps; the run comes back as
// a value with its history, its best evaluation and `.plot()`.
import Distill
import Foundation

/// A finished (or interrupted) training run.
public final class RunObject: HostObject {
    /// What the trainer reported.
    public let result: TrainingResult
    /// The recipe it trained with.
    public let recipe: Recipe
    /// What the recipe kept and dropped.
    public let report: RecipeReport
    /// The student's one-line summary.
    public let studentSummary: String

    /// Wraps a run's result.
    public init(result: TrainingResult, recipe: Recipe, report: RecipeReport, studentSummary: String) {
        self.result = result
        self.recipe = recipe
        self.report = report
        self.studentSummary = studentSummary
    }

    public var typeName: String { "Run" }

    static let memberDocs: [String: String] = [
        "history": "One record per step: step, loss, labelLoss, rationaleLoss (step-by-step), learningRate, tokens, elapsed.",
        "evaluations": "One record per validation evaluation: step, accuracy, count, seconds, isBest.",
        "best": "The best validation evaluation as a record (step, accuracy), or nil when none ran.",
        "plot": "plot() -> Plot\n\nThe loss curves (total, label and rationale loss) against the step, as SVG.",
        "steps": "Steps completed.",
        "stopReason": "\"finished\", \"early-stop\" or \"cancelled\" (interrupted; the student keeps its last completed step).",
        "seconds": "Wall time of training and evaluation, in seconds.",
        "tokensPerSecond": "Tokens processed per second of step time.",
        "finalLoss": "The last step's loss, or nil.",
        "recipe": "What the recipe kept: examples, rationales, and what was dropped and why.",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "history": return .list(result.losses.map { .record(stepRecord($0)) })
        case "evaluations":
            return .list(result.evaluations.map { evaluation in
                .record(Record([("step", .integer(evaluation.step)), ("accuracy", .double(evaluation.accuracy)), ("count", .integer(evaluation.count)),
                                ("seconds", .double(evaluation.seconds)), ("isBest", .bool(evaluation.isBest))]))
            })
        case "best":
            guard let step = result.bestStep, let accuracy = result.bestAccuracy else { return .null }
            return .record(Record([("step", .integer(step)), ("accuracy", .double(accuracy))]))
        case "steps": return .integer(result.steps)
        case "stopReason": return .string(result.stopReason.rawValue)
        case "seconds": return .double(result.wallSeconds)
        case "tokensPerSecond": return .double(result.tokensPerSecond)
        case "finalLoss": return result.finalLoss.map(Value.double) ?? .null
        case "recipe": return .string(report.description)
        case "plot":
            return hostMethod("plot", [], returns: "Plot", documentation: Self.memberDocs["plot"] ?? "") { _, _ in
                .host(PlotObject(lossPlot(self.result.losses, title: "Training loss (\(self.recipe.method.rawValue))")))
            }
        default: return nil
        }
    }

    var summary: String {
        var text = "Run: \(recipe.method.rawValue), \(result.steps)/\(result.totalSteps) steps in \(String(format: "%.1f", result.wallSeconds)) s"
        if let loss = result.finalLoss { text += ", final loss \(String(format: "%.4f", loss))" }
        if let step = result.bestStep, let accuracy = result.bestAccuracy { text += ", best validation accuracy \(String(format: "%.4f", accuracy)) at step \(step)" }
        switch result.stopReason {
        case .cancelled: text += "; interrupted: the student keeps its last completed step (\(result.steps))"
        case .earlyStopped: text += "; stopped early"
        case .finished: break
        }
        if result.restoredBest, let step = result.bestStep { text += "; the best weights (step \(step)) were restored" }
        return text
    }

    public func render() -> MimeBundle {
        let svg = lossPlot(result.losses, title: "Training loss (\(recipe.method.rawValue))").svg()
        return MimeBundle(plain: summary, extra: ["text/html": "<div><p>\(escapeHTML(summary))</p>\(svg)</div>"])
    }
}

/// A step record as a language record.
private func stepRecord(_ step: StepRecord) -> Record {
    Record([("step", .integer(step.step)), ("loss", .double(step.loss)), ("labelLoss", .double(step.labelLoss)),
            ("rationaleLoss", step.rationaleLoss.map(Value.double) ?? .null), ("learningRate", .double(step.learningRate)),
            ("tokens", .integer(step.tokens)), ("elapsed", .double(step.elapsed))])
}

/// Loss curves: the total loss, and the label and rationale losses when they differ from it.
func lossPlot(_ losses: [StepRecord], title: String) -> LinePlot {
    var series = [PlotSeries(name: "loss", points: losses.map { (Double($0.step), $0.loss) })]
    if losses.contains(where: { $0.rationaleLoss != nil }) {
        series.append(PlotSeries(name: "label loss", points: losses.map { (Double($0.step), $0.labelLoss) }))
        series.append(PlotSeries(name: "rationale loss", points: losses.compactMap { record in record.rationaleLoss.map { (Double(record.step), $0) } }))
    }
    return LinePlot(series: series, title: title, xLabel: "step", yLabel: "loss", width: 560, height: 300)
}

/// What the trainer has reported so far, shared between its thread and the cell's.
private struct LiveTraining {
    var losses: [StepRecord] = []
    var lastEvaluation: EvaluationRecord?
    var evaluating: (step: Int, count: Int)?
}

/// The live display of a run: a progress bar, the latest numbers and the loss curve.
private func trainingBundle(_ live: LiveTraining, total: Int, method: String, note: String = "") -> MimeBundle {
    let step = live.losses.last?.step ?? 0
    var line = "train (\(method)): step \(step)/\(total)"
    if let last = live.losses.last {
        line += String(format: ", loss %.4f", last.loss)
        if let rationale = last.rationaleLoss { line += String(format: " (label %.4f, rationale %.4f)", last.labelLoss, rationale) }
        line += String(format: ", %.0f tokens/s, %.1f s", last.tokensPerSecond, last.elapsed)
    }
    if let evaluation = live.lastEvaluation { line += String(format: "; validation accuracy %.4f at step %d", evaluation.accuracy, evaluation.step) }
    if let evaluating = live.evaluating { line += "; evaluating \(evaluating.count) examples…" }
    line += note
    var html = "<div><progress value=\"\(step)\" max=\"\(max(total, 1))\" style=\"width:24em\"></progress> \(escapeHTML(line))"
    if live.losses.count >= 2 { html += "<br>" + lossPlot(live.losses, title: "Training loss (\(method))").svg() }
    return MimeBundle(plain: line, extra: ["text/html": html + "</div>"])
}

/// Examples and teacher outputs out of `on:`: rationales (a teacher's outputs) or plain examples.
private func trainingInput(_ value: Value) throws -> (examples: [Example], outputs: [TeacherOutput], task: TaskObject) {
    if case .host(let rationales as RationalesObject) = value {
        return (rationales.entries.map(\.example), rationales.entries.compactMap(\.output), rationales.task)
    }
    let (examples, task) = try examplesArgument(value, callee: "train", name: "on")
    return (examples, [], task)
}

/// Validation examples: the `validation:` argument, or the task's own `valid` split, or none.
private func validationInput(_ value: Value, task: TaskObject) throws -> [Example] {
    if value == .null { return task.dataset[split: "valid"] }
    return try examplesArgument(value, callee: "train", name: "validation").0
}

/// The bounds of training arguments: far beyond real runs, and small enough that no product of
/// them (steps × batch × accumulation, epochs × examples) overflows inside the trainer.
enum TrainingBounds {
    static let steps = 100_000_000
    static let epochs = 100_000
    static let batch = 65_536
    static let accumulation = 1_024
    static let examples = 10_000_000
    static let learningRate = 10.0
    /// A vocabulary this big already takes the tokenizer minutes to learn.
    static let vocabulary = 16...100_000
}

let trainingBuiltins: [Builtin] = [
    Builtin("train", [Parameter("student", "Student"), Parameter("on", "Rationales", labeled: true), Parameter("method", "Recipe", labeled: true, default: .null),
                      Parameter("steps", "Int", labeled: true, default: .null), Parameter("epochs", "Int", labeled: true, default: .integer(1)),
                      Parameter("batch", "Int", labeled: true, default: .integer(16)), Parameter("lr", "Double", labeled: true, default: .double(1e-3)),
                      Parameter("evalEvery", "Int", labeled: true, default: .integer(0)), Parameter("validation", "List", labeled: true, default: .null),
                      Parameter("evalLimit", "Int", labeled: true, default: .null), Parameter("patience", "Int", labeled: true, default: .null),
                      Parameter("accumulation", "Int", labeled: true, default: .integer(1)), Parameter("optimizer", "String", labeled: true, default: .string("adamw")),
                      Parameter("schedule", "String", labeled: true, default: .string("constant")), Parameter("warmup", "Int", labeled: true, default: .integer(0)),
                      Parameter("maskNumbers", "Bool", labeled: true, default: .null), Parameter("seed", "Int", labeled: true, default: .null),
                      Parameter("checkpoint", "String", labeled: true, default: .null)],
            returns: "Run", documentation: """
        Trains a student with a recipe, showing a progress bar and the live loss curve.

        `on:` is a teacher's rationales (`why`, or `why.filter { $0.agrees }`) or examples (for \
        `finetune`). `method:` is `finetune`, `distill` or `stepByStep(alpha:)` (default: stepByStep \
        for rationales, finetune for examples). `steps:` (or `epochs:`) of `batch:` examples at `lr:`; \
        with `evalEvery:` it evaluates on `validation:` (default: the task's valid split) and keeps \
        the best weights. Numbers are masked for equation tasks unless `maskNumbers: false`. \
        `checkpoint:` writes resumable checkpoints there. Interrupting stops at the last completed \
        step, which the student keeps. Example: `train(s, on: kept, method: stepByStep(alpha: 0.5), steps: 2000, batch: 32)`.
        """) { arguments, context in
        let studentObject = try arguments.host("student", StudentObject.self, expected: "a student such as `t5(size: \"tiny\", tokenizer: task)`")
        let (examples, outputs, task) = try trainingInput(arguments["on"])
        var recipe: Recipe
        if arguments["method"] == .null {
            recipe = outputs.isEmpty ? Recipe.finetune() : Recipe.stepByStep()
        } else {
            recipe = try recipeArgument(arguments["method"], context: context, callee: "train")
        }
        if recipe.needsTeacher && outputs.isEmpty {
            throw CellError(.value, "`\(RecipeObject(recipe).label)` learns from a teacher: pass its rationales, e.g. `train(s, on: teacher.explain(task.train), ...)`")
        }
        if case .bool(let mask) = arguments["maskNumbers"] { recipe.maskNumbers = mask } else { recipe.maskNumbers = task.dataset.labelKind == .equation }
        let data = try converting { try recipe.prepare(examples, teacher: outputs, kind: task.dataset.labelKind) }
        func optionalInt(_ name: String, in range: ClosedRange<Int>) throws -> Int? { arguments[name] == .null ? nil : try arguments.integer(name, in: range) }
        guard let optimizer = OptimizerKind(rawValue: try arguments.string("optimizer").lowercased()) else {
            throw CellError(.value, "unknown optimizer \"\(try arguments.string("optimizer"))\"; use \"adamw\" or \"adafactor\"")
        }
        let schedule = try arguments.schedule("schedule")
        let config = TrainerConfig(
            steps: try optionalInt("steps", in: 1...TrainingBounds.steps), epochs: try arguments.integer("epochs", in: 1...TrainingBounds.epochs),
            batchSize: try arguments.integer("batch", in: 1...TrainingBounds.batch),
            gradientAccumulation: try arguments.integer("accumulation", in: 1...TrainingBounds.accumulation),
            learningRate: try arguments.double("lr", in: 0...TrainingBounds.learningRate), optimizer: optimizer,
            warmupSteps: try arguments.integer("warmup", in: 0...TrainingBounds.steps), schedule: schedule,
            evalEvery: try arguments.integer("evalEvery", in: 0...TrainingBounds.steps),
            evalLimit: try optionalInt("evalLimit", in: 1...TrainingBounds.examples), patience: try optionalInt("patience", in: 1...TrainingBounds.steps), keepBest: true,
            checkpointDirectory: try arguments.optionalString("checkpoint"),
            seed: arguments["seed"] == .null ? context.seed : try arguments.seed("seed"))
        let validation = try validationInput(arguments["validation"], task: task)
        let student = studentObject.student
        let trainer = try converting { try Trainer(student: student, data: data, validation: validation, kind: task.dataset.labelKind, config: config) }
        let total = trainer.totalSteps
        let method = recipe.method.rawValue
        context.emit(.stream(.stdout, "\(student.summary)\nrecipe \(RecipeObject(recipe).label): \(data.report)\n"))

        let live = Locked(LiveTraining())
        let flag = CancellationFlag()
        let displayID = context.display(trainingBundle(LiveTraining(), total: total, method: method))
        var throttle = DisplayThrottle()
        var shownSteps = -1, shownEvaluations = -1
        func refresh() {
            let current = live.value
            let evaluations = (current.lastEvaluation?.step ?? -1) * 2 + (current.evaluating == nil ? 0 : 1)
            guard current.losses.count != shownSteps || evaluations != shownEvaluations, throttle.ready() else { return }
            shownSteps = current.losses.count
            shownEvaluations = evaluations
            context.updateDisplay(trainingBundle(current, total: total, method: method), id: displayID)
        }
        let result = try runOnLargeStack(context, cancel: flag, poll: 0.05, tick: refresh) {
            try trainer.train(cancel: flag) { event in
                switch event {
                case .step(let record): live.value.losses.append(record)
                case .evaluationStarted(let step, let count): live.value.evaluating = (step, count)
                case .evaluation(let record):
                    live.value.lastEvaluation = record
                    live.value.evaluating = nil
                default: break
                }
            }
        }
        var final = live.value
        final.evaluating = nil
        let run = RunObject(result: result, recipe: recipe, report: data.report, studentSummary: student.summary)
        studentObject.maskNumbers = recipe.maskNumbers
        studentObject.writesRationales = recipe.method == .stepByStep && data.report.rationales > 0
        studentObject.lastRun = run
        let note = result.stopReason == .cancelled ? " — interrupted; the student keeps step \(result.steps)" : " — done"
        context.updateDisplay(trainingBundle(final, total: total, method: method, note: note), id: displayID)
        if result.stopReason == .cancelled {
            throw CellError(.interrupted, "training was interrupted at step \(result.steps) of \(total); the student keeps the weights of its last completed step (\(result.steps)), and `student.lastRun` holds the run")
        }
        return .host(run)
    },
]
