// `stepwise bench ...`: the Swift side of the benchmarks in bench/. Each case prints one JSON
// line; the Python drivers there run the peer in the same run and print the ratios.
import ArgumentParser
import Foundation
import Models
import NN

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Run one engine benchmark case and print a JSON line.",
        subcommands: [Gemm.self, Block.self, T5.self, Llama.self, BenchLoRAStep.self, BenchPacking.self])

    struct Gemm: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Square sgemm GFLOP/s.")
        @Option(help: "Matrix size n (n×n times n×n).") var n = 1024
        @Option(help: "Threads.") var threads = 2
        func run() { print(EngineBench.jsonLine(EngineBench.gemm(n: n, threads: threads))) }
    }

    struct Block: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forward + backward + AdamW step of one pre-norm transformer block.")
        @Option(name: .customLong("d-model"), help: "Model width.") var dModel = 512
        @Option(help: "Attention heads.") var heads = 8
        @Option(help: "Batch size.") var batch = 16
        @Option(help: "Sequence length.") var seq = 128
        @Option(help: "Threads.") var threads = 2
        @Option(help: "Timed steps.") var steps = 10
        func run() {
            print(EngineBench.jsonLine(EngineBench.transformerStep(
                dModel: dModel, heads: heads, batch: batch, seq: seq, threads: threads, steps: steps)))
        }
    }

    struct T5: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "t5", abstract: "T5 training steps (AdamW, 128 input + 64 target tokens).")
        @Option(name: .customLong("case"), help: "tiny, mini (d_model 256, 4+4, batch 16) or small (t5-small, batch 8).")
        var name = "mini"
        @Option(help: "Threads.") var threads = 2
        @Option(help: "Timed steps.") var steps = 3
        @Option(help: "Dropout rate (the config's own when omitted).") var dropout: Float?
        func run() throws {
            guard var (config, batch) = T5Bench.standardCase(name) else {
                throw ValidationError("unknown case \(name): use tiny, mini or small")
            }
            if let dropout { config.dropoutRate = dropout }
            let result = try T5Bench.train(config: config, batch: batch, steps: steps, threads: threads)
            print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
        }
    }

    struct Llama: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "llama", abstract: "Prompt and generation tokens/s of a GGUF decoder.")
        @Option(help: "The GGUF model.") var model = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
        @Option(help: "Prompt tokens.") var prompt = 512
        @Option(help: "Generated tokens.") var generate = 128
        @Option(help: "Comma-separated thread counts.") var threads = "1,2"
        @Option(help: "Rounds (the best is kept).") var rounds = 2
        func run() throws {
            let counts = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !counts.isEmpty else { throw ValidationError("--threads takes numbers such as 1,2") }
            let results = try LlamaBench.run(model: LlamaModel(path: model), promptTokens: prompt,
                                             generatedTokens: generate, threads: counts, rounds: rounds)
            print(LlamaBench.json(results))
        }
    }
}
