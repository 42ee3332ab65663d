// `stepwise flan`: FLAN's held-out comparison. Tunes a fresh student per arm and seed on the
// tasks outside the held-out clusters (each example under one of its task's templates, in the
// chosen formats, capped examples-proportional mixing, per-token loss, Adafactor unless told),
// then scores the held-out cluster zero-shot under templates tuning never saw, by rank
// classification. Cells are journaled as they finish (Ctrl-C loses at most the one running);
// re-running resumes. Writes records.csv, comparisons.csv (paired bootstraps), flan.json and
// flan.svg into --out and prints the table and whether FLAN "shows" by the pre-set criterion.
import ArgumentParser
import Distill
import Foundation
import Lang
import Models
import NN
import Tensor

struct FlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flan",
        abstract: "Instruction-tune on some task clusters and score a held-out cluster zero-shot (FLAN's comparison).",
        discussion: """
            Example (the instruction world, a tiny T5 from scratch, minutes per cell): stepwise flan \
            --held-out yes-no --arms flan,no-template,dataset-name --seeds 0,1,2 --steps 800 --out flan/world. \
            With --data, the paper's tasks join: --tasks cqa,svamp,anli1,esnli,world --held-out nli. \
            FLAN "shows" when it beats the baseline (untuned if run, else chance) by at least 5 points \
            with a paired-bootstrap 95% interval above 0 on every seed, and beats no-template.
            """)

    @Option(help: "Comma-separated tasks: world (every word task), a word task (reverse, sort, first, last, largest, count, add, is-even, contains-word, is-sorted, has-duplicates), synthetic, or svamp, cqa, anli1, esnli (with --data).")
    var tasks = "world"
    @Option(help: "The folder holding the paper's task folders.") var data: String?
    @Option(help: "Comma-separated clusters to hold out (yes-no, nli, commonsense, arithmetic, order, select, count).") var heldOut = "yes-no"
    @Option(help: "Comma-separated arms: untuned, flan, no-template, dataset-name.") var arms = "flan,no-template,dataset-name"
    @Option(help: "Comma-separated seeds.") var seeds = "0,1,2"
    @Option(help: "t5-tiny, t5-mini, t5-small, hf:PATH or llama:PATH (LoRA).") var student = "t5-tiny"
    @Option(help: "Optimizer steps per cell.") var steps = 800
    @Option(help: "Examples per batch.") var batch = 32
    @Option(help: "adafactor (FLAN's) or adamw.") var optimizer = "adafactor"
    @Option(help: "Learning rate (constant after warm-up for Adafactor).") var lr = 1e-3
    @Option(help: "Linear warm-up steps.") var warmup = 50
    @Option(help: "constant, linear, cosine or inverse-sqrt.") var schedule = "constant"
    @Option(help: "Comma-separated formats: zero-shot, few-shot, cot.") var formats = "zero-shot"
    @Option(help: "Examples-proportional cap per task.") var cap = 3000
    @Option(help: "Mixing temperature.") var temperature = 1.0
    @Option(help: "Exemplars per few-shot example.") var shots = 2
    @Option(help: "The seed of the templates, formats and exemplars drawn (the data; cells vary only the training seed).") var dataSeed: UInt64 = 0
    @Option(help: "Instruction world: training examples per task.") var worldTrain = 500
    @Option(help: "Instruction world: test examples per task.") var worldTest = 200
    @Option(help: "Synthetic task: training problems.") var syntheticTrain = 1000
    @Option(help: "Held-out test examples per task (label-balanced).") var evalLimit = 200
    @Option(help: "Test examples per tuning task scored held-in, to check that tuning took (0: none).") var heldInLimit = 20
    @Option(help: "Pack pairs into rows of N tokens (0: pad).") var pack = 0
    @Option(help: "Engine and BLAS threads.") var threads = 2
    @Option(help: "Vocabulary size for students from scratch.") var vocabulary = 2000
    @Option(help: "Dropout of students from scratch.") var dropout: Float = 0
    @Option(help: "Target tokens per pair.") var maxTargetTokens = 64
    @Option(help: "Folder for the journal, scores, CSV, JSON and SVG.") var out: String

    func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func parsedArms() throws -> [FlanArm] {
        do { return try list(arms).map(FlanArm.named) } catch { throw ValidationError("--arms: \(error)") }
    }

    func parsedSeeds() throws -> [UInt64] {
        try list(seeds).map { text in
            guard let value = UInt64(text) else { throw ValidationError("--seeds: '\(text)' is not a non-negative integer") }
            return value
        }
    }

    func parsedFormats() throws -> [InstructionFormat] {
        try list(formats).map { text in
            guard let format = InstructionFormat(rawValue: text) else {
                throw ValidationError("--formats: '\(text)' is not one of \(InstructionFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return format
        }
    }

    func validate() throws {
        _ = try parsedArms()
        guard !(try parsedSeeds()).isEmpty else { throw ValidationError("--seeds needs at least one seed") }
        guard !(try parsedFormats()).isEmpty else { throw ValidationError("--formats needs at least one format") }
        guard OptimizerKind(rawValue: optimizer) != nil else { throw ValidationError("--optimizer must be adafactor or adamw") }
        guard LRSchedule.Kind(rawValue: schedule) != nil else { throw ValidationError("--schedule must be constant, linear, cosine or inverse-sqrt") }
        guard steps >= 1, batch >= 1, threads >= 1, cap >= 1, shots >= 1, evalLimit >= 1, worldTrain >= 1, worldTest >= 1 else {
            throw ValidationError("--steps, --batch, --threads, --cap, --shots, --eval-limit, --world-train and --world-test must be at least 1")
        }
        guard !list(heldOut).isEmpty else { throw ValidationError("--held-out needs at least one cluster") }
        _ = try StudentSpec.parse(student)
    }

    /// Every setting that changes a cell's result (the arms, seeds, threads and folder are left out).
    var settings: [String] {
        ["tasks=\(tasks)", "data=\(data ?? "")", "held-out=\(heldOut)", "student=\(student)", "steps=\(steps)", "batch=\(batch)",
         "optimizer=\(optimizer)", "lr=\(lr)", "warmup=\(warmup)", "schedule=\(schedule)", "formats=\(formats)", "cap=\(cap)",
         "temperature=\(temperature)", "shots=\(shots)", "data-seed=\(dataSeed)", "world-train=\(worldTrain)", "world-test=\(worldTest)",
         "synthetic-train=\(syntheticTrain)", "eval-limit=\(evalLimit)", "held-in-limit=\(heldInLimit)", "vocabulary=\(vocabulary)", "dropout=\(dropout)",
         "max-target-tokens=\(maxTargetTokens)"] + (pack > 0 ? ["pack=\(pack)"] : [])
    }

    /// The tasks `--tasks` names.
    func loadTasks() throws -> [InstructionTask] {
        var out: [InstructionTask] = []
        let world = try InstructionTask.world(train: worldTrain, test: worldTest, seed: dataSeed)
        for name in list(tasks) {
            switch name {
            case "world": out += world
            case "synthetic":
                let generator = SyntheticTask(difficulty: .classroom)
                let train = generator.examples(count: syntheticTrain, seed: 1, split: "train")
                let outputs = try ProgramTeacher(showResults: false).explain(train)
                let withRationales = zip(train, outputs).map { example, output -> Example in
                    var e = example
                    e.rationale = output.rationale
                    return e
                }
                out.append(InstructionTask(name: "synthetic", kind: .equation, train: withRationales,
                                           test: generator.examples(count: worldTest, seed: 3, split: "test")))
            default:
                if let task = world.first(where: { $0.name == name }) { out.append(task); continue }
                let benchmark: BenchmarkTask
                do { benchmark = try BenchmarkTask.named(name) } catch { throw ValidationError("--tasks: \(error)") }
                guard let data else { throw ValidationError("--tasks \(name) needs --data (the folder holding \(name)/)") }
                let dataset = try benchmark.load(from: ScoreCommand.taskDirectory(data, task: benchmark))
                let test = dataset[split: "test"].isEmpty ? dataset[split: "valid"] : dataset[split: "test"]
                out.append(InstructionTask(name: benchmark.rawValue, kind: benchmark.labelKind, train: dataset[split: "train"], test: test))
            }
        }
        guard Set(out.map(\.name)).count == out.count else { throw ValidationError("--tasks names a task twice") }
        return out
    }

    func run() throws {
        Parallel.threads = threads
        let clusters = list(heldOut), armList = try parsedArms(), seedList = try parsedSeeds()
        let all = try loadTasks()
        let tuning = all.filter { !clusters.contains($0.cluster) }.filter { !$0.train.isEmpty }
        let held = all.filter { clusters.contains($0.cluster) }
        guard !tuning.isEmpty else { throw ValidationError("every task is held out or has no training split; nothing to tune on") }
        guard !held.isEmpty else {
            throw ValidationError("no task is in \(clusters.joined(separator: ", ")); the tasks' clusters are \(Set(all.map(\.cluster)).sorted().joined(separator: ", "))")
        }
        let spec = try StudentSpec.parse(student)
        let (vocabulary, dropout) = (self.vocabulary, self.dropout)
        let config = TrainerConfig(steps: steps, batchSize: batch, learningRate: lr,
                                   optimizer: OptimizerKind(rawValue: optimizer) ?? .adafactor, weightDecay: 0, warmupSteps: warmup,
                                   schedule: LRSchedule.Kind(rawValue: schedule) ?? .constant, maxTargetTokens: maxTargetTokens,
                                   maxRationaleTokens: maxTargetTokens, packLength: pack > 0 ? pack : nil, maxNewTokens: maxTargetTokens)
        let mixture = InstructionMixtureSettings(cap: cap, temperature: temperature, formats: try parsedFormats(), heldOut: clusters,
                                                 shots: shots, seed: dataSeed)
        let study = try FlanStudy(tuning: tuning, heldOut: held, clusters: clusters, mixture: mixture, config: config,
                                  evalLimit: evalLimit, heldInLimit: heldInLimit > 0 ? heldInLimit : nil) {
            try spec.make(texts: $0, vocabulary: vocabulary, dropout: dropout, lora: LoRAConfig(), seed: $1)
        }
        let folder = URL(fileURLWithPath: out)
        do {
            try SweepJournal.claim(folder.appendingPathComponent("settings.txt"), settings: settings)
        } catch let error as SweepError {
            throw ValidationError("\(error)")
        }
        let flanMixture = try study.mixture(for: .flan)
        print("flan tuning=\(tuning.map(\.name).joined(separator: ",")) held-out=\(held.map(\.name).joined(separator: ",")) " +
              "(\(clusters.joined(separator: ","))) arms=\(armList.map(\.rawValue).joined(separator: ",")) seeds=\(seeds) " +
              "pairs=\(flanMixture.pairCount) data=\(flanMixture.manifest(seed: 0).shortHash) student=\(student)")
        let (flag, interrupt) = Interrupts.cancellationFlag(message: "flan: stopping; finished cells are kept in \(folder.path)")
        defer { interrupt.cancel() }
        let result: FlanResult
        do {
            result = try study.run(arms: armList, seeds: seedList, folder: folder, cancel: flag, onEvent: { cell, event in
                if case .prepared(_, let manifest, let summary, let count, let total) = event {
                    print("[\(cell.method) seed=\(cell.seed)] examples=\(count) steps=\(total) data=\(manifest.shortHash) student: \(summary)")
                }
            }, onRecord: { record, done, total in
                print(String(format: "[%d/%d] %@ seed=%llu held-out accuracy (mean over templates)=%.4f steps=%d %.1fs", done, total,
                             record.cell.method, record.cell.seed, record.accuracy, record.steps, record.seconds))
            })
        } catch TrainingError.cancelled {
            print("interrupted; the finished cells are in \(folder.path); run the same command again to resume")
            throw ExitCode(130)
        }
        try write(result, to: folder)
        print(result.table)
        let baseline = armList.contains(.untuned) ? "untuned" : "chance"
        for arm in armList where arm != .untuned {
            for c in try result.compare(arm.rawValue, with: baseline) {
                print(String(format: "%@ − %@, seed %llu: %+.1f points, 95%% interval [%+.1f, %+.1f]", arm.rawValue, baseline, c.seed,
                             100 * c.bootstrap.difference, 100 * c.bootstrap.low, 100 * c.bootstrap.high))
            }
        }
        if let shows = try result.flanShows(baseline: baseline) {
            print("FLAN shows (≥ 5 points over \(baseline) with the interval above 0 on every seed, and above no-template): \(shows ? "yes" : "no")")
        }
        print("wrote records.csv, comparisons.csv, flan.json and flan.svg in \(folder.path)")
        if result.records.count < armList.count * seedList.count {
            print("interrupted after \(result.records.count) of \(armList.count * seedList.count) cells; run the same command again to resume")
            throw ExitCode(130)
        }
    }

    func write(_ result: FlanResult, to folder: URL) throws {
        try Data(result.recordsCSV.utf8).write(to: folder.appendingPathComponent("records.csv"), options: .atomic)
        try Data(try result.comparisonsCSV().utf8).write(to: folder.appendingPathComponent("comparisons.csv"), options: .atomic)
        let baseline = result.arms.contains("untuned") ? "untuned" : "chance"
        var comparisons: [FlanComparison] = []
        for arm in result.arms where arm != "untuned" { comparisons += try result.compare(arm, with: baseline) }
        struct Summary: Encodable {
            var arms: [String]; var seeds: [UInt64]; var records: [SweepRecord]; var comparisons: [FlanComparison]
            var templates: [String: [String: Double]]; var flanShows: Bool?
        }
        var templates: [String: [String: Double]] = [:]
        for s in result.scores { templates["\(s.arm)/seed\(s.seed)"] = s.templates }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try encoder.encode(Summary(arms: result.arms, seeds: result.seeds, records: result.records, comparisons: comparisons,
                                              templates: templates, flanShows: try result.flanShows(baseline: baseline)))
        try json.write(to: folder.appendingPathComponent("flan.json"), options: .atomic)
        let chance = result.scores.first.map { s in s.chance.values.reduce(0, +) / Double(max(s.chance.count, 1)) }
        let plot = BarPlot(bars: result.arms.map { arm in BarPlot.Bar(label: arm, values: result.scores.filter { $0.arm == arm }.map(\.accuracy)) },
                           title: "Held-out zero-shot accuracy (mean over templates)", yLabel: "accuracy",
                           reference: chance.map { ($0, "chance") }, yRange: 0...1)
        try Data(plot.svg().utf8).write(to: folder.appendingPathComponent("flan.svg"), options: .atomic)
    }
}
