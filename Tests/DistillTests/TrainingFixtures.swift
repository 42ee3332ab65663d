// Shared pieces of the training tests: a small synthetic task with program-teacher rationales,
// a very small T5 (seconds per test), and students that wrap or script a student's behaviour.
import Distill
import Foundation
import Models
import Tensor
import XCTest

enum TrainingFixtures {
    /// Easy synthetic problems with the program teacher's outputs (expression-style rationales).
    static func synthetic(count: Int, seed: UInt64 = 1, split: String = "train") throws -> ([Example], [TeacherOutput]) {
        let examples = SyntheticTask(difficulty: .easy).examples(count: count, seed: seed, split: split)
        let outputs = try ProgramTeacher(showResults: false).explain(examples)
        return (examples, outputs)
    }

    /// A T5 smaller than the tiny preset: d_model 32, 1+1 layers.
    static func config(dropout: Float) -> T5Config {
        T5Config(vocabSize: 1, dModel: 32, dKV: 8, dFF: 64, numLayers: 1, numHeads: 4, feedForwardProj: "gated-gelu",
                 tieWordEmbeddings: false, dropoutRate: dropout)
    }

    /// A fresh student whose vocabulary is learned from `data`.
    static func student(_ data: PreparedData, dropout: Float = 0, seed: UInt64 = 7) throws -> T5Student {
        try T5Student.fromScratch(config: config(dropout: dropout), texts: data.texts, vocabularySize: 400, seed: seed)
    }

    /// Step-by-step data over `count` synthetic problems, numbers masked.
    static func stepByStepData(count: Int, alpha: Double = 0.5) throws -> PreparedData {
        let (examples, outputs) = try synthetic(count: count)
        return try Recipe.stepByStep(alpha: alpha, maskNumbers: true).prepare(examples, teacher: outputs, kind: .equation)
    }

    /// A trainer with the evaluation settings `Experiment` would use for an equation task.
    static func trainer(_ student: Student, _ data: PreparedData, validation: [Example] = [], config: TrainerConfig) throws -> Trainer {
        try Trainer(student: student, mixture: data.mixture, validation: validation,
                    evaluation: EvaluationSettings(kind: .equation, maskNumbers: data.recipe.maskNumbers), config: config)
    }

    /// The first `count` examples of a one-component mixture, as draws.
    static func draws(_ count: Int) -> [MixtureDraw] { (0..<count).map { MixtureDraw(component: 0, example: $0) } }

    /// The pairs of a prepared data's stream.
    static func pairs(_ data: PreparedData, _ stream: StudentTask) -> [TrainingPair] {
        data.mixture.stream(named: stream.rawValue)?.pairs ?? []
    }

    /// The mean of a student's target-token losses over pairs (padded, no packing).
    static func meanLoss(_ student: Student, _ pairs: [EncodedPair]) throws -> Double {
        let values = try student.targetTokenLosses(pairs, packLength: nil).scalars
        return values.reduce(0) { $0 + Double($1) } / Double(values.count)
    }

    /// Copies of a student's trainable parameters' values.
    static func weights(_ student: Student) -> [[Float]] { student.trainableParameters().map { $0.1.scalars } }

    /// A fresh temporary folder.
    static func temporaryFolder(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("stepwise-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension Student {
    /// The mean target-token loss of a padded batch: what the trainer minimises for a batch of
    /// one stream with weight 1 (for tests that check the loss by hand).
    func loss(_ batch: [EncodedPair]) throws -> Tensor {
        guard !batch.isEmpty else { throw TrainingError.noTrainingData("an empty batch") }
        let values = try targetTokenLosses(batch, packLength: nil)
        return values.sum() * (1 / Float(values.count))
    }
}

/// A student that forwards to another and can be made to fail: a NaN loss, a failing save.
final class FaultyStudent: Student {
    let inner: Student
    var nanLoss = false
    var failSave = false

    init(_ inner: Student) { self.inner = inner }

    var family: String { inner.family }
    var summary: String { inner.summary }
    func trainableParameters() -> [(String, Tensor)] { inner.trainableParameters() }
    func encode(_ pair: TrainingPair, maxSourceTokens: Int, maxTargetTokens: Int) throws -> EncodedPair {
        try inner.encode(pair, maxSourceTokens: maxSourceTokens, maxTargetTokens: maxTargetTokens)
    }
    func targetTokenLosses(_ pairs: [EncodedPair], packLength: Int?) throws -> Tensor {
        let value = try inner.targetTokenLosses(pairs, packLength: packLength)
        return nanLoss ? value * Float.nan : value
    }
    var packsSourceWithTarget: Bool { inner.packsSourceWithTarget }
    func generate(_ sources: [String], maxNewTokens: Int, cancel: CancellationFlag?) throws -> [String] {
        try inner.generate(sources, maxNewTokens: maxNewTokens, cancel: cancel)
    }
    func setTraining(_ on: Bool) { inner.setTraining(on) }
    func reseedRandomness(_ seed: UInt64) { inner.reseedRandomness(seed) }
    func save(to directory: URL) throws {
        try inner.save(to: directory)
        if failSave {
            struct DiskFull: Error {}
            throw DiskFull()
        }
    }
    func load(from directory: URL) throws { try inner.load(from: directory) }
}

/// A student that answers from a script (source → output), for testing evaluation exactly.
final class ScriptedStudent: Student {
    let script: [String: String]
    private(set) var calls: [[String]] = []

    init(_ script: [String: String]) { self.script = script }

    var family: String { "scripted" }
    var summary: String { "scripted answers" }
    func trainableParameters() -> [(String, Tensor)] { [] }
    func encode(_ pair: TrainingPair, maxSourceTokens: Int, maxTargetTokens: Int) throws -> EncodedPair {
        EncodedPair(source: [1], target: [1])
    }
    func targetTokenLosses(_ pairs: [EncodedPair], packLength: Int?) throws -> Tensor {
        Tensor.zeros([pairs.reduce(0) { $0 + $1.target.count }])
    }
    var packsSourceWithTarget: Bool { false }
    func generate(_ sources: [String], maxNewTokens: Int, cancel: CancellationFlag?) throws -> [String] {
        calls.append(sources)
        return sources.map { script[$0] ?? "" }
    }
    func setTraining(_ on: Bool) {}
    func save(to directory: URL) throws {}
    func load(from directory: URL) throws {}
}
