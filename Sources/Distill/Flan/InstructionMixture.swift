// Instruction tuning on the multi-task core: each task becomes one stream whose examples are each
// rendered under one of the task's templates (drawn with the mixture's seed) and in one of the
// mixture's formats (zero-shot, few-shot with exemplars from the training split, or
// chain-of-thought with the rationale). Tasks belong to clusters; a mixture that holds a cluster
// out refuses any of its tasks, and the held-out cluster is scored zero-shot under templates the
// tuning never saw, by rank classification over the options.
import Foundation

/// A task as instruction tuning sees it: its splits, cluster, label kind and templates.
public struct InstructionTask: Sendable {
    /// The task's name (the stream's name in a mixture).
    public var name: String
    /// Its cluster ("nli", "commonsense", "arithmetic", or a world cluster).
    public var cluster: String
    /// How its labels compare.
    public var kind: LabelKind
    /// Training examples (class tasks get their classes as choices, so `{options}` renders).
    public var train: [Example]
    /// Test examples, likewise.
    public var test: [Example]
    /// Its templates.
    public var templates: [InstructionTemplate]

    /// Creates a task. Templates default to the task's built-in set, else the generic set.
    public init(name: String, cluster: String? = nil, kind: LabelKind, train: [Example], test: [Example],
                templates: [InstructionTemplate]? = nil) {
        self.name = name
        self.cluster = cluster ?? InstructionTask.cluster(of: name) ?? name
        self.kind = kind
        self.train = InstructionTask.withOptions(train, kind: kind)
        self.test = InstructionTask.withOptions(test, kind: kind)
        let options = StudentEvaluator.hasOptions(self.train + self.test, kind: kind)
        self.templates = templates ?? InstructionTemplates.templates(for: name, hasOptions: options)
    }

    /// The cluster a task Stepwise knows belongs to: NLI (anli1, esnli), commonsense (cqa),
    /// arithmetic (svamp, synthetic, and the world's add and is-even), or a world cluster.
    public static func cluster(of task: String) -> String? {
        switch task {
        case "anli1", "esnli": return "nli"
        case "cqa": return "commonsense"
        case "svamp", "synthetic": return "arithmetic"
        default: return WordTasks.cluster(of: task)
        }
    }

    /// Class tasks' examples with their classes as choices (so `{options}` renders them).
    static func withOptions(_ examples: [Example], kind: LabelKind) -> [Example] {
        guard case .classes(let classes) = kind, !classes.isEmpty else { return examples }
        return examples.map { var e = $0; if e.choices.isEmpty { e.choices = classes }; return e }
    }

    /// Whether the task's examples have options to rank.
    public var hasOptions: Bool { StudentEvaluator.hasOptions(train + test, kind: kind) }

    /// The templates that can score it (not turned around).
    public var scoringTemplates: [InstructionTemplate] { templates.filter { !$0.turnedAround } }

    /// The instruction world: every word task with `train` and `test` examples (train from
    /// `seed`, test from `seed + 1`).
    /// - Throws: `TrainingError.invalidSetting` for a negative count.
    public static func world(train: Int, test: Int, seed: UInt64) throws -> [InstructionTask] {
        try WordTasks.clusters.map { task, cluster in
            InstructionTask(name: task, cluster: cluster, kind: WordTasks.kind(of: task),
                            train: try WordTasks.examples(task, count: train, seed: seed, split: "train"),
                            test: try WordTasks.examples(task, count: test, seed: seed &+ 1, split: "test"))
        }
    }

    /// Up to `limit` test examples, label-balanced for class tasks (classes take turns, each in
    /// file order), else the first `limit`.
    public func balancedTest(limit: Int?) -> [Example] {
        let limit = limit ?? test.count
        guard case .classes(let classes) = kind else { return Array(test.prefix(limit)) }
        var queues = classes.map { c in test.filter { $0.label == c }[...] }
        var out: [Example] = []
        while out.count < limit, queues.contains(where: { !$0.isEmpty }) {
            for k in queues.indices where out.count < limit {
                if let next = queues[k].first { out.append(next); queues[k] = queues[k].dropFirst() }
            }
        }
        return out
    }
}

/// The formats of the 2022 Flan Collection.
public enum InstructionFormat: String, CaseIterable, Sendable, Codable {
    /// The template alone.
    case zeroShot = "zero-shot"
    /// `shots` exemplars from the training split (never the example itself), then the example.
    case fewShot = "few-shot"
    /// The source asks to think step by step; the target is the rationale, then the answer.
    case chainOfThought = "cot"
}

/// How an instruction mixture is built.
public struct InstructionMixtureSettings: Sendable {
    /// Examples a task counts for its rate (FLAN: 3,000); nil for none.
    public var cap: Int?
    /// The mixing temperature.
    public var temperature: Double
    /// Formats each example is drawn from (chain-of-thought only where there is a rationale).
    public var formats: [InstructionFormat]
    /// Instructions, or an ablation.
    public var preset: TemplatePreset
    /// Clusters held out: a task of one of them is refused.
    public var heldOut: [String]
    /// Exemplars in a few-shot example.
    public var shots: Int
    /// The seed of every template, format and exemplar draw.
    public var seed: UInt64

    /// Creates settings.
    public init(cap: Int? = 3000, temperature: Double = 1, formats: [InstructionFormat] = [.zeroShot],
                preset: TemplatePreset = .instructions, heldOut: [String] = [], shots: Int = 2, seed: UInt64 = 0) {
        self.cap = cap
        self.temperature = temperature
        self.formats = formats
        self.preset = preset
        self.heldOut = heldOut
        self.shots = shots
        self.seed = seed
    }
}

/// Builds instruction mixtures and their held-out evaluations.
public enum InstructionMixture {
    /// Refuses a task that belongs to a held-out cluster.
    /// - Throws: `TrainingError.invalidSetting` naming the first such task and its cluster.
    public static func checkHeldOut(_ tasks: [InstructionTask], heldOut: [String]) throws {
        if let task = tasks.first(where: { heldOut.contains($0.cluster) }) {
            throw TrainingError.invalidSetting("task '\(task.name)' belongs to the held-out cluster '\(task.cluster)'; a mixture that holds out \(task.cluster) cannot tune on it (leave it out of the tasks)")
        }
    }

    /// One stream per task, each example under a drawn template and format.
    /// - Throws: `TrainingError.invalidSetting` for a held-out task, a template that does not
    ///   render an example, duplicate task names or bad settings.
    public static func streams(_ tasks: [InstructionTask], settings: InstructionMixtureSettings) throws -> [TaskStream] {
        guard !settings.formats.isEmpty else { throw TrainingError.invalidSetting("an instruction mixture needs at least one format") }
        guard settings.shots >= 1 else { throw TrainingError.invalidSetting("few-shot needs at least 1 exemplar, got \(settings.shots)") }
        try checkHeldOut(tasks, heldOut: settings.heldOut)
        var names = Set<String>()
        return try tasks.enumerated().map { t, task in
            guard names.insert(task.name).inserted else {
                throw TrainingError.invalidSetting("task '\(task.name)' is given twice")
            }
            let templates: [InstructionTemplate]
            if let ablation = InstructionTemplates.ablation(settings.preset, task: task.name, hasOptions: task.hasOptions) {
                templates = [ablation]
            } else {
                templates = task.templates
            }
            guard !templates.isEmpty else { throw TrainingError.invalidSetting("task '\(task.name)' has no templates") }
            for template in templates { try template.template.validate() }
            let forward = templates.filter { !$0.turnedAround }
            var pairs: [TrainingPair] = []
            pairs.reserveCapacity(task.train.count)
            for (i, example) in task.train.enumerated() {
                var rng = SplitMix64(seed: settings.seed ^ (UInt64(t) &+ 1) &* 0x9E37_79B9_7F4A_7C15 ^ (UInt64(i) &+ 1) &* 0xD1B5_4A32_D192_ED03)
                var format = settings.formats[rng.uniform(below: settings.formats.count)]
                if format == .chainOfThought && ((example.rationale ?? "").isEmpty || forward.isEmpty) { format = .zeroShot }
                if format == .fewShot && task.train.count < 2 { format = .zeroShot }
                let pool = format == .chainOfThought ? forward : templates
                let template = pool[rng.uniform(below: pool.count)]
                var exemplars: [Example] = []
                if format == .fewShot {
                    let k = min(settings.shots, task.train.count - 1)
                    var chosen = Set<Int>([i])
                    while exemplars.count < k {
                        let j = rng.uniform(below: task.train.count)
                        if chosen.insert(j).inserted { exemplars.append(task.train[j]) }
                    }
                }
                pairs.append(try render(example, template: template, format: format, exemplars: exemplars))
            }
            let shown = templates.first { !$0.turnedAround } ?? templates[0]
            let summary = PromptTemplate(name: "\(task.name)/\(settings.preset.rawValue)", input: shown.template.input, target: shown.template.target)
            return TaskStream(name: task.name, pairs: pairs, template: summary, weight: 1, cluster: task.cluster, inputs: task.name)
        }
    }

    /// The mixture of `tasks`: per-token loss, examples-proportional with the cap and temperature.
    /// - Throws: As `streams`, and `Mixture`'s errors.
    public static func mixture(_ tasks: [InstructionTask], settings: InstructionMixtureSettings) throws -> Mixture {
        try Mixture(try streams(tasks, settings: settings), cap: settings.cap, temperature: settings.temperature, normalisation: .perToken)
    }

    /// One example as a training pair under a template and format.
    /// - Throws: `TrainingError.invalidSetting` when the template does not render the example.
    public static func render(_ example: Example, template: InstructionTemplate, format: InstructionFormat,
                              exemplars: [Example] = []) throws -> TrainingPair {
        var source = try template.template.source(for: example)
        var target = try template.template.target(for: example)
        switch format {
        case .zeroShot: break
        case .fewShot:
            let shots = try exemplars.map { "\(try template.template.source(for: $0))\n\(try template.template.target(for: $0))" }
            source = (shots + [source]).joined(separator: "\n\n")
        case .chainOfThought:
            guard let rationale = example.rationale, !rationale.isEmpty else {
                throw TrainingError.invalidSetting("chain-of-thought needs a rationale, and \(example.id) has none")
            }
            source += "\n\nLet's think step by step."
            target = "\(rationale)\nSo the answer is \(target)."
        }
        return TrainingPair(exampleID: example.id, source: source, target: target, template: template.id, format: format.rawValue)
    }

    /// Zero-shot evaluation streams for every task of `tasks` in `clusters`: one per task and
    /// scoring template, each on up to `limit` label-balanced test examples, by rank
    /// classification where the task has options (else by generation).
    /// - Throws: `TrainingError.invalidSetting` when no task is in the clusters.
    public static func heldOutStreams(_ tasks: [InstructionTask], clusters: [String], limit: Int? = nil,
                                      batchSize: Int = 32, maxNewTokens: Int = 32) throws -> [EvaluationStream] {
        let chosen = tasks.filter { clusters.contains($0.cluster) }
        guard !chosen.isEmpty else {
            throw TrainingError.invalidSetting("no task is in \(clusters.joined(separator: ", ")) (the tasks' clusters are \(Set(tasks.map(\.cluster)).sorted().joined(separator: ", ")))")
        }
        return chosen.flatMap { task -> [EvaluationStream] in
            let examples = task.balancedTest(limit: limit)
            return task.scoringTemplates.map { template in
                EvaluationStream(name: template.id, cluster: task.cluster, examples: examples,
                                 settings: EvaluationSettings(kind: task.kind, batchSize: batchSize, maxNewTokens: maxNewTokens,
                                                              rankClassification: task.hasOptions, template: template.template))
            }
        }
    }
}

public extension StreamsEvaluation {
    /// The mean of the per-template accuracies (FLAN's headline number for a held-out cluster).
    var meanOverTemplates: Double {
        let t = byTemplate
        return t.isEmpty ? 0 : t.reduce(0) { $0 + $1.accuracy } / Double(t.count)
    }

    /// Each example's correctness averaged over the templates that scored it, keyed by stream
    /// cluster, task-free id order: the unit a paired bootstrap resamples.
    var exampleScores: [String: Double] {
        var sums: [String: (Double, Int)] = [:]
        for row in rows {
            let task = row.stream.split(separator: "/").first.map(String.init) ?? row.stream
            for r in row.evaluation.rows {
                let key = "\(task)#\(r.id)"
                let old = sums[key] ?? (0, 0)
                sums[key] = (old.0 + (r.correct ? 1 : 0), old.1 + 1)
            }
        }
        return sums.mapValues { $0.0 / Double($0.1) }
    }
}

/// A paired bootstrap over examples: the difference of two arms' mean scores on the same
/// examples, with a percentile interval.
public struct PairedBootstrap: Sendable, Hashable, Codable {
    /// Mean of a − b.
    public var difference: Double
    /// The interval's lower end.
    public var low: Double
    /// The interval's upper end.
    public var high: Double
    /// Resamples drawn.
    public var resamples: Int

    /// The bootstrap of mean(a) − mean(b) over paired scores.
    /// - Parameters:
    ///   - a: Per-example scores of the first arm.
    ///   - b: The same examples' scores of the second arm (same order), or a constant baseline.
    ///   - level: The interval's coverage (0.95).
    ///   - resamples: Resamples (1,000).
    ///   - seed: The resampling seed.
    /// - Throws: `TrainingError.invalidSetting` when the lists differ in length or are empty.
    public static func compare(_ a: [Double], _ b: [Double], level: Double = 0.95, resamples: Int = 1000,
                               seed: UInt64 = 0) throws -> PairedBootstrap {
        guard !a.isEmpty, a.count == b.count else {
            throw TrainingError.invalidSetting("a paired bootstrap needs two equally long, non-empty score lists (got \(a.count) and \(b.count))")
        }
        guard resamples >= 1, level > 0, level < 1 else { throw TrainingError.invalidSetting("bootstrap needs resamples ≥ 1 and a level in (0, 1)") }
        let d = zip(a, b).map { $0 - $1 }
        let n = d.count
        var rng = SplitMix64(seed: seed)
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sum = 0.0
            for _ in 0..<n { sum += d[rng.uniform(below: n)] }
            means.append(sum / Double(n))
        }
        means.sort()
        let tail = (1 - level) / 2
        let lowIndex = min(n > 0 ? Int((tail * Double(resamples)).rounded(.down)) : 0, resamples - 1)
        let highIndex = min(Int(((1 - tail) * Double(resamples)).rounded(.up)) - 1, resamples - 1)
        return PairedBootstrap(difference: d.reduce(0, +) / Double(n), low: means[lowIndex], high: means[max(highIndex, lowIndex)],
                               resamples: resamples)
    }
}
