// `stepwise sweep`: methods × data fractions × seeds on one task, each cell a fresh student
// trained and scored on the test split. Every finished cell is journaled as it finishes, so
// Ctrl-C (or a kill) loses at most the cell in progress, and re-running resumes. Writes
// records.csv, summary.csv, sweep.json and sweep.svg into --out and prints the table.
import ArgumentParser
import Distill
import Foundation
import Lang
import Models
import Tensor
import NN

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Compare training methods across data fractions and seeds (the paper's data-size figure).",
        discussion: """
            Example: stepwise sweep --task synthetic --methods finetune,step-by-step \
            --fractions 0.125,0.25,0.5 --seeds 0,1,2 --steps 400 --out sweeps/synthetic. \
            Students and teachers are as in `stepwise train`. Re-running with the same --out skips the \
            cells already in its journal.jsonl.
            """)

    @Option(help: "The task: svamp, cqa, anli1, esnli or synthetic.") var task: String
    @Option(help: "The task's data folder (not needed for synthetic).") var data: String?
    @Option(help: "Comma-separated methods: finetune, distill, step-by-step.") var methods = "finetune,step-by-step"
    @Option(help: "Comma-separated fractions of the training split, each in (0, 1].") var fractions = "0.25,0.5,1"
    @Option(help: "Comma-separated seeds.") var seeds = "0,1,2"
    @Option(help: "Step-by-step's weight of the label loss.") var alpha = 0.5
    @Flag(help: "Keep only rationales whose teacher label agrees with the gold label.") var agreeOnly = false
    @Option(help: "t5-tiny, t5-mini, t5-small, hf:PATH or llama:PATH (LoRA rank 16, alpha 32).") var student = "t5-tiny"
    @Option(help: "Optimizer steps per cell (overrides --epochs).") var steps: Int?
    @Option(help: "Passes over each cell's training examples.") var epochs = 1
    @Option(help: "Examples per batch.") var batch = 16
    @Option(help: "Peak learning rate.") var lr = 1e-3
    @Option(help: "Weight decay.") var weightDecay = 0.01
    @Option(help: "Linear warm-up steps.") var warmup = 0
    @Option(help: "constant, linear, cosine or inverse-sqrt.") var schedule = "constant"
    @Option(help: "Evaluate on the validation split every N steps (0: never; keeps the best).") var evalEvery = 0
    @Option(help: "Validation examples per evaluation.") var evalLimit: Int?
    @Option(help: "Stop a cell after N evaluations without improvement.") var patience: Int?
    @Option(help: "Test examples to score per cell (default: all).") var testLimit: Int?
    @Option(help: "Engine and BLAS threads.") var threads = 2
    @Option(help: "Vocabulary size for students from scratch.") var vocabulary = 4000
    @Option(help: "Dropout of students from scratch.") var dropout: Float = 0.1
    @Option(help: "Label tokens per pair (and new tokens at test).") var maxTargetTokens = 64
    @Option(help: "Rationale tokens per pair.") var maxRationaleTokens = 192
    @Flag(help: "Do not mask numbers (equation tasks mask them by default).") var noMaskNumbers = false
    @Option(help: "Pack several pairs into rows of N tokens instead of padding each batch (0: pad).") var pack = 0
    @Option(help: "Synthetic task: training problems before the fractions.") var trainSize = 2000
    @Option(help: "Synthetic task: test problems.") var testSize = 500
    @Option(help: SyntheticTaskOptions.help) var difficulty = "classroom"
    @Option(help: "Synthetic task: the program teacher's error rate.") var teacherErrorRate = 0.0
    @Option(help: "Folder for the journal, CSV, JSON and SVG.") var out: String

    func parsedGrid() throws -> Sweep {
        let methodList = methods.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for method in methodList {
            do { _ = try TrainingMethod.named(method) } catch { throw ValidationError("\(error)") }
        }
        let fractionList = try fractions.split(separator: ",").map { text -> Double in
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--fractions: '\(text)' is not a number")
            }
            return value
        }
        let seedList = try seeds.split(separator: ",").map { text -> UInt64 in
            guard let value = UInt64(text.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--seeds: '\(text)' is not a non-negative integer")
            }
            return value
        }
        do {
            return try Sweep(methods: try methodList.map { try TrainingMethod.named($0).rawValue }, fractions: fractionList,
                             seeds: seedList)
        } catch { throw ValidationError("\(error)") }
    }

    func validate() throws {
        _ = try parsedGrid()
        if task.lowercased() != "synthetic" {
            do { _ = try BenchmarkTask.named(task) } catch { throw ValidationError("\(error)") }
            guard data != nil else { throw ValidationError("--data is required for \(task)") }
        } else {
            _ = try SyntheticTaskOptions.difficulty(difficulty)
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard LRSchedule.Kind(rawValue: schedule) != nil else {
            throw ValidationError("--schedule must be constant, linear, cosine or inverse-sqrt")
        }
        guard warmup >= 0 else { throw ValidationError("--warmup must be at least 0") }
        _ = try StudentSpec.parse(student)
    }

    /// Every setting that changes a cell's result, as `name=value`. The grid (methods, fractions,
    /// seeds), --threads and --out are left out: they choose which cells run, where and how fast,
    /// not what a cell computes.
    var settings: [String] {
        [
            "task=\(task.lowercased())", "data=\(data ?? "")", "alpha=\(alpha)", "agree-only=\(agreeOnly)",
            "student=\(student)", "steps=\(steps.map(String.init) ?? "")", "epochs=\(epochs)", "batch=\(batch)",
            "lr=\(lr)", "weight-decay=\(weightDecay)", "warmup=\(warmup)", "schedule=\(schedule)",
            "eval-every=\(evalEvery)", "eval-limit=\(evalLimit.map(String.init) ?? "")",
            "patience=\(patience.map(String.init) ?? "")", "test-limit=\(testLimit.map(String.init) ?? "")",
            "vocabulary=\(vocabulary)", "dropout=\(dropout)", "max-target-tokens=\(maxTargetTokens)",
            "max-rationale-tokens=\(maxRationaleTokens)", "mask-numbers=\(!noMaskNumbers)", "train-size=\(trainSize)",
            "test-size=\(testSize)", "difficulty=\(difficulty)", "teacher-error-rate=\(teacherErrorRate)",
        ] + (pack > 0 ? ["pack=\(pack)"] : [])
    }

    func run() throws {
        Parallel.threads = threads
        let grid = try parsedGrid()
        let experimentTask: ExperimentTask
        if task.lowercased() == "synthetic" {
            experimentTask = .synthetic(difficulty: try SyntheticTaskOptions.difficulty(difficulty), trainSize: trainSize,
                                        testSize: testSize,
                                        teacher: try ProgramTeacher(errorRate: teacherErrorRate, seed: 0, showResults: false))
        } else {
            let benchmark = try BenchmarkTask.named(task)
            experimentTask = try .benchmark(benchmark, directory: ScoreCommand.taskDirectory(data ?? ".", task: benchmark))
        }
        let spec = try StudentSpec.parse(student)
        let (vocabulary, dropout) = (self.vocabulary, self.dropout)
        let config = TrainerConfig(steps: steps, epochs: epochs, batchSize: batch, learningRate: lr,
                                   weightDecay: weightDecay, warmupSteps: warmup,
                                   schedule: LRSchedule.Kind(rawValue: schedule) ?? .constant,
                                   maxTargetTokens: maxTargetTokens, maxRationaleTokens: maxRationaleTokens,
                                   packLength: pack > 0 ? pack : nil, evalEvery: evalEvery, evalLimit: evalLimit,
                                   maxNewTokens: maxTargetTokens, patience: patience)
        let experiment = Experiment(task: experimentTask, config: config,
                                    maskNumbers: experimentTask.kind == .equation && !noMaskNumbers, testLimit: testLimit) {
            try spec.make(texts: $0, vocabulary: vocabulary, dropout: dropout, lora: LoRAConfig(), seed: $1)
        }
        let methods = try grid.methods.map { name -> ExperimentMethod in
            switch try TrainingMethod.named(name) {
            case .finetune: return .recipe(.finetune(), name: name)
            case .distill: return .recipe(.distill(agreeOnly: agreeOnly), name: name)
            case .stepByStep: return .recipe(.stepByStep(alpha: alpha, agreeOnly: agreeOnly), name: name)
            }
        }

        let folder = URL(fileURLWithPath: out)
        do {
            try SweepJournal.claim(folder.appendingPathComponent("settings.txt"), settings: settings)
        } catch let error as SweepError {
            throw ValidationError("\(error)")
        }
        let journal = folder.appendingPathComponent("journal.jsonl")
        let resumed = try SweepJournal.read(journal).filter { grid.cells.contains($0.cell) }.count
        print("sweep task=\(experimentTask.name) train=\(experimentTask.train.count) test=\(min(testLimit ?? .max, experimentTask.test.count)) " +
              "cells=\(grid.cells.count) already done=\(resumed) student=\(student)")

        let (flag, interrupt) = Interrupts.cancellationFlag(message: "sweep: stopping; finished cells are kept in \(journal.path)")
        defer { interrupt.cancel() }

        let result: SweepResult
        do {
            result = try experiment.sweep(grid, methods: methods, journal: journal, cancel: flag, onEvent: { cell, event in
                if case .prepared(let report, let manifest, let summary, let count, _) = event {
                    print("[\(cell)] examples=\(count) \(report.map(String.init(describing:)) ?? "") data=\(manifest.shortHash) student: \(summary)")
                    fflush(stdout)
                }
            }, onRecord: { record, done, total in
                print(String(format: "[%d/%d] %@ accuracy=%.4f steps=%d %.1fs", done, total, record.cell.description,
                             record.accuracy, record.steps, record.seconds))
                fflush(stdout)
            })
        } catch TrainingError.cancelled {
            print("interrupted; the finished cells are in \(journal.path); run the same command again to resume")
            throw ExitCode(130)
        }
        try result.write(to: folder)
        let svg = LinePlot.sweep(result, title: "\(experimentTask.name): test accuracy against training data").svg()
        try Data(svg.utf8).write(to: folder.appendingPathComponent("sweep.svg"), options: .atomic)
        print(result.table)
        print("wrote records.csv, summary.csv, sweep.json and sweep.svg in \(folder.path)")
        if result.records.count < grid.cells.count {
            print("interrupted after \(result.records.count) of \(grid.cells.count) cells; run the same command again to resume")
            throw ExitCode(130)
        }
    }
}
