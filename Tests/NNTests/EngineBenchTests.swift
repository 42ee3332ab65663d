// Benchmark driver, skipped unless STEPWISE_BENCH=1 (bench/engine_bench.py runs it). Prints one
// `BENCH {json}` line per case. STEPWISE_BENCH_CASE: "gemm:N" or "block:D:H:B:T";
// STEPWISE_BENCH_THREADS: thread count.

import Foundation
import XCTest
import NN
import Tensor

final class EngineBenchTests: XCTestCase {
    func testRunBenchmarkCase() throws {
        let env = ProcessInfo.processInfo.environment
        try XCTSkipUnless(env["STEPWISE_BENCH"] == "1", "set STEPWISE_BENCH=1 to run benchmarks")
        let threads = Int(env["STEPWISE_BENCH_THREADS"] ?? "") ?? 2
        let parts = (env["STEPWISE_BENCH_CASE"] ?? "gemm:1024").split(separator: ":").compactMap { Int($0) }
        let name = (env["STEPWISE_BENCH_CASE"] ?? "gemm").split(separator: ":").first.map(String.init) ?? "gemm"
        let result: [String: Any]
        if name == "block", parts.count == 4 {
            result = EngineBench.transformerStep(dModel: parts[0], heads: parts[1], batch: parts[2], seq: parts[3],
                                                 threads: threads, steps: Int(env["STEPWISE_BENCH_STEPS"] ?? "") ?? 10)
        } else {
            result = EngineBench.gemm(n: parts.first ?? 1024, threads: threads)
        }
        print("BENCH " + EngineBench.jsonLine(result))
    }
}
