// `stepwise bench packing`: real (non-pad) training tokens per second with packed rows against
// padded, length-bucketed batches, on one mixture of tasks of different lengths: SVAMP, CQA and
// ANLI-1 inputs with their gold labels and the teacher's released rationales (six streams,
// step-by-step's two per task). Both modes draw the same batches from the same seed and start from
// the same weights, so their per-step losses must agree (packing changes the layout, not the
// loss); the rounds alternate so that a noisy machine slows both alike. Prints one JSON line.
import ArgumentParser
import Distill
import Foundation
import Models
import Tensor

struct BenchPacking: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "packing", abstract: "Real tokens/s of packed against padded training on a mixture of three tasks.")

    @Option(help: "The folder holding svamp/, cqa/ and anli1/ (the paper's datasets).") var data = "../shared/datasets"
    @Option(help: "Examples per task (the first N of each training split, or of ANLI-1's validation split when train is absent).")
    var examples = 400
    @Option(help: "Draws (examples) per step; each brings its label and rationale pair.") var batch = 16
    @Option(help: "Timed steps per round and mode.") var steps = 12
    @Option(help: "Rounds; each runs padded then packed from the same start.") var rounds = 3
    @Option(help: "Row length of the packed mode.") var pack = 256
    @Option(help: "Source tokens per pair (sources are cut to this).") var maxSourceTokens = 192
    @Option(help: "T5 size from scratch: tiny, mini or small.") var size = "tiny"
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Run only one mode (padded or packed), for profiling.") var only: String?

    func run() throws {
        Parallel.threads = threads
        guard let t5Size = T5Config.Size(rawValue: size) else { throw ValidationError("--size is tiny, mini or small") }
        var streams: [TaskStream] = []
        for task in [BenchmarkTask.svamp, .cqa, .anli1] {
            let directory = ScoreCommand.taskDirectory(data, task: task)
            // The training split, or (ANLI-1's copy in ../shared holds only it) the validation split.
            let split = FileManager.default.fileExists(atPath: URL(fileURLWithPath: directory).appendingPathComponent(task.fileName(split: "train")).path)
                ? "train" : "valid"
            let train = Array(try task.loadSplit(split, from: directory).prefix(examples))
            let outputs = try ReplayTeacher(task: task, outputs: URL(fileURLWithPath: directory).appendingPathComponent("llm").path).explain(train)
            let prepared = try Recipe.stepByStep(alpha: 0.5, maskNumbers: task.labelKind == .equation)
                .prepare(train, teacher: outputs, kind: task.labelKind)
            for var stream in prepared.mixture.streams {
                stream.name = "\(task.rawValue)/\(stream.name)"
                stream.inputs = task.rawValue
                streams.append(stream)
            }
        }
        let mixture = try Mixture(streams, normalisation: .perStream)
        let student = try T5Student.fromScratch(size: t5Size, texts: mixture.texts, dropout: 0, seed: 0)
        let start = student.trainableParameters().map { $0.1.scalars }

        // What the timed batches cost in token slots (padding included), padded stream by stream
        // as the trainer pads, and packed: the share of real tokens bounds what packing can gain.
        var (real, paddedSlots, packedSlots) = (0, 0, 0)
        do {
            let config = TrainerConfig(steps: steps, batchSize: batch, maxSourceTokens: maxSourceTokens, maxTargetTokens: 64,
                                       maxRationaleTokens: 192, bucketByLength: true, seed: 1)
            let trainer = try Trainer(student: student, mixture: mixture, validation: [], evaluation: EvaluationSettings(kind: .text), config: config)
            let batches = trainer.schedule.batches(epoch: 0).prefix(steps)
            for draws in batches {
                let pairs = trainer.encodedPairs(draws)
                real += pairs.reduce(0) { $0 + $1.source.count + $1.target.count }
                for s in Set(pairs.map(\.stream)) {
                    paddedSlots += try student.model.tokenSlots(pairs: pairs.filter { $0.stream == s }.map { ($0.source, $0.target) }, packLength: nil)
                }
                packedSlots += try student.model.tokenSlots(pairs: pairs.map { ($0.source, $0.target) }, packLength: pack)
            }
        }

        struct Round: Encodable { var mode: String; var tokensPerSecond: Double; var seconds: Double; var losses: [Double] }
        var results: [Round] = []
        for _ in 0..<rounds {
            for pack in [nil, self.pack] as [Int?] where only == nil || only == (pack == nil ? "padded" : "packed") {
                Tensor.withoutGrad { for ((_, p), w) in zip(student.trainableParameters(), start) { p.assign(w) } }
                let config = TrainerConfig(steps: steps, batchSize: batch, maxSourceTokens: maxSourceTokens, maxTargetTokens: 64,
                                           maxRationaleTokens: 192, bucketByLength: true, packLength: pack, seed: 1)
                let trainer = try Trainer(student: student, mixture: mixture, validation: [],
                                          evaluation: EvaluationSettings(kind: .text), config: config)
                let result = try trainer.train()
                results.append(Round(mode: pack == nil ? "padded" : "packed", tokensPerSecond: result.tokensPerSecond,
                                     seconds: trainer.state.stepSeconds, losses: result.losses.map(\.loss)))
            }
        }
        func median(_ values: [Double]) -> Double { let s = values.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
        let padded = results.filter { $0.mode == "padded" }, packed = results.filter { $0.mode == "packed" }
        if only != nil {
            let round = results[0]
            print("{\"mode\": \"\(round.mode)\", \"tokens_per_second\": \(round.tokensPerSecond), \"seconds\": \(round.seconds)}")
            return
        }
        let ratios = zip(padded, packed).map { $1.tokensPerSecond / max($0.tokensPerSecond, 1e-9) }
        let lossGap = zip(padded[0].losses, packed[0].losses).map { abs($0 - $1) / max(abs($0), 1e-9) }.max() ?? 0
        let summary: [String: Any] = [
            "case": "packing", "size": size, "threads": threads, "batch": batch, "steps": steps, "rounds": rounds, "pack": pack,
            "streams": mixture.streams.map { "\($0.name):\($0.pairs.count)" }, "data": mixture.manifest(seed: 1).shortHash,
            "padded_tokens_per_second": median(padded.map(\.tokensPerSecond)),
            "packed_tokens_per_second": median(packed.map(\.tokensPerSecond)),
            "ratio_packed_over_padded": median(ratios), "round_ratios": ratios,
            "max_relative_loss_difference": lossGap,
            "real_tokens": real, "padded_slots": paddedSlots, "packed_slots": packedSlots,
            "padded_density": Double(real) / Double(max(paddedSlots, 1)), "packed_density": Double(real) / Double(max(packedSlots, 1)),
            "padded_losses": padded[0].losses, "packed_losses": packed[0].losses,
        ]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }
}
