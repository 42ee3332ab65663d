// `stepwise train`: trains a student on a task with one of the three recipes, evaluates it on the
// test split, and prints `accuracy=0.xxxx` as its last line. Ctrl-C stops at the last completed
// step (the model is evaluated and saved as it is then); a second Ctrl-C quits at once.
import ArgumentParser
import Distill
import Foundation
import Models
import Tensor
import NN

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a student (fine-tuning, distillation or step-by-step) and report its test accuracy.",
        discussion: """
            Students: t5-tiny, t5-mini, t5-small (from scratch, with a vocabulary learned from the \
            training text), hf:PATH (a Hugging Face T5 folder), llama:PATH (a Llama-family GGUF, \
            dequantised to Float32, fine-tuned through LoRA adapters: --lora-rank, --lora-alpha, \
            --lora-dropout, --lora-targets). Teachers: replay (the released \
            outputs in DATA/llm) or program (the synthetic task's). Equation tasks (svamp, synthetic) \
            mask numbers unless --no-mask-numbers. The validation split is the task's own, else \
            --valid-fraction of the training examples.
            """)

    enum TeacherKind: String, ExpressibleByArgument, CaseIterable { case replay, program }

    @Option(help: "The task: svamp, cqa, anli1, esnli or synthetic.") var task: String
    @Option(help: "The task's data folder (not needed for synthetic).") var data: String?
    @Option(help: "finetune, distill or step-by-step.") var method = "step-by-step"
    @Option(help: "Step-by-step's weight of the label loss.") var alpha = 0.5
    @Flag(help: "Keep only rationales whose teacher label agrees with the gold label.") var agreeOnly = false
    @Flag(help: "Step-by-step trains on the teacher's labels instead of the gold ones.") var teacherLabels = false
    @Option(help: "t5-tiny, t5-mini, t5-small, hf:PATH or llama:PATH.") var student = "t5-tiny"
    @Option(help: "llama: LoRA rank.") var loraRank = 16
    @Option(help: "llama: LoRA alpha (the update is scaled by alpha / rank).") var loraAlpha: Float = 32
    @Option(help: "llama: LoRA dropout.") var loraDropout: Float = 0
    @Option(help: "llama: comma-separated projections to adapt (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj).")
    var loraTargets = LoRATarget.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Where rationales come from: replay or program.") var teacher: TeacherKind?
    @Option(help: "The share of the training examples to use, in (0, 1].") var fraction = 1.0
    @Option(help: "The seed of subsampling, initial weights, batch order and dropout.") var seed: UInt64 = 0
    @Option(help: "Optimizer steps (overrides --epochs).") var steps: Int?
    @Option(help: "Passes over the training examples.") var epochs = 1
    @Option(help: "Examples per micro-batch.") var batch = 16
    @Option(help: "Micro-batches per optimizer step.") var accumulation = 1
    @Option(help: "Peak learning rate.") var lr = 1e-3
    @Option(help: "adamw or adafactor.") var optimizer = "adamw"
    @Option(help: "Weight decay.") var weightDecay = 0.01
    @Option(help: "Linear warm-up steps.") var warmup = 0
    @Option(help: "constant, linear, cosine or inverse-sqrt.") var schedule = "constant"
    @Option(help: "Clip the gradient norm to this (0: no clipping).") var clip = 1.0
    @Option(help: "Evaluate on the validation split every N steps (0: only at the end).") var evalEvery = 0
    @Option(help: "Validation examples per evaluation.") var evalLimit: Int?
    @Option(help: "Stop after N evaluations without improvement.") var patience: Int?
    @Option(help: "Checkpoint folder (last/ and best/ inside).") var checkpoint: String?
    @Flag(help: "Continue from --checkpoint.") var resume = false
    @Option(help: "Engine and BLAS threads.") var threads = 2
    @Option(help: "Save the model, result.json and predictions.jsonl here.") var out: String?
    @Option(help: "Source tokens per pair.") var maxSourceTokens = 256
    @Option(help: "Label tokens per pair.") var maxTargetTokens = 64
    @Option(help: "Rationale tokens per pair.") var maxRationaleTokens = 192
    @Option(help: "Vocabulary size for students from scratch.") var vocabulary = 4000
    @Option(help: "Dropout of students from scratch.") var dropout: Float = 0.1
    @Flag(help: "Do not mask numbers (equation tasks mask them by default).") var noMaskNumbers = false
    @Flag(inversion: .prefixedNo, help: "Group examples of similar length into batches.") var bucketing = true
    @Option(help: "Pack several pairs into rows of N tokens instead of padding each batch (0: pad).") var pack = 0
    @Flag(help: "Score test and validation answers by rank classification (tasks with options: anli1, esnli, cqa).")
    var rankClassification = false
    @Option(help: "Share of train carved out for validation when the task has no valid split (0: none, train on all).")
    var validFraction = 0.1
    @Option(help: "Synthetic task: training problems before --fraction.") var trainSize = 2000
    @Option(help: "Synthetic task: validation problems.") var validSize = 200
    @Option(help: "Synthetic task: test problems.") var testSize = 500
    @Option(help: SyntheticTaskOptions.help) var difficulty = "classroom"
    @Option(help: "Test examples to evaluate (default: all).") var testLimit: Int?
    @Flag(help: "Also generate each test example's rationale into predictions.jsonl.") var rationales = false
    @Option(help: "Print a progress line every N steps.") var logEvery = 10

    var isSynthetic: Bool { task.lowercased() == "synthetic" }

    func validate() throws {
        if !isSynthetic {
            do { _ = try BenchmarkTask.named(task) } catch { throw ValidationError("\(error)") }
            guard data != nil else { throw ValidationError("--data is required for \(task)") }
            if teacher == .program { throw ValidationError("--teacher program solves only --task synthetic") }
        } else if teacher == .replay {
            throw ValidationError("the synthetic task has no released outputs; use --teacher program")
        }
        do { _ = try TrainingMethod.named(method) } catch { throw ValidationError("\(error)") }
        guard OptimizerKind(rawValue: optimizer) != nil else { throw ValidationError("--optimizer must be adamw or adafactor") }
        guard LRSchedule.Kind(rawValue: schedule) != nil else {
            throw ValidationError("--schedule must be constant, linear, cosine or inverse-sqrt")
        }
        guard fraction > 0, fraction <= 1 else { throw ValidationError("--fraction must be in (0, 1]") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard logEvery >= 1 else { throw ValidationError("--log-every must be at least 1") }
        if resume && checkpoint == nil { throw ValidationError("--resume needs --checkpoint DIR") }
        if isSynthetic { _ = try SyntheticTaskOptions.difficulty(difficulty) }
        _ = try StudentSpec.parse(student)
        _ = try loraConfig()
        guard validFraction >= 0, validFraction < 1 else { throw ValidationError("--valid-fraction must be in [0, 1)") }
        guard pack == 0 || pack >= 2 else { throw ValidationError("--pack must be 0 (pad) or at least 2 tokens") }
        if rankClassification, isSynthetic || task.lowercased() == "svamp" {
            throw ValidationError("--rank-classification needs a task with options (anli1, esnli, cqa); \(task) answers with equations")
        }
    }

    /// The LoRA settings of a llama:PATH student.
    func loraConfig() throws -> LoRAConfig {
        let names = loraTargets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let targets = try names.map { name -> LoRATarget in
            guard let t = LoRATarget(rawValue: name) ?? LoRATarget(rawValue: name + "_proj") else {
                throw ValidationError("--lora-targets: unknown projection '\(name)' (use \(LoRATarget.allCases.map(\.rawValue).joined(separator: ",")))")
            }
            return t
        }
        return LoRAConfig(rank: loraRank, alpha: loraAlpha, dropout: loraDropout, targets: targets)
    }

    func run() throws {
        Parallel.threads = threads
        let recipe = Recipe(method: try TrainingMethod.named(method), alpha: alpha, agreeOnly: agreeOnly,
                            teacherLabels: teacherLabels, maskNumbers: false)
        let experimentTask = try loadTask()
        let masking = experimentTask.kind == .equation && !noMaskNumbers
        print("task=\(experimentTask.name) method=\(recipe.method.rawValue) train=\(experimentTask.train.count) " +
              "valid=\(experimentTask.valid.count) test=\(experimentTask.test.count) masking=\(masking)")
        let spec = try StudentSpec.parse(student)
        let lora = try loraConfig()
        let (vocabulary, dropout) = (self.vocabulary, self.dropout)
        let config = TrainerConfig(
            steps: steps, epochs: epochs, batchSize: batch, gradientAccumulation: accumulation, learningRate: lr,
            optimizer: OptimizerKind(rawValue: optimizer) ?? .adamw, weightDecay: weightDecay, warmupSteps: warmup,
            schedule: LRSchedule.Kind(rawValue: schedule) ?? .constant, maxGradNorm: clip > 0 ? clip : nil,
            maxSourceTokens: maxSourceTokens, maxTargetTokens: maxTargetTokens, maxRationaleTokens: maxRationaleTokens,
            bucketByLength: bucketing, packLength: pack > 0 ? pack : nil, evalEvery: evalEvery, evalLimit: evalLimit,
            maxNewTokens: maxTargetTokens, patience: patience, keepBest: true, checkpointDirectory: checkpoint, seed: seed)
        let experiment = Experiment(task: experimentTask, config: config, maskNumbers: masking, testLimit: testLimit,
                                    testRationales: rationales, rankClassification: rankClassification) { texts, seed in
            try spec.make(texts: texts, vocabulary: vocabulary, dropout: dropout, lora: lora, seed: seed)
        }

        let (flag, interrupt) = Interrupts.cancellationFlag(message: "train: stopping at the last completed step (Ctrl-C again to quit now)")
        defer { interrupt.cancel() }
        var total = 0
        let every = logEvery
        let outcome = try experiment.run(.recipe(recipe), fraction: fraction, seed: seed,
                                         resume: resume ? checkpoint.map { URL(fileURLWithPath: $0) } : nil,
                                         testWhenCancelled: true, cancel: flag) { event in
            switch event {
            case .prepared(let report, let manifest, let summary, let count, let steps):
                total = steps
                print("recipe: examples=\(count) \(report.map(String.init(describing:)) ?? "")")
                print("mixture: " + manifest.streams.map { "\($0.name) \($0.pairs) pairs weight \(String(format: "%g", $0.weight))" }
                    .joined(separator: ", ") + " data=\(manifest.shortHash)")
                print("student: \(summary)")
            case .resumed(let step):
                print("resumed at step \(step) of \(total)")
            case .training(.step(let r)) where r.step % every == 0 || r.step == total:
                let streams = r.streamLosses.count > 1
                    ? " " + r.streamLosses.map { "\($0.stream)=\(String(format: "%.4f", $0.loss))" }.joined(separator: " ") : ""
                print(String(format: "step %d/%d loss=%.4f", r.step, total, r.loss) + streams +
                      String(format: " lr=%.2e tok/s=%.0f elapsed=%.1fs", r.learningRate, r.tokensPerSecond, r.elapsed))
            case .training(.evaluation(let e)):
                print(String(format: "eval step=%d accuracy=%.4f on %d examples (%.1fs)", e.step, e.accuracy, e.count, e.seconds) +
                      (e.isBest ? " best" : ""))
            case .training(.checkpoint(let path, let step, let best)):
                print("checkpoint \(best ? "best" : "last") step=\(step) \(path)")
            case .training(.finished(let result)):
                switch result.stopReason {
                case .cancelled: print("interrupted at step \(result.steps); evaluating the model as it is (Ctrl-C again to quit)")
                case .earlyStopped: print("early stop at step \(result.steps)")
                case .finished: break
                }
                if result.restoredBest, let best = result.bestStep { print("restored the best weights (step \(best))") }
                print(String(format: "trained %d steps in %.1fs: %.2f steps/s, %.0f tokens/s, %d examples seen",
                             result.steps, result.wallSeconds, result.stepsPerSecond, result.tokensPerSecond, result.examplesSeen))
            default:
                break
            }
            fflush(stdout)
        }
        guard let evaluation = outcome.evaluation else { throw ValidationError("\(experimentTask.name) has no test split to score") }
        print(String(format: "test examples=%d correct=%d empty=%d (%.1fs)", evaluation.count, evaluation.correctCount,
                     evaluation.unparseableCount, outcome.seconds - outcome.training.wallSeconds))
        if let confusion = evaluation.confusion { print(confusion) }
        if let out {
            try save(model: outcome.student, result: outcome.training, manifest: outcome.manifest, evaluation: evaluation,
                     to: URL(fileURLWithPath: out))
        }
        print("accuracy=\(String(format: "%.4f", evaluation.accuracy))")
    }

    // MARK: - Data

    /// The task's splits and teacher; the validation split is the task's own or carved from train
    /// with the one seed every entry point uses (`ExperimentTask.validationSeed`).
    func loadTask() throws -> ExperimentTask {
        if isSynthetic {
            return ExperimentTask.synthetic(difficulty: try SyntheticTaskOptions.difficulty(difficulty),
                                            trainSize: trainSize, validSize: validSize, testSize: testSize,
                                            teacher: try ProgramTeacher(showResults: false))
        }
        let benchmark = try BenchmarkTask.named(task)
        let task = try ExperimentTask.benchmark(benchmark, directory: ScoreCommand.taskDirectory(data ?? ".", task: benchmark),
                                                validFraction: validFraction)
        guard !task.train.isEmpty, !task.test.isEmpty else {
            throw ValidationError("\(benchmark.rawValue) has \(task.train.count) training and \(task.test.count) test examples; training needs both")
        }
        return task
    }

    func save(model: Student, result: TrainingResult, manifest: MixtureManifest, evaluation: Evaluation, to folder: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        try TrainerCheckpoint.writeAtomically(folder.appendingPathComponent("model")) { try model.save(to: $0) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        struct Summary: Encodable {
            let task: String, method: String, student: String, fraction: Double, seed: UInt64
            let testAccuracy: Double, testExamples: Int, mixture: MixtureManifest, training: TrainingResult
        }
        let summary = Summary(task: task, method: method, student: student, fraction: fraction, seed: seed,
                              testAccuracy: evaluation.accuracy, testExamples: evaluation.count, mixture: manifest, training: result)
        try encoder.encode(summary).write(to: folder.appendingPathComponent("result.json"), options: .atomic)
        var lines = ""
        for row in evaluation.rows {
            var object: [String: Any] = ["id": row.id.description, "input": row.input, "gold": row.gold, "correct": row.correct]
            object["predicted"] = row.predicted ?? NSNull()
            if let rationale = row.rationale { object["rationale"] = rationale }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            lines += String(decoding: data, as: UTF8.self) + "\n"
        }
        try Data(lines.utf8).write(to: folder.appendingPathComponent("predictions.jsonl"), options: .atomic)
        print("saved the model, result.json and predictions.jsonl in \(folder.path)")
    }
}

/// Difficulty names of the synthetic task on the command line.
enum SyntheticTaskOptions {
    /// The help text of `--difficulty`.
    static let help: ArgumentHelp = """
        Synthetic task: easy, classroom or hard, optionally with changes, e.g. \
        classroom,steps=1-3,distractors=0-2,numbers=2-99,parentheses=yes.
        """

    static func difficulty(_ spec: String) throws -> SyntheticDifficulty {
        do { return try SyntheticDifficulty.named(spec) } catch { throw ValidationError("--difficulty: \(error)") }
    }
}

/// What `--student` names: a T5 from scratch, a Hugging Face T5 folder, or a GGUF decoder with
/// LoRA adapters (`LlamaLoRAStudent`).
enum StudentSpec: Equatable {
    case t5(T5Config.Size)
    case huggingFace(String)
    case llama(String)

    static func parse(_ text: String) throws -> StudentSpec {
        if text.hasPrefix("hf:") {
            let path = String(text.dropFirst(3))
            guard !path.isEmpty else { throw ValidationError("--student hf:PATH needs a folder") }
            return .huggingFace(path)
        }
        if text.hasPrefix("llama:") {
            let path = String(text.dropFirst(6))
            guard !path.isEmpty else { throw ValidationError("--student llama:PATH needs a GGUF file") }
            return .llama(path)
        }
        if text.hasPrefix("t5-"), let size = T5Config.Size(rawValue: String(text.dropFirst(3))) { return .t5(size) }
        throw ValidationError("--student must be t5-tiny, t5-mini, t5-small, hf:PATH or llama:PATH, got '\(text)'")
    }

    /// Builds the student; `texts` trains the vocabulary of a student from scratch.
    func make(texts: [String], vocabulary: Int, dropout: Float, lora: LoRAConfig, seed: UInt64) throws -> Student {
        switch self {
        case .t5(let size):
            return try T5Student.fromScratch(size: size, texts: texts, vocabularySize: vocabulary, dropout: dropout, seed: seed)
        case .huggingFace(let path):
            return try T5Student(huggingFace: URL(fileURLWithPath: path))
        case .llama(let path):
            return try LlamaLoRAStudent(ggufPath: path, lora: lora, seed: seed)
        }
    }
}
