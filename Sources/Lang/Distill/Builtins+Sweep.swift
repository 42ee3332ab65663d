// `sweep(task, methods:, fractions:, seeds:)`: the paper's figure. Every (method, fraction, seed)
// trains a fresh T5 from scratch on a seeded subsample and evaluates it on the test examples; the
// result is a table of mean ± std and an SVG plot of accuracy against the fraction of training
// data. A journal file makes an interrupted sweep resume where it stopped.
import Distill
import Foundation
import Models
import Tensor

/// A sweep's records and summary.
public final class SweepObject: HostObject {
    /// What the sweep measured.
    public let result: SweepResult

    /// Wraps a sweep's result.
    public init(_ result: SweepResult) { self.result = result }

    public var typeName: String { "Sweep" }

    static let memberDocs: [String: String] = [
        "table": "Mean test accuracy (and its standard deviation over seeds) per method and fraction, as a table.",
        "records": "One record per trained cell: method, fraction, seed, accuracy, trainExamples, steps, seconds.",
        "plot": "plot() -> Plot\n\nMean test accuracy against the fraction of training data, one line per method (the paper's figure).",
        "save": "save(_ folder: String) -> String\n\nWrites records.csv, summary.csv, sweep.json and plot.svg into `folder` (created if needed).",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "table": return .host(TableValue(rows: summaryRows))
        case "records":
            return .list(result.records.map { record in
                .record(Record([("method", .string(record.cell.method)), ("fraction", .double(record.cell.fraction)),
                                ("seed", .integer(Int(truncatingIfNeeded: record.cell.seed))), ("accuracy", .double(record.accuracy)),
                                ("trainExamples", .integer(record.trainExamples)), ("steps", .integer(record.steps)), ("seconds", .double(record.seconds))]))
            })
        case "plot":
            return hostMethod("plot", [], returns: "Plot", documentation: Self.memberDocs["plot"] ?? "") { _, _ in .host(PlotObject(sweepPlot(self.result))) }
        case "save":
            return hostMethod("save", [Parameter("folder", "String")], returns: "String", documentation: Self.memberDocs["save"] ?? "") { arguments, _ in
                let folder = URL(fileURLWithPath: try arguments.string("folder"))
                try self.result.write(to: folder)
                try Data(sweepPlot(self.result).svg().utf8).write(to: folder.appendingPathComponent("plot.svg"), options: .atomic)
                return .string(folder.path)
            }
        default: return nil
        }
    }

    var summaryRows: [Record] {
        result.points.map { point in
            Record([("method", .string(point.method)), ("fraction", .double(point.fraction)), ("accuracy", .double(point.mean)),
                    ("std", .double(point.std)), ("runs", .integer(point.runs)), ("trainExamples", .double(point.trainExamples))])
        }
    }

    public func render() -> MimeBundle {
        let html = "<div><pre>\(escapeHTML(result.table))</pre>\(sweepPlot(result).svg())</div>"
        return MimeBundle(plain: "Sweep (test accuracy, %):\n" + result.table, extra: ["text/html": html])
    }
}

/// The paper's figure for a sweep's result.
func sweepPlot(_ result: SweepResult) -> LinePlot {
    var plot = LinePlot.sweep(result)
    plot.width = 560
    plot.height = 340
    return plot
}

/// Where a sweep stands, shared between the training thread and the cell's thread.
private struct LiveSweep {
    var records: [SweepRecord] = []
    var cell: SweepCell?
    var cellIndex = 0
    var step = 0
    var steps = 0
}

private func sweepBundle(_ live: LiveSweep, total: Int, methods: [String], fractions: [Double]) -> MimeBundle {
    var line = "sweep: \(live.records.count)/\(total) cells done"
    if let cell = live.cell { line += "; training \(cell) (step \(live.step)/\(live.steps))" }
    let partial = SweepResult(methods: methods, fractions: fractions, records: live.records)
    var html = "<div><progress value=\"\(live.records.count)\" max=\"\(max(total, 1))\" style=\"width:24em\"></progress> \(escapeHTML(line))"
    if !live.records.isEmpty { html += "<pre>\(escapeHTML(partial.table))</pre>" + sweepPlot(partial).svg() }
    return MimeBundle(plain: line, extra: ["text/html": html + "</div>"])
}

/// Numbers out of a list argument.
private func numbers(_ value: Value, _ name: String) throws -> [Double] {
    guard case .list(let items) = value, !items.isEmpty else { throw CellError(.type, "`sweep(\(name):)` must be a non-empty list of numbers") }
    return try items.map { item in
        guard let number = item.numberValue else { throw CellError(.type, "`sweep(\(name):)` must hold numbers, found \(item.typeName)") }
        return number
    }
}

/// The default teacher of a task: the released outputs (benchmark tasks) or the program (synthetic).
private func defaultTeacher(for task: TaskObject) throws -> any Teacher {
    if let benchmark = BenchmarkTask(rawValue: task.dataset.name) {
        return ReplayTeacher(task: benchmark, outputs: URL(fileURLWithPath: task.source).appendingPathComponent("llm").path)
    }
    if task.dataset.name == "synthetic" { return try ProgramTeacher(showResults: false) }
    throw CellError(.value, "task \(task.dataset.name) has no default teacher; pass `teacher:` or the rationales themselves as the first argument")
}

let sweepBuiltins: [Builtin] = [
    Builtin("sweep", [Parameter("task", "Task"), Parameter("methods", "List", labeled: true, default: .null),
                      Parameter("fractions", "List", labeled: true, default: .list([.double(0.25), .double(0.5), .double(1)])),
                      Parameter("seeds", "List", labeled: true, default: .list([.integer(0)])), Parameter("teacher", "Teacher", labeled: true, default: .null),
                      Parameter("test", "List", labeled: true, default: .null), Parameter("size", "String", labeled: true, default: .string("tiny")),
                      Parameter("steps", "Int", labeled: true, default: .integer(200)), Parameter("batch", "Int", labeled: true, default: .integer(16)),
                      Parameter("lr", "Double", labeled: true, default: .double(1e-3)),
                      Parameter("schedule", "String", labeled: true, default: .string("constant")), Parameter("warmup", "Int", labeled: true, default: .integer(0)),
                      Parameter("vocabulary", "Int", labeled: true, default: .integer(4000)),
                      Parameter("dropout", "Double", labeled: true, default: .double(0.1)),
                      Parameter("journal", "String", labeled: true, default: .null)], returns: "Sweep", documentation: """
        Trains and evaluates a fresh T5 for every method × fraction of training data × seed: the paper's figure.

        `task` is a task (its teacher is the released outputs, or the program for the synthetic \
        task, unless `teacher:` says otherwise) or a teacher's rationales. Each cell subsamples the \
        training examples by its fraction and seed, trains a `size:` T5 from scratch for `steps:` \
        of `batch:` (peak `lr:` after `warmup:` steps, then the `schedule:` "constant", "linear", \
        "cosine" or "inverse-sqrt"; `dropout:` as in `t5`), and scores it on `test:` (default: the task's test split). `journal:` names a \
        JSON Lines file that keeps finished cells, so an interrupted sweep resumes; a \
        `.settings` file beside it refuses a re-run with other settings. The result shows \
        mean ± std and the plot; `.save(folder)` writes CSV, JSON and SVG. Example: \
        `sweep(svamp, methods: [finetune, distill, stepByStep], fractions: [0.125, 0.25, 0.5, 1.0])`.
        """) { arguments, context in
        // The training examples, and the teacher's outputs for them when a method needs them.
        var train: [Example], task: TaskObject, outputs: [TeacherOutput] = []
        var teacher: (any Teacher)?
        if case .host(let rationales as RationalesObject) = arguments["task"] {
            train = rationales.entries.map(\.example)
            task = rationales.task
            outputs = rationales.entries.compactMap(\.output)
        } else {
            let found = try examplesArgument(arguments["task"], callee: "sweep", name: "task")
            (train, task) = found
            if arguments["teacher"] != .null {
                teacher = try arguments.host("teacher", TeacherObject.self, expected: "a teacher such as `program()`").teacher
            }
        }
        let methodValues: [Value]
        if case .list(let items) = arguments["methods"] { methodValues = items.array } else { methodValues = [.host(RecipeObject(.finetune())), .host(RecipeObject(.stepByStep()))] }
        var methods: [ExperimentMethod] = []
        let mask = task.dataset.labelKind == .equation
        for value in methodValues {
            var recipe = try recipeArgument(value, context: context, callee: "sweep")
            recipe.maskNumbers = mask
            let name = RecipeObject(recipe).label
            guard !methods.contains(where: { $0.name == name }) else { throw CellError(.value, "`sweep(methods:)` lists \(name) twice") }
            methods.append(.recipe(recipe, name: name))
        }
        let names = methods.map(\.name)
        let needsTeacher = methods.contains { if case .recipe(let recipe) = $0.source { return recipe.needsTeacher } else { return false } }
        if outputs.isEmpty, needsTeacher {
            let source = try teacher ?? defaultTeacher(for: task)
            let format = source.answerFormat ?? task.format ?? .equation
            let prompt = source.answerFormat == nil ? try converting { try CoTPrompt(format: format, exemplars: []) } : nil
            let explainer = Explainer(teacher: source, prompt: prompt, store: nil, concurrency: 4)
            let flag = CancellationFlag()
            let examples = train
            outputs = try runBlocking(context, cancel: flag) { try await explainer.run(examples, cancel: flag).outputs }
        }
        let test: [Example] = arguments["test"] == .null ? task.dataset[split: "test"] : try examplesArgument(arguments["test"], callee: "sweep", name: "test").0
        guard !test.isEmpty else { throw CellError(.value, "task \(task.dataset.name) has no test split; pass `test:` examples") }
        let fractions = try numbers(arguments["fractions"], "fractions")
        let seeds = try numbers(arguments["seeds"], "seeds").map { seed -> UInt64 in
            guard seed >= 0, seed == seed.rounded(), seed <= 9.2e18 else {
                throw CellError(.value, "`sweep(seeds:)` must be whole numbers from 0 to \(groupedDigits(Int.max)), got \(formatDouble(seed))")
            }
            return UInt64(seed)
        }
        let grid = try converting { try Sweep(methods: names, fractions: fractions, seeds: seeds) }
        let sizeName = try arguments.string("size").lowercased()
        guard let size = T5Config.Size(rawValue: sizeName) else { throw CellError(.value, "unknown T5 size \"\(sizeName)\"; use \"tiny\", \"mini\" or \"small\"") }
        let steps = try arguments.integer("steps", in: 1...TrainingBounds.steps), batch = try arguments.integer("batch", in: 1...TrainingBounds.batch)
        let lr = try arguments.double("lr", in: 0...TrainingBounds.learningRate)
        let vocabulary = try arguments.integer("vocabulary", in: TrainingBounds.vocabulary)
        let schedule = try arguments.schedule("schedule")
        let dropout = try arguments.double("dropout")
        guard (0..<1).contains(dropout) else { throw CellError(.value, "`sweep(dropout:)` must be in [0, 1), got \(dropout)") }
        let warmup = try arguments.integer("warmup", in: 0...TrainingBounds.steps)
        let journal = try arguments.optionalString("journal").map { URL(fileURLWithPath: $0) }
        let kind = task.dataset.labelKind
        var byID: [ExampleID: TeacherOutput] = [:]
        for output in outputs where byID[output.example.id] == nil { byID[output.example.id] = output }
        let explain: ([Example]) throws -> [TeacherOutput] = { examples in examples.compactMap { byID[$0.id] } }
        let experiment = Experiment(
            task: ExperimentTask(name: task.dataset.name, kind: kind, train: train, valid: [], test: test, explain: explain),
            config: TrainerConfig(steps: steps, batchSize: batch, learningRate: lr, warmupSteps: warmup, schedule: schedule),
            maskNumbers: mask,
            makeStudent: { texts, seed in
                try T5Student.fromScratch(size: size, texts: texts, vocabularySize: vocabulary, dropout: Float(dropout), seed: seed)
            })

        let live = Locked(LiveSweep())
        let total = grid.cells.count
        if let journal {
            // The journal's cells are only valid for these settings; a sidecar file remembers them.
            let settings = ["size=\(sizeName)", "steps=\(steps)", "batch=\(batch)", "lr=\(lr)", "warmup=\(warmup)",
                            "schedule=\(schedule.rawValue)", "dropout=\(dropout)", "vocabulary=\(vocabulary)",
                            "train=\(train.count)", "test=\(test.count)", "mask-numbers=\(mask)"]
            try converting { try SweepJournal.claim(URL(fileURLWithPath: journal.path + ".settings"), settings: settings) }
        }
        if let journal, FileManager.default.fileExists(atPath: journal.path) {
            let cells = Set(grid.cells)
            live.value.records = try converting { try SweepJournal.read(journal) }.filter { cells.contains($0.cell) }
        }
        let flag = CancellationFlag()
        let displayID = context.display(sweepBundle(LiveSweep(), total: total, methods: names, fractions: grid.fractions))
        var throttle = DisplayThrottle()
        func refresh() {
            guard throttle.ready() else { return }
            context.updateDisplay(sweepBundle(live.value, total: total, methods: names, fractions: grid.fractions), id: displayID)
        }
        let interrupted = { (done: Int) -> CellError in
            let kept = journal.map { "finished cells are in \($0.path), so running the cell again resumes" } ?? "pass `journal:` to keep finished cells"
            return CellError(.interrupted, "the sweep was interrupted after \(done) of \(total) cells; \(kept)")
        }
        let result: SweepResult
        do {
            result = try runOnLargeStack(context, cancel: flag, tick: refresh) { () -> SweepResult in
                try experiment.sweep(grid, methods: methods, journal: journal, cancel: flag, onEvent: { cell, event in
                    switch event {
                    case .prepared: live.value.cell = cell
                    case .training(.step(let record)):
                        live.value.step = record.step
                        live.value.steps = steps
                    default: break
                    }
                }, onRecord: { record, _, _ in
                    live.value.records.append(record)
                    live.value.cell = nil
                })
            }
        } catch let error as CellError where error.kind == ErrorKind.interrupted.rawValue {
            throw interrupted(live.value.records.count)
        }
        context.updateDisplay(sweepBundle(LiveSweep(records: result.records), total: total, methods: names, fractions: grid.fractions), id: displayID)
        if flag.isCancelled || result.records.count < total { throw interrupted(result.records.count) }
        return .host(SweepObject(result))
    },
]
