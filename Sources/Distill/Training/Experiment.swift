// An experiment: one task, one kind of student, one trainer configuration, run for any recipe,
// data fraction and seed — train on the subsample, evaluate on the test split. The command line
// (`stepwise train`, `stepwise sweep`) and the cell language's `sweep` share it, so a figure made
// in a notebook and one made in a script come from the same code.
import Foundation

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
        if valid.isEmpty {
            let carved = try dataset.carvingValidation(fraction: validFraction, seed: 0, from: "train", into: "carved")
            train = carved[split: "train"]
            valid = carved[split: "carved"]
        }
        let replay = ReplayTeacher(task: task, outputs: URL(fileURLWithPath: directory).appendingPathComponent("llm").path)
        return ExperimentTask(name: task.rawValue, kind: task.labelKind, train: train, valid: valid, test: test,
                              explain: { try replay.explain($0) })
    }
}

/// A task, a student factory and trainer settings, ready to run any recipe at any fraction and seed.
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
    /// Builds a fresh student for a run from the run's training texts and seed.
    public var makeStudent: (_ texts: [String], _ seed: UInt64) throws -> Student

    /// Creates an experiment.
    public init(task: ExperimentTask, config: TrainerConfig, maskNumbers: Bool, testLimit: Int? = nil,
                testRationales: Bool = false, makeStudent: @escaping (_ texts: [String], _ seed: UInt64) throws -> Student) {
        self.task = task
        self.config = config
        self.maskNumbers = maskNumbers
        self.testLimit = testLimit
        self.testRationales = testRationales
        self.makeStudent = makeStudent
    }

    /// What one run produced.
    public struct Outcome {
        /// The trained student (at its best or last step, as the trainer left it).
        public var student: Student
        /// What the recipe kept and dropped.
        public var report: RecipeReport
        /// Examples in the training subsample.
        public var trainExamples: Int
        /// The training run.
        public var training: TrainingResult
        /// The test evaluation; nil when training was cancelled.
        public var evaluation: Evaluation?
        /// Wall time of the whole run (recipe, training, evaluation), in seconds.
        public var seconds: Double
    }

    /// Events of a run, for progress displays.
    public enum Event {
        /// The recipe is prepared and the student built.
        case prepared(report: RecipeReport, student: String, trainExamples: Int)
        /// A trainer event.
        case training(TrainingEvent)
        /// Test evaluation progress: done of total.
        case testing(done: Int, total: Int)
    }

    /// Trains a fresh student with `recipe` on `fraction` of the training split (subsampled with
    /// `seed`) and scores it on the test split.
    /// - Parameters:
    ///   - recipe: The method; the experiment's masking replaces the recipe's.
    ///   - fraction: The share of the training split, in (0, 1].
    ///   - seed: The seed of the subsample, the student's initial weights and the batch order.
    ///   - cancel: Stops training at the last completed step, and skips the test evaluation.
    ///   - onEvent: Progress.
    /// - Throws: `DatasetError`, `TrainingError`, or the teacher's and student's errors.
    public func run(recipe: Recipe, fraction: Double, seed: UInt64, cancel: CancellationFlag? = nil,
                    onEvent: ((Event) -> Void)? = nil) throws -> Outcome {
        let started = Date()
        var recipe = recipe
        recipe.maskNumbers = maskNumbers
        let train = try Dataset.subsample(task.train, fraction: fraction, seed: seed)
        let outputs = recipe.needsTeacher ? try task.explain(train) : []
        let data = try recipe.prepare(train, teacher: outputs, kind: task.kind)
        let student = try makeStudent(data.texts, seed)
        onEvent?(.prepared(report: data.report, student: student.summary, trainExamples: train.count))
        var settings = config
        settings.seed = seed
        let trainer = try Trainer(student: student, data: data, validation: task.valid, kind: task.kind, config: settings)
        let training = try trainer.train(cancel: cancel) { onEvent?(.training($0)) }
        var evaluation: Evaluation?
        if training.stopReason != .cancelled {
            let test = Array(task.test.prefix(testLimit ?? task.test.count))
            let evaluationSettings = EvaluationSettings(kind: task.kind, maskNumbers: maskNumbers, batchSize: config.evalBatchSize,
                                                        maxNewTokens: config.maxNewTokens, withRationales: testRationales,
                                                        maxRationaleTokens: config.maxRationaleTokens)
            evaluation = try StudentEvaluator.evaluate(student, on: test, settings: evaluationSettings, cancel: cancel) {
                onEvent?(.testing(done: $0, total: $1))
            }
        }
        return Outcome(student: student, report: data.report, trainExamples: train.count, training: training,
                       evaluation: evaluation, seconds: Date().timeIntervalSince(started))
    }

    /// Runs every cell of `sweep` that its journal does not hold yet; method names resolve
    /// through `recipes` (default: the three methods with `alpha` 0.5 and no agreement filter).
    /// - Parameters:
    ///   - sweep: The grid.
    ///   - recipes: The recipe of each method name in the grid.
    ///   - journal: Where finished cells are recorded as they finish; a re-run resumes from it.
    ///   - cancel: Stops the current cell (which is not recorded) and the sweep.
    ///   - onEvent: Progress of the current cell.
    ///   - onRecord: Called when a cell finishes, with cells done and total.
    /// - Throws: `TrainingError.invalidSetting` for a method without a recipe, `.cancelled` when
    ///   interrupted mid-cell, or a run's error.
    public func sweep(_ sweep: Sweep, recipes: [String: Recipe] = Experiment.standardRecipes, journal: URL?,
                      cancel: CancellationFlag? = nil, onEvent: ((SweepCell, Event) -> Void)? = nil,
                      onRecord: ((SweepRecord, Int, Int) -> Void)? = nil) throws -> SweepResult {
        for method in sweep.methods where recipes[method] == nil {
            throw TrainingError.invalidSetting("the sweep has no recipe for '\(method)'; known: \(recipes.keys.sorted().joined(separator: ", "))")
        }
        return try sweep.run(journal: journal, cancel: cancel, progress: { onRecord?($0, $1, $2) }) { cell in
            let outcome = try run(recipe: recipes[cell.method]!, fraction: cell.fraction, seed: cell.seed, cancel: cancel) {
                onEvent?(cell, $0)
            }
            guard let evaluation = outcome.evaluation else { throw TrainingError.cancelled }
            return SweepRecord(cell: cell, accuracy: evaluation.accuracy, trainExamples: outcome.trainExamples,
                               steps: outcome.training.steps, seconds: outcome.seconds,
                               stopReason: outcome.training.stopReason.rawValue)
        }
    }

    /// The three methods under their names: finetune, distill, step-by-step (alpha 0.5).
    public static let standardRecipes: [String: Recipe] = [
        TrainingMethod.finetune.rawValue: .finetune(),
        TrainingMethod.distill.rawValue: .distill(),
        TrainingMethod.stepByStep.rawValue: .stepByStep(),
    ]
}
