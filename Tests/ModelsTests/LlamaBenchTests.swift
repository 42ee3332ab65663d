// Benchmark driver for the Llama decoder, skipped unless STEPWISE_BENCH=1
// (bench/llama_generate.py runs it). Prints one `LLAMA_BENCH [json]` line.
// STEPWISE_BENCH_THREADS: comma-separated thread counts (default "1,2");
// STEPWISE_BENCH_PROMPT / STEPWISE_BENCH_GENERATE: token counts (default 512 / 128).
import Foundation
import Models
import XCTest

final class LlamaBenchTests: XCTestCase {
    func testLlamaSpeed() throws {
        let env = ProcessInfo.processInfo.environment
        try XCTSkipUnless(env["STEPWISE_BENCH"] == "1", "set STEPWISE_BENCH=1 to run benchmarks")
        guard let file = RealModel.require() else { return }
        let model = try LlamaModel(gguf: file)
        let threads = (env["STEPWISE_BENCH_THREADS"] ?? "1,2").split(separator: ",").compactMap { Int($0) }
        let results = try LlamaBench.run(model: model, promptTokens: Int(env["STEPWISE_BENCH_PROMPT"] ?? "") ?? 512,
                                         generatedTokens: Int(env["STEPWISE_BENCH_GENERATE"] ?? "") ?? 128,
                                         threads: threads, rounds: Int(env["STEPWISE_BENCH_ROUNDS"] ?? "") ?? 2)
        print("LLAMA_BENCH " + LlamaBench.json(results))
    }
}
