// The Swift side of bench/t5_train.py: skipped unless STEPWISE_BENCH=1. Prints one line
// `BENCH {json}` for the case in STEPWISE_BENCH_CASE (tiny, mini, small), threads in
// STEPWISE_BENCH_THREADS, timed steps in STEPWISE_BENCH_STEPS.

import Foundation
import Models
import XCTest

final class T5BenchTests: XCTestCase {
    func testT5TrainingThroughput() throws {
        let env = ProcessInfo.processInfo.environment
        try XCTSkipUnless(env["STEPWISE_BENCH"] == "1", "benchmarks run only with STEPWISE_BENCH=1")
        let name = env["STEPWISE_BENCH_CASE"] ?? "mini"
        let (config, batch) = try XCTUnwrap(T5Bench.standardCase(name), "unknown case \(name)")
        var cfg = config
        if let dropout = env["STEPWISE_BENCH_DROPOUT"].flatMap(Float.init) { cfg.dropoutRate = dropout }
        let result = try T5Bench.train(config: cfg, batch: batch, steps: Int(env["STEPWISE_BENCH_STEPS"] ?? "") ?? 3,
                                       threads: Int(env["STEPWISE_BENCH_THREADS"] ?? "") ?? 2)
        let json = try JSONEncoder().encode(result)
        print("BENCH " + String(decoding: json, as: UTF8.self))
    }
}
