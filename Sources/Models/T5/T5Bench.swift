// T5 training throughput: full steps (forward, loss, backward, AdamW) on random tokens, timed.
// bench/t5_train.py drives it (through the gated ModelsTests.T5BenchTests) next to PyTorch with
// transformers on the same configuration; `stepwise bench t5` can call `T5Bench.train` too.

import Foundation
import NN
import Tensor

/// Timed T5 training steps for benchmarks.
public enum T5Bench {
    /// One benchmark's measurements.
    public struct Result: Codable, Sendable {
        public let dModel: Int, layers: Int, batch: Int, inputLength: Int, targetLength: Int, vocabSize: Int
        public let threads: Int, steps: Int
        /// Median and best milliseconds per training step.
        public let msPerStepMedian: Double, msPerStepBest: Double
        /// batch * (inputLength + targetLength) tokens per second at the median step.
        public let tokensPerSecond: Double
        /// The last step's loss (a sanity check: near log(vocabSize) on random data).
        public let loss: Float
        /// Peak resident memory of the process in MiB.
        public let peakRSSMiB: Double
    }

    /// Trains a randomly initialised model on random tokens and times each step.
    /// - Parameters:
    ///   - config: the model (dropout as configured; the model is in training mode).
    ///   - batch: sequences per step.
    ///   - inputLength: encoder tokens per sequence (128 in the reference benchmark).
    ///   - targetLength: decoder tokens per sequence (64).
    ///   - steps: timed steps, after `warmup` untimed ones.
    ///   - threads: the engine's and OpenBLAS's thread count.
    public static func train(config: T5Config, batch: Int, inputLength: Int = 128, targetLength: Int = 64,
                             steps: Int = 3, warmup: Int = 1, threads: Int = 2, seed: UInt64 = 0) throws -> Result {
        Parallel.threads = threads
        let model = try T5Model(config, seed: seed)
        model.train()
        let optimizer = AdamW(model.trainableParameters(), learningRate: 1e-4, weightDecay: 0.01)
        var rng = RNG(seed: seed &+ 1)
        func tokens(_ count: Int) -> Tensor {
            Tensor(indices: (0..<count).map { _ in Int32(2 + Int(rng.next() % UInt64(Swift.max(1, config.vocabSize - 2)))) }, shape: [batch, count / batch])
        }
        let inputs = tokens(batch * inputLength), labels = tokens(batch * targetLength)
        var times: [Double] = []
        var loss: Float = 0
        for step in 0..<(warmup + steps) {
            let start = DispatchTime.now().uptimeNanoseconds
            optimizer.zeroGrad()
            let l = try model.loss(inputIds: inputs, labels: labels)
            l.backward()
            optimizer.step()
            loss = l.item()
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if step >= warmup { times.append(ms) }
        }
        let sorted = times.sorted()
        let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        return Result(dModel: config.dModel, layers: config.numLayers, batch: batch, inputLength: inputLength,
                      targetLength: targetLength, vocabSize: config.vocabSize, threads: threads, steps: steps,
                      msPerStepMedian: median, msPerStepBest: sorted.first ?? 0,
                      tokensPerSecond: median > 0 ? Double(batch * (inputLength + targetLength)) / (median / 1000) : 0,
                      loss: loss, peakRSSMiB: peakRSSMiB())
    }

    /// The benchmark configurations by name: "mini" (d_model 256, 4+4, batch 16) and "small" (t5-small, batch 8).
    public static func standardCase(_ name: String, vocabSize: Int = 32128) -> (T5Config, batch: Int)? {
        switch name {
        case "tiny": return (T5Config.preset(.tiny, vocabSize: vocabSize), 16)
        case "mini": return (T5Config.preset(.mini, vocabSize: vocabSize), 16)
        case "small": return (T5Config.preset(.small, vocabSize: vocabSize), 8)
        default: return nil
        }
    }

    /// VmHWM from /proc/self/status (0 where unavailable).
    static func peakRSSMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }
}
