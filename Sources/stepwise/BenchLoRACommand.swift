// `stepwise bench lora-step`: seconds per LoRA training step of a GGUF decoder student on a
// batch of real SVAMP prompts (forward, backward and an AdamW step), for bench/lora_step.sh.
import ArgumentParser
import Distill
import Foundation
import Models
import NN
import Tensor

struct BenchLoRAStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora-step", abstract: "Seconds per LoRA training step on a batch of SVAMP prompts.")
    @Option(help: "The GGUF model.") var model = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    @Option(help: "The SVAMP folder (svamp_train.json and llm/).") var data = "../shared/datasets/svamp"
    @Option(help: "label (question → equation) or rationale (question → the teacher's rationale).") var task = "label"
    @Option(help: "Batch size.") var batch = 8
    @Option(help: "LoRA rank.") var rank = 16
    @Option(help: "LoRA alpha.") var alpha: Float = 32
    @Option(help: "LoRA dropout.") var dropout: Float = 0
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Timed steps (after one warm-up step); the median is reported.") var steps = 5

    func run() throws {
        guard let studentTask = StudentTask(rawValue: task) else { throw ValidationError("--task is label or rationale") }
        guard batch > 0, steps > 0, threads > 0 else { throw ValidationError("--batch, --steps and --threads must be positive") }
        Parallel.threads = threads
        let examples = Array(try BenchmarkTask.svamp.loadSplit("train", from: data).prefix(batch))
        let targets: [String]
        switch studentTask {
        case .label: targets = examples.map(\.label)
        case .rationale:
            let outputs = try ReplayTeacher(task: .svamp, outputs: data + "/llm").explain(examples)
            targets = outputs.map { $0.rationale ?? $0.raw }
        }
        let student = try LlamaLoRAStudent(ggufPath: model, lora: LoRAConfig(rank: rank, alpha: alpha, dropout: dropout), seed: 0)
        let pairs = try zip(examples, targets).map { example, target in
            try student.encode(TrainingPair(exampleID: example.id, source: studentTask.prefix + example.input, target: target),
                               maxSourceTokens: 512, maxTargetTokens: 256)
        }
        let optimizer = AdamW(student.trainableParameters(), learningRate: 5e-4)
        student.setTraining(true)
        var times: [Double] = [], cpuTimes: [Double] = [], losses: [Float] = []
        for step in 0...steps {
            let start = Date(), cpuStart = Self.cpuSeconds()
            let tokens = try student.targetTokenLosses(pairs, packLength: nil)
            let loss = tokens.sum() * (1 / Float(tokens.count))
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
            let seconds = Date().timeIntervalSince(start)
            losses.append(loss.item())
            if step > 0 { times.append(seconds); cpuTimes.append(Self.cpuSeconds() - cpuStart) }
        }
        let median = times.sorted()[times.count / 2]
        // Evaluation cost: greedy answers (≤ 32 tokens) to the batch's questions, adapters folded in.
        student.setTraining(false)
        let sources = examples.map { studentTask.prefix + $0.input }
        let generateStart = Date()
        let answers = try student.generate(sources, maxNewTokens: 32, cancel: nil)
        let generateSeconds = Date().timeIntervalSince(generateStart)
        let result: [String: Any] = [
            "case": "lora-step", "task": task, "threads": threads, "batch": batch, "rank": rank,
            "source_tokens": pairs.map(\.source.count).reduce(0, +), "target_tokens": pairs.map(\.target.count).reduce(0, +),
            "padded_length": pairs.map(\.length).max() ?? 0, "seconds_per_step": median,
            "cpu_seconds_per_step": cpuTimes.sorted()[cpuTimes.count / 2],
            "steps": times.map { ($0 * 1000).rounded() / 1000 }, "losses": losses.map { Double($0) },
            "generate_seconds_per_example": generateSeconds / Double(sources.count),
            "generated_tokens": answers.map { student.tokenizer.encode($0, parseSpecial: false).count }.reduce(0, +),
            "trainable_parameters": student.trainableParameters().reduce(0) { $0 + $1.1.count },
        ]
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    /// User + system CPU seconds of this process (on a shared machine, wall time counts waiting).
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
