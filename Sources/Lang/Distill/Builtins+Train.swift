// `train(student, on:, method:, ...)`: one trainer for the three recipes, run on its own thread
// while the cell shows a progress bar and a live loss curve (at most four updates a second). An
// interrupt stops it at the last completed step, which the student keeps; the run comes back as
// a value with its history, its best evaluation and `.plot()`.
import Distill
import Foundation
import Tensor

/// A finished (or interrupted) training run.
public final class RunObject: HostObject {
    /// What the trainer reported.
    public let result: TrainingResult
    /// The method it trained with ("step-by-step", "mixture of 3").
    public let method: String
    /// What the recipe kept and dropped (nil for a mixture).
    public let report: RecipeReport?
    /// What it trained on: streams, rates, seed and the data's hash.
    public let manifest: MixtureManifest
    /// The student's one-line summary.
    public let studentSummary: String

    /// Wraps a run's result.
    public init(result: TrainingResult, method: String, report: RecipeReport?, manifest: MixtureManifest, studentSummary: String) {
        self.result = result
        self.method = method
        self.report = report
        self.manifest = manifest
        self.studentSummary = studentSummary
    }

    public var typeName: String { "Run" }

    static let memberDocs: [String: String] = [
        "history": "One record per step: step, loss, labelLoss, rationaleLoss (step-by-step), one field per stream (`loss_NAME`), learningRate, tokens, elapsed.",
        "evaluations": "One record per validation evaluation: step, accuracy, count, seconds, isBest.",
        "best": "The best validation evaluation as a record (step, accuracy), or nil when none ran.",
        "plot": "plot() -> Plot\n\nThe loss curves (total, label and rationale loss) against the step, as SVG.",
        "steps": "Steps completed.",
        "stopReason": "\"finished\", \"early-stop\" or \"cancelled\" (interrupted; the student keeps its last completed step).",
        "seconds": "Wall time of training and evaluation, in seconds.",
        "tokensPerSecond": "Tokens processed per second of step time.",
        "finalLoss": "The last step's loss, or nil.",
        "recipe": "What the recipe kept: examples, rationales, and what was dropped and why (nil for a mixture).",
        "data": "The SHA-256 of what the run trained on: every stream's pairs, weights, rates and the seed.",
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
        case "recipe": return report.map { .string($0.description) } ?? .null
        case "data": return .string(manifest.hash)
        case "plot":
            return hostMethod("plot", [], returns: "Plot", documentation: Self.memberDocs["plot"] ?? "") { _, _ in
                .host(PlotObject(lossPlot(self.result.losses, title: "Training loss (\(self.method))")))
            }
        default: return nil
        }
    }

    var summary: String {
        var text = "Run: \(method), \(result.steps)/\(result.totalSteps) steps in \(String(format: "%.1f", result.wallSeconds)) s"
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
        let svg = lossPlot(result.losses, title: "Training loss (\(method))").svg()
        return MimeBundle(plain: summary, extra: ["text/html": "<div><p>\(escapeHTML(summary))</p>\(svg)</div>"])
    }
}

/// A step record as a language record.
private func stepRecord(_ step: StepRecord) -> Record {
    var fields: [(String, Value)] = [("step", .integer(step.step)), ("loss", .double(step.loss)), ("labelLoss", .double(step.labelLoss)),
                                     ("rationaleLoss", step.rationaleLoss.map(Value.double) ?? .null)]
    if step.streamLosses.count > 1 || step.streamLosses.contains(where: { $0.stream != StudentTask.label.rawValue }) {
        fields += step.streamLosses.map { ("loss_" + $0.stream, Value.double($0.loss)) }
    }
    fields += [("learningRate", .double(step.learningRate)), ("tokens", .integer(step.tokens)), ("elapsed", .double(step.elapsed))]
    return Record(fields)
}

/// Loss curves: the total loss, and each stream's loss when there are several.
func lossPlot(_ losses: [StepRecord], title: String) -> LinePlot {
    var series = [PlotSeries(name: "loss", points: losses.map { (Double($0.step), $0.loss) })]
    var names: [String] = []
    for record in losses { for stream in record.streamLosses where !names.contains(stream.stream) { names.append(stream.stream) } }
    if names.count > 1 {
        for name in names.prefix(8) {
            series.append(PlotSeries(name: "\(name) loss", points: losses.compactMap { record in record.loss(ofStream: name).map { (Double(record.step), $0) } }))
        }
    }
    return LinePlot(series: series, title: title, xLabel: "step", yLabel: "loss", width: 560, height: 300)
}

/// What the trainer has reported so far, shared between its thread and the cell's.
private struct LiveTraining {
    var total = 0
    var introduction: String?
    var losses: [StepRecord] = []
    var lastEvaluation: EvaluationRecord?
    var evaluating: (step: Int, count: Int)?
}

/// The live display of a run: a progress bar, the latest numbers and the loss curve.
private func trainingBundle(_ live: LiveTraining, method: String, note: String = "") -> MimeBundle {
    let step = live.losses.last?.step ?? 0, total = live.total
    // Before the trainer has planned its steps there is nothing to count yet.
    var line = total == 0 && live.losses.isEmpty ? "train (\(method)): preparing the data and the student…" : "train (\(method)): step \(step)/\(total)"
    if let last = live.losses.last {
        line += String(format: ", loss %.4f", last.loss)
        if last.streamLosses.count > 1 {
            line += " (" + last.streamLosses.prefix(6).map { "\($0.stream) \(String(format: "%.4f", $0.loss))" }.joined(separator: ", ") + ")"
        }
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
                      Parameter("checkpoint", "String", labeled: true, default: .null), Parameter("pack", "Int", labeled: true, default: .null)],
            returns: "Run", documentation: """
        Trains a student with a recipe or on a mixture, showing a progress bar and the live loss curve.

        `on:` is a teacher's rationales (`why`, or `why.filter { $0.agrees }`), examples (for \
        `finetune`) or a mixture of streams (`mixture([...])`). `method:` is `finetune`, `distill` or \
        `stepByStep(alpha:)` (default: stepByStep for rationales, finetune for examples). \
        `steps:` (or `epochs:`) of `batch:` examples at `lr:`; with `evalEvery:` it evaluates on \
        `validation:` (default: the task's valid split) and keeps the best weights. `pack: 256` \
        packs several examples into rows of 256 tokens instead of padding each batch (same loss, \
        less padding). Numbers are masked for equation tasks unless `maskNumbers: false`. \
        `checkpoint:` writes resumable checkpoints there. Interrupting stops at the last completed \
        step, which the student keeps. Example: `train(s, on: kept, method: stepByStep(alpha: 0.5), steps: 2000, batch: 32)`.
        """) { arguments, context in
        let studentObject = try arguments.host("student", StudentObject.self, expected: "a student such as `t5(size: \"tiny\", tokenizer: task)`")
        func optionalInt(_ name: String, in range: ClosedRange<Int>) throws -> Int? { arguments[name] == .null ? nil : try arguments.integer(name, in: range) }
        guard let optimizer = OptimizerKind(rawValue: try arguments.string("optimizer").lowercased()) else {
            throw CellError(.value, "unknown optimizer \"\(try arguments.string("optimizer"))\"; use \"adamw\" or \"adafactor\"")
        }
        let config = TrainerConfig(
            steps: try optionalInt("steps", in: 1...TrainingBounds.steps), epochs: try arguments.integer("epochs", in: 1...TrainingBounds.epochs),
            batchSize: try arguments.integer("batch", in: 1...TrainingBounds.batch),
            gradientAccumulation: try arguments.integer("accumulation", in: 1...TrainingBounds.accumulation),
            learningRate: try arguments.double("lr", in: 0...TrainingBounds.learningRate), optimizer: optimizer,
            warmupSteps: try arguments.integer("warmup", in: 0...TrainingBounds.steps), schedule: try arguments.schedule("schedule"),
            packLength: try optionalInt("pack", in: 2...65_536),
            evalEvery: try arguments.integer("evalEvery", in: 0...TrainingBounds.steps),
            evalLimit: try optionalInt("evalLimit", in: 1...TrainingBounds.examples), patience: try optionalInt("patience", in: 1...TrainingBounds.steps), keepBest: true,
            checkpointDirectory: try arguments.optionalString("checkpoint"))
        let seed = arguments["seed"] == .null ? context.seed : try arguments.seed("seed")

        // What to train on: a recipe over examples (and a teacher's outputs), or a mixture.
        let method: ExperimentMethod, experimentTask: ExperimentTask, label: String, recipeLabel: String, maskNumbers: Bool
        var writesRationales = false
        if let mixture = mixtureArgument(arguments["on"]) {
            guard arguments["method"] == .null else {
                throw CellError(.value, "a mixture carries its own streams and weights; leave out `method:` (or train on rationales with a recipe)")
            }
            let first = mixture.streams[0].task
            let validation = arguments["validation"] == .null ? [] : try examplesArgument(arguments["validation"], callee: "train", name: "validation").0
            // The streams' sources are already masked (or not); the flag tells evaluation to mask
            // and restore as they were.
            maskNumbers = mixture.streams.contains { $0.masksNumbers }
            method = .mixture(mixture.mixture, name: "mixture")
            experimentTask = ExperimentTask(name: first.dataset.name, kind: first.dataset.labelKind, train: [], valid: validation, test: [],
                                            explain: { _ in [] })
            label = "mixture of \(mixture.mixture.streams.count)"
            recipeLabel = label
        } else {
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
            if case .bool(let mask) = arguments["maskNumbers"] { maskNumbers = mask } else { maskNumbers = task.dataset.labelKind == .equation }
            var byID: [ExampleID: TeacherOutput] = [:]
            for output in outputs where byID[output.example.id] == nil { byID[output.example.id] = output }
            method = .recipe(recipe)
            experimentTask = ExperimentTask(name: task.dataset.name, kind: task.dataset.labelKind, train: examples,
                                            valid: try validationInput(arguments["validation"], task: task), test: [],
                                            explain: { $0.compactMap { byID[$0.id] } })
            label = recipe.method.rawValue
            recipeLabel = RecipeObject(recipe).label
            writesRationales = recipe.method == .stepByStep && recipe.alpha < 1
        }
        let student = studentObject.student
        var experiment = Experiment(task: experimentTask, config: config, maskNumbers: maskNumbers) { _, _ in student }
        if let mixture = mixtureArgument(arguments["on"]) { experiment.evaluationTemplate = mixture.streams[0].stream.template }

        let live = Locked(LiveTraining())
        let flag = CancellationFlag()
        let displayID = context.display(trainingBundle(LiveTraining(), method: label))
        var throttle = DisplayThrottle()
        var shownSteps = -1, shownEvaluations = -1, introduced = false
        func refresh() {
            let current = live.value
            if !introduced, let intro = current.introduction {
                introduced = true
                context.emit(.stream(.stdout, intro))
            }
            let evaluations = (current.lastEvaluation?.step ?? -1) * 2 + (current.evaluating == nil ? 0 : 1)
            guard current.losses.count != shownSteps || evaluations != shownEvaluations, throttle.ready() else { return }
            shownSteps = current.losses.count
            shownEvaluations = evaluations
            context.updateDisplay(trainingBundle(current, method: label), id: displayID)
        }
        let outcome = try runOnLargeStack(context, cancel: flag, poll: 0.05, tick: refresh) {
            try experiment.run(method, seed: seed, student: student, cancel: flag) { event in
                switch event {
                case .prepared(let report, let manifest, let summary, _, let total):
                    live.value.total = total
                    let streams = manifest.streams.map { "\($0.name) (\(groupedDigits($0.pairs)) pairs, weight \(formatDouble($0.weight)))" }
                    live.value.introduction = "\(summary)\n" + (report.map { "recipe \(recipeLabel): \($0)\n" } ?? "")
                        + "streams: \(streams.joined(separator: ", ")); data \(manifest.shortHash)\n"
                case .training(.step(let record)): live.value.losses.append(record)
                case .training(.evaluationStarted(let step, let count)): live.value.evaluating = (step, count)
                case .training(.evaluation(let record)):
                    live.value.lastEvaluation = record
                    live.value.evaluating = nil
                default: break
                }
            }
        }
        var final = live.value
        final.evaluating = nil
        let result = outcome.training
        let run = RunObject(result: result, method: label, report: outcome.report, manifest: outcome.manifest, studentSummary: student.summary)
        studentObject.maskNumbers = maskNumbers
        studentObject.writesRationales = writesRationales && (outcome.report?.rationales ?? 0) > 0
        studentObject.lastRun = run
        let note = result.stopReason == .cancelled ? " — interrupted; the student keeps step \(result.steps)" : " — done"
        context.updateDisplay(trainingBundle(final, method: label, note: note), id: displayID)
        if result.stopReason == .cancelled {
            throw CellError(.interrupted, "training was interrupted at step \(result.steps) of \(result.totalSteps); the student keeps the weights of its last completed step (\(result.steps)), and `student.lastRun` holds the run")
        }
        return .host(run)
    },
]
