// Mixtures: streams with sampling rates, and the order in which the trainer draws from them.
//
// Streams that share their inputs form one component and are drawn together, example by example
// (step-by-step's label and rationale streams). Each component gets a rate as seqio computes
// examples-proportional mixing: rate = min(n, cap)^(1/T), normalised. Training runs in blocks
// (the mixture's epochs) of B = Σ min(n, cap) draws; a block takes round(rate · B) draws from each
// component, cycling through the component's examples (a fresh seeded permutation for each pass
// when a block takes only part of it), and shuffles them with the block's seed. A block depends
// only on the seed and its number, so a resumed run rebuilds its position from (block, batch).
// A mixture of one component draws each example once per block, exactly as plain epochs do.
import Foundation
import Tensor

/// How a step's loss weighs its tokens.
public enum LossNormalisation: String, Codable, Sendable, CaseIterable {
    /// Σ over streams of weight × (mean cross-entropy of the stream's target tokens in the batch):
    /// distilling step-by-step's `alpha · label + (1 − alpha) · rationale`, whatever the lengths.
    case perStream = "per-stream"
    /// Σ over target tokens of the stream's weight × cross-entropy, over the batch's target
    /// tokens: the mean token loss of T5 and FLAN training when every weight is 1.
    case perToken = "per-token"
}

/// Streams with sampling rates.
public struct Mixture: Sendable {
    /// Streams drawn together: those with the same `inputs`.
    public struct Component: Hashable, Sendable {
        /// The shared `inputs` name.
        public var name: String
        /// Indices of its streams in the mixture.
        public var streams: [Int]
        /// The examples, in the first stream's order, then any only later streams have.
        public var examples: [ExampleID]
        /// For each example, for each of `streams`, the index of its pair in that stream (nil
        /// when that stream has no pair for it, e.g. a rationale that was filtered out).
        public var pairs: [[Int?]]
    }

    /// The streams.
    public let streams: [TaskStream]
    /// The most examples a component counts for its rate (nil: no cap).
    public let cap: Int?
    /// The mixing temperature T (1: proportional to size; larger flattens towards equal rates).
    public let temperature: Double
    /// How a step weighs its tokens.
    public let normalisation: LossNormalisation
    /// The components, in order of their first stream.
    public let components: [Component]
    /// Each component's sampling rate; they sum to 1.
    public let rates: [Double]

    /// Creates a mixture.
    /// - Parameters:
    ///   - streams: At least one stream, names unique.
    ///   - cap: The examples-proportional cap per component (≥ 1), or nil.
    ///   - temperature: T > 0.
    ///   - normalisation: How a step weighs its tokens.
    /// - Throws: `TrainingError.invalidSetting` for a bad stream, cap or temperature, and
    ///   `.noTrainingData` when no stream has a pair.
    public init(_ streams: [TaskStream], cap: Int? = nil, temperature: Double = 1,
                normalisation: LossNormalisation = .perToken) throws {
        guard !streams.isEmpty else { throw TrainingError.noTrainingData("the mixture has no streams") }
        var names = Set<String>()
        for stream in streams {
            try stream.validate()
            guard names.insert(stream.name).inserted else {
                throw TrainingError.invalidSetting("two streams are called '\(stream.name)'; stream names must be unique")
            }
        }
        if let cap, cap < 1 { throw TrainingError.invalidSetting("the mixture's cap must be at least 1, got \(cap)") }
        guard temperature.isFinite, temperature > 0 else {
            throw TrainingError.invalidSetting("the mixing temperature must be positive, got \(temperature)")
        }
        guard streams.contains(where: { !$0.pairs.isEmpty && $0.weight > 0 }) else {
            throw TrainingError.noTrainingData("no stream has both pairs and a positive weight")
        }
        self.streams = streams
        self.cap = cap
        self.temperature = temperature
        self.normalisation = normalisation
        var components: [Component] = []
        var byInputs: [String: Int] = [:]
        for (s, stream) in streams.enumerated() {
            if let c = byInputs[stream.inputs] { components[c].streams.append(s) } else {
                byInputs[stream.inputs] = components.count
                components.append(Component(name: stream.inputs, streams: [s], examples: [], pairs: []))
            }
        }
        for c in components.indices {
            var row: [ExampleID: Int] = [:]
            let width = components[c].streams.count
            for (k, s) in components[c].streams.enumerated() {
                for (p, pair) in streams[s].pairs.enumerated() {
                    if let r = row[pair.exampleID] { components[c].pairs[r][k] = p; continue }
                    row[pair.exampleID] = components[c].examples.count
                    components[c].examples.append(pair.exampleID)
                    var slots = [Int?](repeating: nil, count: width)
                    slots[k] = p
                    components[c].pairs.append(slots)
                }
            }
        }
        components.removeAll { $0.examples.isEmpty }
        self.components = components
        rates = Mixture.rates(sizes: components.map(\.examples.count), cap: cap, temperature: temperature)
    }

    /// Examples-proportional rates: min(n, cap)^(1/T), normalised to sum to 1.
    public static func rates(sizes: [Int], cap: Int?, temperature: Double) -> [Double] {
        let raw = sizes.map { Foundation.pow(Double(min($0, cap ?? $0)), 1 / temperature) }
        let total = raw.reduce(0, +)
        return raw.map { total > 0 ? $0 / total : 0 }
    }

    /// Draws per block: Σ min(n, cap) over components.
    public var blockSize: Int { components.reduce(0) { $0 + min($1.examples.count, cap ?? $1.examples.count) } }

    /// Each component's draws per block: rate × block size, rounded so they sum to the block size
    /// (largest remainders first, ties to the earlier component).
    public var drawsPerBlock: [Int] {
        let total = blockSize
        let exact = rates.map { $0 * Double(total) }
        var counts = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(counts[$0]), -$0) > (exact[$1] - Double(counts[$1]), -$1) }
        var left = total - counts.reduce(0, +)
        for c in order where left > 0 {
            counts[c] += 1
            left -= 1
        }
        return counts
    }

    /// Each stream's share of the pairs drawn: its component's rate times the share of that
    /// component's examples the stream has a pair for, over all streams.
    public var pairShares: [Double] {
        var shares = [Double](repeating: 0, count: streams.count)
        for (c, component) in components.enumerated() {
            let n = Double(component.examples.count)
            for s in component.streams { shares[s] = rates[c] * Double(streams[s].pairs.count) / n }
        }
        let total = shares.reduce(0, +)
        return shares.map { total > 0 ? $0 / total : 0 }
    }

    /// The passes over its pairs each stream makes in `steps` steps of `batchSize` draws.
    public func epochs(steps: Int, batchSize: Int) -> [Double] {
        var epochs = [Double](repeating: 0, count: streams.count)
        let draws = Double(steps) * Double(batchSize)
        for (c, component) in components.enumerated() {
            for s in component.streams { epochs[s] = draws * rates[c] / Double(component.examples.count) }
        }
        return epochs
    }

    /// Every source and target text, for training a vocabulary from scratch.
    public var texts: [String] { streams.flatMap { $0.pairs.flatMap { [$0.source, $0.target] } } }

    /// The stream called `name`.
    public func stream(named name: String) -> TaskStream? { streams.first { $0.name == name } }

    /// Pairs over all streams.
    public var pairCount: Int { streams.reduce(0) { $0 + $1.pairs.count } }

    /// The manifest: what the mixture is made of, its rates, the seed its order is drawn with,
    /// and a SHA-256 of all of it (every pair's text included), so a result names its data.
    public func manifest(seed: UInt64) -> MixtureManifest {
        let shares = pairShares
        var text = "stepwise-mixture-v1\n"
        func field(_ value: String) { text += "\(value.utf8.count):\(value)\n" }
        field(cap.map(String.init) ?? "none")
        field(String(format: "%.17g", temperature))
        field(normalisation.rawValue)
        field(String(seed))
        var entries: [MixtureManifest.Stream] = []
        for (s, stream) in streams.enumerated() {
            let c = components.firstIndex { $0.streams.contains(s) }
            for value in [stream.name, stream.cluster, String(format: "%.17g", stream.weight), stream.inputs,
                          stream.template.name, stream.template.input, stream.template.target,
                          stream.maxTargetTokens.map(String.init) ?? "default", String(stream.pairs.count)] { field(value) }
            for pair in stream.pairs {
                field(pair.exampleID.split)
                field(String(pair.exampleID.index))
                field(pair.source)
                field(pair.target)
                // Only pairs of mixed-template streams carry these; others hash as they always did.
                if pair.template != nil || pair.format != nil { field("template:\(pair.template ?? "")/\(pair.format ?? "")") }
            }
            entries.append(MixtureManifest.Stream(name: stream.name, cluster: stream.cluster, template: stream.template.name,
                                                  weight: stream.weight, inputs: stream.inputs, pairs: stream.pairs.count,
                                                  rate: c.map { rates[$0] } ?? 0, share: shares[s]))
        }
        return MixtureManifest(streams: entries, cap: cap, temperature: temperature, normalisation: normalisation,
                               seed: seed, hash: SHA256.hash(text).hex)
    }
}

/// What a mixture was made of, as checkpoints and sweep records store it.
public struct MixtureManifest: Codable, Hashable, Sendable {
    /// One stream's entry.
    public struct Stream: Codable, Hashable, Sendable {
        public var name: String
        public var cluster: String
        public var template: String
        public var weight: Double
        public var inputs: String
        /// Pairs in the stream.
        public var pairs: Int
        /// Its component's sampling rate.
        public var rate: Double
        /// Its share of the pairs drawn.
        public var share: Double
    }

    public var streams: [Stream]
    public var cap: Int?
    public var temperature: Double
    public var normalisation: LossNormalisation
    /// The seed of the draw order.
    public var seed: UInt64
    /// SHA-256 over the mixture's settings and every pair's text.
    public var hash: String

    /// The first 12 hex digits of the hash, for tables.
    public var shortHash: String { String(hash.prefix(12)) }
}

/// One draw: an example of a component.
public struct MixtureDraw: Hashable, Sendable {
    /// The component.
    public var component: Int
    /// The example's index in the component.
    public var example: Int

    /// Creates a draw.
    public init(component: Int, example: Int) {
        self.component = component
        self.example = example
    }
}

/// Splits a mixture's draws into batches, block by block, reproducibly: optionally bucketed by
/// length (sorted within chunks of `chunkBatches` batches, then the batches shuffled) so a batch
/// pads little.
public struct MixtureSchedule: Sendable {
    /// Draws per batch (the last batch of a block may be smaller).
    public let batchSize: Int
    /// Sort by length within chunks before batching.
    public let bucketByLength: Bool
    /// Batches per sorting chunk when bucketing.
    public let chunkBatches: Int
    /// The seed of every shuffle.
    public let seed: UInt64
    /// Each component's examples count.
    public let sizes: [Int]
    /// Each component's draws per block.
    public let draws: [Int]
    /// Each draw's length in tokens (what bucketing sorts by), per component and example.
    public let lengths: [[Int]]

    /// Creates a schedule.
    /// - Parameters:
    ///   - mixture: The mixture.
    ///   - lengths: Per component, per example: the tokens its pairs cost.
    ///   - batchSize: Draws per batch, at least 1.
    ///   - bucketByLength: Group draws of similar length.
    ///   - chunkBatches: Batches per sorting chunk (50 unless told), at least 1.
    ///   - seed: The shuffle seed.
    /// - Throws: `TrainingError.invalidSetting` for a batch size or chunk below 1.
    public init(mixture: Mixture, lengths: [[Int]], batchSize: Int, bucketByLength: Bool, chunkBatches: Int = 50,
                seed: UInt64) throws {
        guard batchSize >= 1 else { throw TrainingError.invalidSetting("batch size must be at least 1, got \(batchSize)") }
        guard chunkBatches >= 1 else { throw TrainingError.invalidSetting("chunkBatches must be at least 1, got \(chunkBatches)") }
        precondition(lengths.count == mixture.components.count, "MixtureSchedule: one length list per component")
        self.batchSize = batchSize
        self.bucketByLength = bucketByLength
        self.chunkBatches = chunkBatches
        self.seed = seed
        sizes = mixture.components.map(\.examples.count)
        draws = mixture.drawsPerBlock
        self.lengths = lengths
    }

    /// Draws in one block.
    public var blockSize: Int { draws.reduce(0, +) }

    /// Batches in one block.
    public var batchesPerEpoch: Int { (blockSize + batchSize - 1) / batchSize }

    /// The draws of block `epoch` (0-based), before shuffling: each component's next
    /// `draws[c]` examples of its cycle.
    func blockDraws(epoch: Int) -> [MixtureDraw] {
        var out: [MixtureDraw] = []
        out.reserveCapacity(blockSize)
        for (c, count) in draws.enumerated() where count > 0 {
            let n = sizes[c]
            // A block that takes the component whole takes it in order (the block shuffle mixes
            // it); otherwise each pass over the component has its own permutation.
            var pass = -1, permutation: [Int] = []
            let first = epoch.multipliedReportingOverflow(by: count).partialValue
            for k in first..<first + count {
                if count == n { out.append(MixtureDraw(component: c, example: k % n)); continue }
                if k / n != pass {
                    pass = k / n
                    permutation = Array(0..<n)
                    var rng = RNG(seed: seed ^ (UInt64(truncatingIfNeeded: c) &+ 1) &* 0xD1B5_4A32_D192_ED03
                                  ^ (UInt64(truncatingIfNeeded: pass) &+ 1) &* 0x9E37_79B9_7F4A_7C15)
                    Self.shuffle(&permutation, &rng)
                }
                out.append(MixtureDraw(component: c, example: permutation[k % n]))
            }
        }
        return out
    }

    /// The batches of block `epoch` (0-based).
    public func batches(epoch: Int) -> [[MixtureDraw]] {
        var rng = RNG(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &+ 1) &* 0x9E37_79B9_7F4A_7C15)
        var order = blockDraws(epoch: epoch)
        Self.shuffle(&order, &rng)
        var batches: [[MixtureDraw]] = []
        if bucketByLength {
            let chunk = batchSize * chunkBatches
            for start in stride(from: 0, to: order.count, by: chunk) {
                // Stable: equal lengths keep their shuffled order.
                let sorted = order[start..<min(start + chunk, order.count)].enumerated()
                    .sorted { (lengths[$0.element.component][$0.element.example], $0.offset)
                        < (lengths[$1.element.component][$1.element.example], $1.offset) }.map(\.element)
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
