// `stepwise bench ...`: the Swift side of the benchmarks in bench/. Each case prints one JSON
// line; the Python drivers there run the peer in the same run and print the ratios.
import ArgumentParser
import NN

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Run one engine benchmark case and print a JSON line.",
        subcommands: [Gemm.self, Block.self])

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
}
