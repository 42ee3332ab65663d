// An experiment: one task, one kind of student, one trainer configuration, run for any method,
// data fraction and seed: subsample → prepare the streams → train → evaluate on the test split.
// The command line (`stepwise train`, `stepwise sweep`) and the cell language (`train`, `sweep`)
// all run through it, so a figure made in a notebook and one made in a script come from the same
// code.
import Foundation
import Tensor

/// A task's splits and the teacher whose outputs the recipes read.
public struct ExperimentTask {
    /// The task's name.
    public var name: String
    /// How labels compare.
    public var kind: LabelKind
    /// The whole training split; runs subsample it by fraction.
    public var train: [Example]
    /// The validation split that evaluation during training uses.
    public var valid: [Example]
    /// The test split that each run is scored on.
    public var test: [Example]
    /// The teacher: outputs for examples (replay, program), in their order.
    public var explain: ([Example]) throws -> [TeacherOutput]

    /// Creates a task from its parts.
    public init(name: String, kind: LabelKind, train: [Example], valid: [Example], test: [Example],
                explain: @escaping ([Example]) throws -> [TeacherOutput]) {
        self.name = name
        self.kind = kind
        self.train = train
        self.valid = valid
        self.test = test
        self.explain = explain
    }

    /// The seed every carved validation split is drawn with, whatever the run's seed: the
    /// validation examples belong to the task, so every run and every entry point sees the same.
    public static let validationSeed: UInt64 = 0

    /// The synthetic classroom task with its program teacher. Train, validation and test problems
    /// come from seeds 1, 2 and 3, so every run of every recipe sees the same problems.
    /// - Parameters:
    ///   - difficulty: How hard the problems are.
    ///   - trainSize: Training problems (before any fraction).
    ///   - validSize: Validation problems.
    ///   - testSize: Test problems.
    ///   - teacher: The program teacher (its error rate imitates a fallible teacher).
    public static func synthetic(difficulty: SyntheticDifficulty = .classroom, trainSize: Int = 2000, validSize: Int = 200,
                                 testSize: Int = 500, teacher: ProgramTeacher) -> ExperimentTask {
        let generator = SyntheticTask(difficulty: difficulty)
        return ExperimentTask(name: "synthetic", kind: .equation,
                              train: generator.examples(count: trainSize, seed: 1, split: "train"),
                              valid: generator.examples(count: validSize, seed: 2, split: "valid"),
                              test: generator.examples(count: testSize, seed: 3, split: "test"),
                              explain: { try teacher.explain($0) })
    }

    /// One of the paper's tasks, read from `directory`, with the replay teacher over its `llm/`
    /// folder. A task without a validation split gets one carved from train with a fixed seed, so
    /// every run of an experiment validates on the same examples.
    /// - Throws: `DatasetError` for a missing or malformed split.
    public static func benchmark(_ task: BenchmarkTask, directory: String, validFraction: Double = 0.1) throws -> ExperimentTask {
        let dataset = try task.load(from: directory)
        var train = try dataset.split("train"), valid = dataset[split: "valid"]
        let test = try dataset.split("test")
        if valid.isEmpty && validFraction > 0 {
            let carved = try dataset.carvingValidation(fraction: validFraction, seed: ExperimentTask.validationSeed,
                                                       from: "train", into: "carved")
            train = carved[split: "train"]
            valid = carved[split: "carved"]
        }
        let replay = ReplayTeacher(task: task, outputs: URL(fileURLWithPath: directory).appendingPathComponent("llm").path)
        return ExperimentTask(name: task.rawValue, kind: task.labelKind, train: train, valid: valid, test: test,
                              explain: { try replay.explain($0) })
    }
}

/// A method under the name records and tables show it ("finetune", "stepByStep(alpha: 0.3)").
public struct ExperimentMethod: Sendable {
    /// The name in sweep cells, journals and tables.
    public var name: String
    /// What the method trains on: a recipe's streams over the task, or a mixture given whole.
    public var source: Source

    /// What a method trains on.
    public enum Source: Sendable {
        /// A recipe, applied to each run's subsample of the task's training split.
        case recipe(Recipe)
        /// A mixture, trained on as it is (fractions do not apply).
        case mixture(Mixture)
    }

    /// A recipe under a name (default: its method's name).
    public static func recipe(_ recipe: Recipe, name: String? = nil) -> ExperimentMethod {
        ExperimentMethod(name: name ?? recipe.method.rawValue, source: .recipe(recipe))
    }

    /// A mixture under a name.
    public static func mixture(_ mixture: Mixture, name: String = "mixture") -> ExperimentMethod {
        ExperimentMethod(name: name, source: .mixture(mixture))
    }
}

/// A task, a student factory and trainer settings, ready to run any method at any fraction and
/// seed. The one path from data to a scored student: `stepwise train`, `stepwise sweep`, and the
/// `train` and `sweep` builtins all run through `run` (and `sweep`), none assembles the steps itself.
public struct Experiment {
    /// The data and teacher.
    public var task: ExperimentTask
    /// Trainer settings; each run replaces the seed with its own.
    public var config: TrainerConfig
    /// Mask numbers (equation tasks); applied to every recipe the experiment runs.
    public var maskNumbers: Bool
    /// Score only the first N test examples (nil: all).
    public var testLimit: Int?
    /// Generate each test example's rationale into the evaluation rows.
    public var testRationales: Bool
    /// Score test and validation examples by rank classification (tasks with options).
    public var rankClassification: Bool
    /// How test and validation sources are made (the label prefix unless told).
    public var evaluationTemplate = Recipe.template(.label)
    /// Streams to score instead of the task's test split (an instruction-tuning run scores its
    /// held-out cluster, one stream per task and template); nil: the test split.
    public var evaluationStreams: [EvaluationStream]?
    /// Builds a fresh student for a run from the run's training texts and seed.
    public var makeStudent: (_ texts: [String], _ seed: UInt64) throws -> Student

    /// Creates an experiment.
    public init(task: ExperimentTask, config: TrainerConfig, maskNumbers: Bool, testLimit: Int? = nil,
                testRationales: Bool = false, rankClassification: Bool = false,
                makeStudent: @escaping (_ texts: [String], _ seed: UInt64) throws -> Student) {
        self.task = task
        self.config = config
        self.maskNumbers = maskNumbers
        self.testLimit = testLimit
        self.testRationales = testRationales
        self.rankClassification = rankClassification
        self.makeStudent = makeStudent
    }

    /// What one run produced.
    public struct Outcome {
        /// The trained student (at its best or last step, as the trainer left it).
        public var student: Student
        /// What the recipe kept and dropped (nil for a mixture given whole).
        public var report: RecipeReport?
        /// The mixture's manifest: streams, sizes, rates, seed and data hash.
        public var manifest: MixtureManifest
        /// Examples in the training subsample.
        public var trainExamples: Int
        /// The training run.
        public var training: TrainingResult
        /// The test evaluation; nil when the task has no test split, or training was cancelled
        /// (unless the run was asked to test anyway).
        public var evaluation: Evaluation?
        /// The evaluation of `evaluationStreams`, when the experiment has them (then `evaluation` is nil).
        public var streams: StreamsEvaluation?
        /// Wall time of the whole run (recipe, training, evaluation), in seconds.
        public var seconds: Double
    }

    /// Events of a run, for progress displays.
    public enum Event {
        /// The data is prepared, the student built and the trainer ready for `totalSteps` steps.
        case prepared(report: RecipeReport?, manifest: MixtureManifest, student: String, trainExamples: Int, totalSteps: Int)
        /// Training continues from a checkpoint at this step.
        case resumed(step: Int)
        /// A trainer event.
        case training(TrainingEvent)
        /// Test evaluation progress: done of total.
        case testing(done: Int, total: Int)
    }

    /// How this experiment scores examples of its task.
    public func evaluationSettings(withRationales: Bool) -> EvaluationSettings {
        EvaluationSettings(kind: task.kind, maskNumbers: maskNumbers, batchSize: config.evalBatchSize,
                           maxNewTokens: config.maxNewTokens, withRationales: withRationales,
                           maxRationaleTokens: config.maxRationaleTokens, rankClassification: rankClassification,
                           template: evaluationTemplate)
    }

    /// Trains a student with `method` on `fraction` of the training split (subsampled with
    /// `seed`) and scores it on the test split: split → train → evaluate.
    /// - Parameters:
    ///   - method: The method; the experiment's masking replaces a recipe's.
    ///   - fraction: The share of the training split, in (0, 1] (recipes only).
    ///   - seed: The seed of the subsample, the student's initial weights, the draw order and dropout.
    ///   - student: Train this student instead of a fresh one from `makeStudent`.
    ///   - resume: A checkpoint folder to continue from.
    ///   - testWhenCancelled: Score the test split even when training was interrupted (the
    ///     command line does: the model is evaluated as it stands); otherwise it is skipped.
    ///   - cancel: Stops training at the last completed step.
    ///   - onEvent: Progress.
    /// - Throws: `DatasetError`, `TrainingError`, or the teacher's and student's errors.
    public func run(_ method: ExperimentMethod, fraction: Double = 1, seed: UInt64, student given: Student? = nil,
                    resume: URL? = nil, testWhenCancelled: Bool = false, cancel: CancellationFlag? = nil,
                    onEvent: ((Event) -> Void)? = nil) throws -> Outcome {
        let started = Date()
        let mixture: Mixture, report: RecipeReport?, trainExamples: Int
        switch method.source {
        case .recipe(var recipe):
            recipe.maskNumbers = maskNumbers
            let train = try Dataset.subsample(task.train, fraction: fraction, seed: seed)
            let outputs = recipe.needsTeacher ? try task.explain(train) : []
            let data = try recipe.prepare(train, teacher: outputs, kind: task.kind, maxRationaleTokens: config.maxRationaleTokens)
            (mixture, report, trainExamples) = (data.mixture, data.report, train.count)
        case .mixture(let given):
            guard fraction == 1 else {
                throw TrainingError.invalidSetting("a mixture is trained on whole; fraction \(fraction) applies only to recipes")
            }
            (mixture, report, trainExamples) = (given, nil, given.components.reduce(0) { $0 + $1.examples.count })
        }
        let student = try given ?? makeStudent(mixture.texts, seed)
        var settings = config
        settings.seed = seed
        let trainer = try Trainer(student: student, mixture: mixture, validation: task.valid,
                                  evaluation: evaluationSettings(withRationales: false), config: settings)
        onEvent?(.prepared(report: report, manifest: trainer.manifest, student: student.summary, trainExamples: trainExamples,
                           totalSteps: trainer.totalSteps))
        if let resume {
            try trainer.resume(from: resume)
            onEvent?(.resumed(step: trainer.state.step))
        }
        let training = try trainer.train(cancel: cancel) { onEvent?(.training($0)) }
        var evaluation: Evaluation?, streams: StreamsEvaluation?
        if let evaluationStreams, training.stopReason != .cancelled || testWhenCancelled {
            let total = evaluationStreams.reduce(0) { $0 + $1.examples.count }
            streams = try StudentEvaluator.evaluate(student, streams: evaluationStreams,
                                                    cancel: training.stopReason == .cancelled ? nil : cancel) { done, _ in
                onEvent?(.testing(done: done, total: total))
            }
        } else if training.stopReason != .cancelled || testWhenCancelled, !task.test.isEmpty {
            let test = Array(task.test.prefix(testLimit ?? task.test.count))
            // After an interrupt the flag stays set; the test then runs without it.
            evaluation = try StudentEvaluator.evaluate(student, on: test, settings: evaluationSettings(withRationales: testRationales),
                                                       cancel: training.stopReason == .cancelled ? nil : cancel) {
                onEvent?(.testing(done: $0, total: $1))
            }
        }
        return Outcome(student: student, report: report, manifest: trainer.manifest, trainExamples: trainExamples,
                       training: training, evaluation: evaluation, streams: streams, seconds: Date().timeIntervalSince(started))
    }

    /// Runs every cell of `sweep` that its journal does not hold yet. The grid's method names are
    /// the names of `methods`, in the same order.
    /// - Parameters:
    ///   - sweep: The grid.
    ///   - methods: One method per name in the grid.
    ///   - journal: Where finished cells are recorded as they finish; a re-run resumes from it.
    ///   - cancel: Stops the current cell (which is not recorded) and the sweep.
    ///   - onEvent: Progress of the current cell.
    ///   - onRecord: Called when a cell finishes, with cells done and total.
    /// - Throws: `TrainingError.invalidSetting` when the grid and the methods disagree,
    ///   `.cancelled` when interrupted mid-cell, or a run's error.
    public func sweep(_ sweep: Sweep, methods: [ExperimentMethod], journal: URL?, cancel: CancellationFlag? = nil,
                      onEvent: ((SweepCell, Event) -> Void)? = nil,
                      onRecord: ((SweepRecord, Int, Int) -> Void)? = nil) throws -> SweepResult {
        guard sweep.methods == methods.map(\.name) else {
            throw TrainingError.invalidSetting("the sweep's methods (\(sweep.methods.joined(separator: ", "))) are not the methods given (\(methods.map(\.name).joined(separator: ", ")))")
        }
        return try sweep.run(journal: journal, cancel: cancel, progress: { onRecord?($0, $1, $2) }) { cell, methodIndex in
            let outcome = try run(methods[methodIndex], fraction: cell.fraction, seed: cell.seed, cancel: cancel) {
                onEvent?(cell, $0)
            }
            guard let accuracy = outcome.streams?.meanOverTemplates ?? outcome.evaluation?.accuracy else { throw TrainingError.cancelled }
            return SweepRecord(cell: cell, accuracy: accuracy, trainExamples: outcome.trainExamples,
                               steps: outcome.training.steps, seconds: outcome.seconds,
                               stopReason: outcome.training.stopReason.rawValue, mixture: outcome.manifest)
        }
    }
}
