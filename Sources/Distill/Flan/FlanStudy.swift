// The FLAN comparison: arms (untuned, FLAN's instructions, and the paper's two ablations) × seeds,
// each a fresh student tuned on the tuning tasks' mixture and scored zero-shot on the held-out
// cluster under templates it never saw. Cells run through `Experiment` (one path from data to a
// scored student) and are journaled as they finish, so an interrupted study resumes. Each cell's
// per-example scores are kept beside the journal for the paired bootstrap.
import Foundation
import Tensor

/// One arm of the comparison.
public enum FlanArm: String, CaseIterable, Sendable, Codable {
    /// The student as it starts (a from-scratch student scores about chance).
    case untuned
    /// Tuned under the tasks' instruction templates.
    case flan
    /// Tuned on inputs and options only.
    case noTemplate = "no-template"
    /// Tuned with the task's name in place of an instruction.
    case datasetName = "dataset-name"

    /// The template preset the arm tunes with (nil: no tuning).
    public var preset: TemplatePreset? {
        switch self {
        case .untuned: return nil
        case .flan: return .instructions
        case .noTemplate: return .noTemplate
        case .datasetName: return .datasetName
        }
    }

    /// The arm called `name`.
    /// - Throws: `TrainingError.invalidSetting` naming the arms there are.
    public static func named(_ name: String) throws -> FlanArm {
        guard let arm = FlanArm(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
            throw TrainingError.invalidSetting("unknown arm '\(name)'; the arms are \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return arm
    }
}

/// One finished cell's held-out scores.
public struct FlanScores: Codable, Hashable, Sendable {
    public var arm: String
    public var seed: UInt64
    /// Mean over templates of the per-template accuracy.
    public var accuracy: Double
    /// Accuracy per scoring template.
    public var templates: [String: Double]
    /// Each held-out example's correctness averaged over its templates ("task#split#index").
    public var examples: [String: Double]
    /// Each example's chance score (1 / its options), for a from-scratch baseline.
    public var chance: [String: Double]
    /// Mean over templates on the tuning tasks' own test examples (nil when not measured): did
    /// the tuning take? Held-in streams never enter `accuracy`, `templates` or `examples`.
    public var heldIn: Double?
}

/// A comparison of an arm with a baseline on one seed.
public struct FlanComparison: Codable, Hashable, Sendable {
    public var arm: String
    public var baseline: String
    public var seed: UInt64
    public var bootstrap: PairedBootstrap
}

/// The study: tuning tasks, held-out tasks, and how each arm is tuned and scored.
public struct FlanStudy {
    /// Tasks to tune on.
    public var tuning: [InstructionTask]
    /// Tasks of the held-out clusters.
    public var heldOut: [InstructionTask]
    /// The held-out clusters.
    public var clusters: [String]
    /// The mixture's settings; each arm replaces the preset, and the held-out clusters are refused.
    public var mixture: InstructionMixtureSettings
    /// Trainer settings; each cell replaces the seed with its own.
    public var config: TrainerConfig
    /// Held-out test examples per task (label-balanced); nil: all.
    public var evalLimit: Int?
    /// Test examples per tuning task scored held-in, under the task's templates, as a check that
    /// tuning took (nil: none).
    public var heldInLimit: Int?
    /// Builds a fresh student from the training texts and the cell's seed.
    public var makeStudent: (_ texts: [String], _ seed: UInt64) throws -> Student

    /// Creates a study.
    /// - Throws: `TrainingError.invalidSetting` when a tuning task is in a held-out cluster or no
    ///   held-out task is.
    public init(tuning: [InstructionTask], heldOut: [InstructionTask], clusters: [String],
                mixture: InstructionMixtureSettings = InstructionMixtureSettings(), config: TrainerConfig, evalLimit: Int? = nil,
                heldInLimit: Int? = nil,
                makeStudent: @escaping (_ texts: [String], _ seed: UInt64) throws -> Student) throws {
        try InstructionMixture.checkHeldOut(tuning, heldOut: clusters)
        guard heldOut.contains(where: { clusters.contains($0.cluster) }) else {
            throw TrainingError.invalidSetting("no held-out task is in \(clusters.joined(separator: ", "))")
        }
        self.tuning = tuning
        self.heldOut = heldOut
        self.clusters = clusters
        self.mixture = mixture
        self.mixture.heldOut = clusters
        self.config = config
        self.evalLimit = evalLimit
        self.heldInLimit = heldInLimit
        self.makeStudent = makeStudent
    }

    /// The held-out evaluation streams.
    public func evaluationStreams() throws -> [EvaluationStream] {
        try InstructionMixture.heldOutStreams(heldOut, clusters: clusters, limit: evalLimit, batchSize: config.evalBatchSize)
    }

    /// The tuning mixture of an arm (the FLAN arm's for `.untuned`, whose texts build its vocabulary).
    public func mixture(for arm: FlanArm) throws -> Mixture {
        var settings = mixture
        settings.preset = arm.preset ?? .instructions
        return try InstructionMixture.mixture(tuning, settings: settings)
    }

    /// Runs every cell its journal does not hold yet.
    /// - Parameters:
    ///   - arms: The arms, in table order.
    ///   - seeds: The seeds.
    ///   - folder: Where `journal.jsonl` and `scores/` go (nil: nowhere, nothing resumes).
    ///   - cancel: Stops the current cell (not recorded) and the study.
    ///   - onEvent: Progress of the current cell.
    ///   - onRecord: Called as each cell finishes, with cells done and total.
    /// - Throws: `TrainingError.cancelled` when interrupted mid-cell, or a run's error.
    public func run(arms: [FlanArm], seeds: [UInt64], folder: URL?, cancel: CancellationFlag? = nil,
                    onEvent: ((SweepCell, Experiment.Event) -> Void)? = nil,
                    onRecord: ((SweepRecord, Int, Int) -> Void)? = nil) throws -> FlanResult {
        let grid = try Sweep(methods: arms.map(\.rawValue), fractions: [1], seeds: seeds)
        let streams = try evaluationStreams()
        // Held-in streams: each tuning task with test examples, under its scoring templates.
        let tested = tuning.filter { !$0.test.isEmpty }
        let heldIn = try heldInLimit.flatMap { limit -> [EvaluationStream]? in
            tested.isEmpty ? nil : try InstructionMixture.heldOutStreams(tested, clusters: Array(Set(tested.map(\.cluster))),
                                                                         limit: limit, batchSize: config.evalBatchSize)
        } ?? []
        let heldInNames = Set(heldIn.map(\.name))
        let task = ExperimentTask(name: "flan", kind: .text, train: [], valid: [], test: [], explain: { _ in [] })
        var experiment = Experiment(task: task, config: config, maskNumbers: false, makeStudent: makeStudent)
        experiment.evaluationStreams = streams + heldIn
        let mixtures = try Dictionary(uniqueKeysWithValues: Set(arms.map { $0.preset ?? .instructions }).map { preset in
            var settings = mixture
            settings.preset = preset
            return (preset, try InstructionMixture.mixture(tuning, settings: settings))
        })
        let scoresFolder = folder?.appendingPathComponent("scores")
        let journal = folder?.appendingPathComponent("journal.jsonl")
        var fresh: [SweepCell: FlanScores] = [:]
        let sweep = try grid.run(journal: journal, cancel: cancel, progress: { onRecord?($0, $1, $2) }) { cell, index in
            let arm = arms[index]
            let started = Date()
            guard let tuned = mixtures[arm.preset ?? .instructions] else { throw TrainingError.invalidSetting("no mixture for \(arm)") }
            let evaluation: StreamsEvaluation, steps: Int, manifest: MixtureManifest
            if arm == .untuned {
                let student = try makeStudent(tuned.texts, cell.seed)
                evaluation = try StudentEvaluator.evaluate(student, streams: streams + heldIn, cancel: cancel)
                (steps, manifest) = (0, tuned.manifest(seed: cell.seed))
            } else {
                let outcome = try experiment.run(.mixture(tuned, name: arm.rawValue), seed: cell.seed, cancel: cancel) { onEvent?(cell, $0) }
                guard let result = outcome.streams, outcome.training.stopReason != .cancelled else { throw TrainingError.cancelled }
                (evaluation, steps, manifest) = (result, outcome.training.steps, outcome.manifest)
            }
            let held = StreamsEvaluation(rows: evaluation.rows.filter { !heldInNames.contains($0.stream) })
            let heldInRows = StreamsEvaluation(rows: evaluation.rows.filter { heldInNames.contains($0.stream) })
            let scores = FlanScores(arm: arm.rawValue, seed: cell.seed, accuracy: held.meanOverTemplates,
                                    templates: Dictionary(held.byTemplate.map { ($0.template, $0.accuracy) }, uniquingKeysWith: { a, _ in a }),
                                    examples: held.exampleScores, chance: Self.chance(streams),
                                    heldIn: heldInRows.rows.isEmpty ? nil : heldInRows.meanOverTemplates)
            if let scoresFolder { try Self.write(scores, to: scoresFolder) }
            fresh[cell] = scores
            return SweepRecord(cell: cell, accuracy: scores.accuracy, trainExamples: tuned.components.reduce(0) { $0 + $1.examples.count },
                               steps: steps, seconds: Date().timeIntervalSince(started), stopReason: arm == .untuned ? "untuned" : "finished",
                               mixture: manifest)
        }
        var scores: [FlanScores] = []
        for record in sweep.records {
            if let kept = fresh[record.cell] { scores.append(kept) } else if let scoresFolder {
                scores.append(try Self.read(arm: record.cell.method, seed: record.cell.seed, from: scoresFolder))
            }
        }
        return FlanResult(arms: arms.map(\.rawValue), seeds: seeds, records: sweep.records, scores: scores)
    }

    /// Each held-out example's chance score: 1 / its number of options (0 without options).
    static func chance(_ streams: [EvaluationStream]) -> [String: Double] {
        var out: [String: Double] = [:]
        for stream in streams {
            let task = stream.name.split(separator: "/").first.map(String.init) ?? stream.name
            for example in stream.examples {
                let options = (try? StudentEvaluator.options(for: example, kind: stream.settings.kind))?.count ?? 0
                out["\(task)#\(example.id)"] = options > 0 ? 1 / Double(options) : 0
            }
        }
        return out
    }

    static func file(arm: String, seed: UInt64, in folder: URL) -> URL {
        folder.appendingPathComponent("\(arm)-seed\(seed).json")
    }

    static func write(_ scores: FlanScores, to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let url = file(arm: scores.arm, seed: scores.seed, in: folder)
        try SweepFormat.atomicWrite(String(decoding: try encoder.encode(scores), as: UTF8.self), to: url)
    }

    static func read(arm: String, seed: UInt64, from folder: URL) throws -> FlanScores {
        let url = file(arm: arm, seed: seed, in: folder)
        do {
            return try JSONDecoder().decode(FlanScores.self, from: Data(contentsOf: url))
        } catch {
            throw TrainingError.invalidSetting("the scores of \(arm) seed \(seed) at \(url.path) are missing or unreadable (\(error.localizedDescription)); delete that cell's line from journal.jsonl to run it again")
        }
    }
}

/// A finished study: its records, per-example scores, and the comparisons the criteria read.
public struct FlanResult: Sendable {
    public var arms: [String]
    public var seeds: [UInt64]
    public var records: [SweepRecord]
    public var scores: [FlanScores]

    /// The scores of an arm on a seed.
    public func scores(_ arm: String, seed: UInt64) -> FlanScores? { scores.first { $0.arm == arm && $0.seed == seed } }

    /// Paired bootstraps of `arm` against `baseline` (an arm, or "chance") on each seed both ran.
    public func compare(_ arm: String, with baseline: String, resamples: Int = 1000) throws -> [FlanComparison] {
        try seeds.compactMap { seed -> FlanComparison? in
            guard let a = scores(arm, seed: seed) else { return nil }
            let reference: [String: Double]
            if baseline == "chance" { reference = a.chance } else {
                guard let b = scores(baseline, seed: seed) else { return nil }
                reference = b.examples
            }
            let keys = a.examples.keys.filter { reference[$0] != nil }.sorted()
            let bootstrap = try PairedBootstrap.compare(keys.map { a.examples[$0] ?? 0 }, keys.map { reference[$0] ?? 0 },
                                                        resamples: resamples, seed: seed)
            return FlanComparison(arm: arm, baseline: baseline, seed: seed, bootstrap: bootstrap)
        }
    }

    /// Mean and sample standard deviation of an arm's accuracy over its seeds.
    public func summary(_ arm: String) -> (mean: Double, std: Double, runs: Int) {
        let values = scores.filter { $0.arm == arm }.map(\.accuracy)
        guard !values.isEmpty else { return (0, 0, 0) }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.count > 1 ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1) : 0
        return (mean, variance.squareRoot(), values.count)
    }

    /// The pre-registered criterion: FLAN beats `baseline` by ≥ 5 points with its 95% interval
    /// above 0 on every seed, and beats no-template (mean over seeds). Nil when an arm is missing.
    public func flanShows(baseline: String) throws -> Bool? {
        let versus = try compare(FlanArm.flan.rawValue, with: baseline)
        guard !versus.isEmpty, versus.count == seeds.count, arms.contains(FlanArm.noTemplate.rawValue) else { return nil }
        let everySeed = versus.allSatisfy { $0.bootstrap.difference >= 0.05 && $0.bootstrap.low > 0 }
        return everySeed && summary(FlanArm.flan.rawValue).mean > summary(FlanArm.noTemplate.rawValue).mean
    }

    /// records.csv: one row per cell.
    public var recordsCSV: String {
        var lines = ["arm,seed,accuracy,held_in,steps,seconds,data"]
        for r in records {
            let heldIn = scores(r.cell.method, seed: r.cell.seed)?.heldIn.map { String(format: "%.4f", $0) } ?? ""
            lines.append("\(r.cell.method),\(r.cell.seed),\(String(format: "%.4f", r.accuracy)),\(heldIn),\(r.steps),\(String(format: "%.1f", r.seconds)),\(r.data ?? "")")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// comparisons.csv: each arm against chance and, when present, untuned, per seed.
    public func comparisonsCSV() throws -> String {
        var lines = ["arm,baseline,seed,difference,low,high"]
        for arm in arms {
            for baseline in ["chance"] + (arms.contains("untuned") && arm != "untuned" ? ["untuned"] : []) + (arm == "flan" && arms.contains("no-template") ? ["no-template"] : []) {
                for c in try compare(arm, with: baseline) {
                    lines.append("\(arm),\(baseline),\(c.seed),\(String(format: "%.4f", c.bootstrap.difference)),\(String(format: "%.4f", c.bootstrap.low)),\(String(format: "%.4f", c.bootstrap.high))")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The table printed at the end: each arm's mean ± std over seeds and per-seed accuracies.
    public var table: String {
        var lines = ["arm            held-out mean ± std   per seed              held-in per seed"]
        for arm in arms {
            let s = summary(arm)
            let perSeed = seeds.compactMap { scores(arm, seed: $0).map { String(format: "%.1f", 100 * $0.accuracy) } }.joined(separator: ", ")
            let heldIn = seeds.compactMap { scores(arm, seed: $0)?.heldIn.map { String(format: "%.1f", 100 * $0) } }.joined(separator: ", ")
            let name = arm.count < 14 ? arm + String(repeating: " ", count: 14 - arm.count) : arm
            let column = perSeed.count < 22 ? perSeed + String(repeating: " ", count: 22 - perSeed.count) : perSeed
            lines.append(name + String(format: " %5.1f ± %4.1f%%        ", 100 * s.mean, 100 * s.std) + column + (heldIn.isEmpty ? "—" : heldIn))
        }
        return lines.joined(separator: "\n")
    }
}
