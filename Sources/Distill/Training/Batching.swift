// The order in which the trainer visits its items: one seeded shuffle per epoch, optionally
// bucketed by length (sort within chunks, then shuffle the batches) so that a batch pads little.
// The order of epoch e depends only on the seed, e and the lengths, so a resumed run can rebuild
// it from (epoch, batch index) alone.
import Foundation
import Tensor

/// Splits item indices into batches, epoch by epoch, reproducibly.
public struct TrainingBatcher: Hashable, Sendable {
    /// Items per batch (the last batch of an epoch may be smaller).
    public let batchSize: Int
    /// Sort by length within chunks before batching.
    public let bucketByLength: Bool
    /// Batches per sorting chunk when bucketing: chunks of `batchSize * chunkBatches` items.
    public let chunkBatches: Int
    /// The seed of every shuffle.
    public let seed: UInt64
    /// Each item's length in tokens (what bucketing sorts by).
    public let lengths: [Int]

    /// Creates a batcher.
    /// - Parameters:
    ///   - lengths: One length per item (source plus target tokens of its pairs).
    ///   - batchSize: Items per batch, at least 1.
    ///   - bucketByLength: Group items of similar length.
    ///   - chunkBatches: Batches per sorting chunk (50 unless told), at least 1.
    ///   - seed: The shuffle seed.
    /// - Throws: `TrainingError.invalidSetting` for a batch size or chunk below 1, or no items.
    public init(lengths: [Int], batchSize: Int, bucketByLength: Bool, chunkBatches: Int = 50, seed: UInt64) throws {
        guard batchSize >= 1 else { throw TrainingError.invalidSetting("batch size must be at least 1, got \(batchSize)") }
        guard chunkBatches >= 1 else { throw TrainingError.invalidSetting("chunkBatches must be at least 1, got \(chunkBatches)") }
        guard !lengths.isEmpty else { throw TrainingError.noTrainingData("no items to batch") }
        self.lengths = lengths
        self.batchSize = batchSize
        self.bucketByLength = bucketByLength
        self.chunkBatches = chunkBatches
        self.seed = seed
    }

    /// Batches in one epoch.
    public var batchesPerEpoch: Int { (lengths.count + batchSize - 1) / batchSize }

    /// The batches of epoch `epoch` (0-based), each a list of item indices.
    public func batches(epoch: Int) -> [[Int]] {
        var rng = RNG(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &+ 1) &* 0x9E37_79B9_7F4A_7C15)
        var order = Array(lengths.indices)
        Self.shuffle(&order, &rng)
        var batches: [[Int]] = []
        if bucketByLength {
            let chunk = batchSize * chunkBatches
            for start in stride(from: 0, to: order.count, by: chunk) {
                // Stable: equal lengths keep their shuffled order.
                let sorted = order[start..<min(start + chunk, order.count)].enumerated()
                    .sorted { (lengths[$0.element], $0.offset) < (lengths[$1.element], $1.offset) }.map(\.element)
                for b in stride(from: 0, to: sorted.count, by: batchSize) {
                    batches.append(Array(sorted[b..<min(b + batchSize, sorted.count)]))
                }
            }
            Self.shuffle(&batches, &rng)
        } else {
            for b in stride(from: 0, to: order.count, by: batchSize) {
                batches.append(Array(order[b..<min(b + batchSize, order.count)]))
            }
        }
        return batches
    }

    /// Fisher–Yates with the engine's RNG (Swift's `shuffle(using:)` may change between releases).
    static func shuffle<T>(_ values: inout [T], _ rng: inout RNG) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            let j = Int(rng.next() % UInt64(i + 1))
            values.swapAt(i, j)
        }
    }
}
