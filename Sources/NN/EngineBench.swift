// Engine benchmarks callable from a CLI or a test: GEMM throughput and one pre-norm transformer
// block's forward + backward + AdamW step, with peak RSS. Each iteration feeds the next, so the
// optimiser cannot hoist work out of the timing loop.

import Foundation
import Tensor

/// A pre-norm transformer block (LayerNorm -> MHA -> residual, LayerNorm -> MLP(4d, GELU) -> residual),
/// the shape the benchmarks and the learning tests use.
public final class ReferenceBlock: Module {
    public let ln1: LayerNorm, ln2: LayerNorm
    public let q: Linear, k: Linear, v: Linear, o: Linear
    public let fc: Linear, proj: Linear
    public let heads: Int
    public let causal: Bool

    public init(dModel: Int, heads: Int, causal: Bool = true, rng: inout RNG) {
        self.heads = heads
        self.causal = causal
        ln1 = LayerNorm(dModel); ln2 = LayerNorm(dModel)
        q = Linear(dModel, dModel, rng: &rng); k = Linear(dModel, dModel, rng: &rng)
        v = Linear(dModel, dModel, rng: &rng); o = Linear(dModel, dModel, rng: &rng)
        fc = Linear(dModel, 4 * dModel, rng: &rng); proj = Linear(4 * dModel, dModel, rng: &rng)
    }

    /// (B, T, C) -> (B, T, C).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let d = c / heads
        let h = ln1(x)
        func split(_ y: Tensor) -> Tensor { y.reshaped([b, t, heads, d]).transposed(1, 2) }   // (B, H, T, D)
        let att = Tensor.attention(query: split(q(h)), key: split(k(h)), value: split(v(h)), causal: causal)
        let x1 = x + o(att.transposed(1, 2).reshaped([b, t, c]))
        return x1 + proj(fc(ln2(x1)).gelu(.tanh))
    }
}

/// Benchmarks with results as JSON-ready dictionaries.
public enum EngineBench {
    /// Peak resident set size of this process so far, in bytes (getrusage).
    public static func peakRSSBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }

    /// Current resident set size in bytes (/proc/self/statm; 0 where unavailable).
    public static func currentRSSBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = s.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Square sgemm throughput in GFLOP/s (best of `repeats`).
    public static func gemm(n: Int, threads: Int, repeats: Int = 5) -> [String: Any] {
        Parallel.threads = threads
        var rng = RNG(seed: 1)
        var a = rng.normal([n, n], std: 0.01)
        let b = rng.normal([n, n], std: 0.01)
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            a = a.matmul(b)
            best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let gflops = 2 * Double(n) * Double(n) * Double(n) / best / 1e9
        return ["bench": "gemm", "n": n, "threads": threads, "gflops": gflops, "core": BLASRuntime.coreName,
                "check": a.scalars[0].isFinite]
    }

    /// Forward + backward + AdamW step of one `ReferenceBlock` on (batch, seq, dModel) inputs.
    /// Reports the median step time, tokens per second, and peak RSS.
    public static func transformerStep(dModel: Int, heads: Int, batch: Int, seq: Int, threads: Int,
                                       steps: Int = 10, warmup: Int = 2) -> [String: Any] {
        Parallel.threads = threads
        let baseline = currentRSSBytes()
        var rng = RNG(seed: 7)
        let block = ReferenceBlock(dModel: dModel, heads: heads, rng: &rng)
        let opt = AdamW(block.trainableParameters(), learningRate: 1e-4, weightDecay: 0.01)
        var x = rng.normal([batch, seq, dModel])
        var times: [Double] = []
        var loss: Float = 0
        for i in 0..<(steps + warmup) {
            let start = DispatchTime.now().uptimeNanoseconds
            let y = block(x)
            let l = (y * y).mean()
            l.backward()
            opt.step()
            opt.zeroGrad()
            loss = l.item()
            x = y.detached()  // each step depends on the last
            if i >= warmup { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        times.sort()
        let median = times[times.count / 2]
        return ["bench": "block", "d_model": dModel, "heads": heads, "batch": batch, "seq": seq, "threads": threads,
                "ms_per_step": median * 1000, "tokens_per_s": Double(batch * seq) / median,
                "peak_rss_mb": Double(peakRSSBytes()) / 1_048_576, "baseline_rss_mb": Double(baseline) / 1_048_576,
                "loss_finite": loss.isFinite, "core": BLASRuntime.coreName]
    }

    /// One JSON line for a result dictionary.
    public static func jsonLine(_ result: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]),
              let s = String(data: data, encoding: .utf8) else { return "{}" }
        return s
    }
}
