// Per-token target losses for T5, over (source, target) pairs padded one per row or packed
// several per row. Packed rows keep pairs apart with attention masks: encoder tokens see their
// own source, decoder tokens see their own target prefix (causally) and their own source. Each
// packed target is shifted right inside its segment, so it starts with the decoder start token.

import Foundation
import NN
import Tensor

extension T5Model {
    /// The cross-entropy of predicting each target token, teacher forced (as `loss` computes it).
    /// - Parameters:
    ///   - pairs: the examples; sources and targets are non-empty lists of token ids.
    ///   - packLength: nil pads one pair per row (sources with the pad id, targets to the longest);
    ///     a length L packs pairs first-fit into rows of at most L encoder tokens and at most L
    ///     decoder tokens (decoder rows sized to the targets' share, both cut to the longest row).
    /// - Returns: a 1-D tensor with one loss per target token, pair by pair then token by token
    ///   (its length is the sum of the targets' lengths in either layout); differentiable.
    /// - Throws: `T5Error.invalidInput` for no pairs, an empty source or target, or an id outside
    ///   the vocabulary; `PackingError` when a source or target is longer than `packLength`.
    public func targetTokenLosses(pairs: [(source: [Int], target: [Int])], packLength: Int?) throws -> Tensor {
        guard !pairs.isEmpty else { throw T5Error.invalidInput("targetTokenLosses needs at least one (source, target) pair") }
        for (i, pair) in pairs.enumerated() {
            guard !pair.source.isEmpty, !pair.target.isEmpty else {
                throw T5Error.invalidInput("pair \(i) has an empty \(pair.source.isEmpty ? "source" : "target")")
            }
            if let bad = (pair.source + pair.target).first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw T5Error.invalidInput("pair \(i) has token id \(bad), outside the vocabulary 0..<\(config.vocabSize)")
            }
        }
        let layout = try packLength.map { try T5TokenLayout(packing: pairs, length: $0, config: config) }
            ?? T5TokenLayout(padding: pairs, config: config)
        // T5's relative position bias depends only on key minus query position, which is the same
        // inside a packed segment whether positions restart there or not; so the stacks keep the
        // bias of the whole row, and the masks hide every pair of positions across segments.
        let memory = encoder(shared(layout.inputIds), mask: layout.encoderMask, blocks: layout.encoderBlocks)  // (B, Ts, C)
        let hidden = decoder(shared(layout.decoderInputIds), mask: layout.decoderMask, memory: memory,
                             memoryMask: layout.crossMask, blocks: layout.decoderBlocks,
                             memoryBlocks: layout.crossBlocks)                                   // (B, T, C)
        let (b, t) = (layout.decoderInputIds.shape[0], layout.decoderInputIds.shape[1])
        // Only target positions reach the head: (N, C) -> (N, V).
        let picked = hidden.reshaped([b * t, config.dModel]).embedding(layout.targetPositions)
        return logits(picked).tokenCrossEntropy(targets: layout.targets)
    }
}

extension T5Model {
    /// The encoder and decoder token slots (padding included) that `targetTokenLosses` lays
    /// `pairs` out in, padded or packed into rows of `packLength`: what a batch costs, against
    /// its real tokens (Σ source + target), for benchmarks.
    /// - Throws: `T5Error.invalidInput` as `targetTokenLosses` does.
    public func tokenSlots(pairs: [(source: [Int], target: [Int])], packLength: Int?) throws -> Int {
        let layout = try packLength.map { try T5TokenLayout(packing: pairs, length: $0, config: config) }
            ?? T5TokenLayout(padding: pairs, config: config)
        return layout.inputIds.count + layout.decoderInputIds.count
    }
}

/// The tensors of one `targetTokenLosses` batch: ids, attention masks (1 where a query may see a
/// key), and where each target token sits in the flattened (B * T) decoder positions.
struct T5TokenLayout {
    /// Int32 (B, Ts) encoder ids and (B, T) decoder inputs (targets shifted right).
    let inputIds: Tensor, decoderInputIds: Tensor
    /// Encoder self-attention: (B, 1, 1, Ts) padded, (B, 1, Ts, Ts) packed.
    let encoderMask: Tensor
    /// Decoder self-attention, on top of causality: nil padded, (B, 1, T, T) packed.
    let decoderMask: Tensor?
    /// Cross-attention: (B, 1, 1, Ts) padded, (B, 1, T, Ts) packed.
    let crossMask: Tensor
    /// Int32 (N): row * T + position of each target token, pair by pair; and the tokens (N).
    let targetPositions: Tensor, targets: Tensor
    /// Packed rows: each pair's blocks of encoder self-, decoder self- and cross-attention, so
    /// attention costs the pairs' own lengths, not the row's; nil when padded.
    let encoderBlocks: AttentionBlocks?, decoderBlocks: AttentionBlocks?, crossBlocks: AttentionBlocks?

    /// One pair per row, padded as `T5Batch` pads (labels -100, decoder inputs shifted right).
    init(padding pairs: [(source: [Int], target: [Int])], config: T5Config) throws {
        let batch = try T5Batch(inputs: pairs.map(\.source), targets: pairs.map(\.target), padTokenId: config.padTokenId)
        let t = pairs.map(\.target.count).max() ?? 1
        inputIds = batch.inputIds
        // `T5Model.shiftRight` of the padded labels: start token, labels shifted right, -100 as pad.
        decoderInputIds = Tensor(indices: pairs.flatMap { pair in
            let labels = pair.target + Array(repeating: -100, count: t - pair.target.count)
            return ([config.decoderStartTokenId] + labels.dropLast()).map { Int32($0 == -100 ? config.padTokenId : $0) }
        }, shape: [pairs.count, t])
        encoderMask = T5Masks.keyMask(batch.attentionMask)
        decoderMask = nil
        crossMask = encoderMask
        (encoderBlocks, decoderBlocks, crossBlocks) = (nil, nil, nil)
        targetPositions = Tensor(indices: pairs.enumerated().flatMap { p, pair in
            (0..<pair.target.count).map { Int32(p * t + $0) }
        }, shape: [pairs.reduce(0) { $0 + $1.target.count }])
        targets = Tensor(indices: pairs.flatMap { $0.target.map { Int32($0) } }, shape: [targetPositions.count])
    }

    /// Pairs packed first-fit into rows of at most `length` encoder and decoder tokens.
    init(packing pairs: [(source: [Int], target: [Int])], length: Int, config: T5Config) throws {
        // Decoder rows get the share of `length` the targets need (step-by-step's labels and
        // rationales are shorter than their sources), so neither side's rows run mostly empty;
        // then each side is cut to the longest row it filled.
        let sourceTotal = pairs.reduce(0) { $0 + $1.source.count }, targetTotal = pairs.reduce(0) { $0 + $1.target.count }
        let longestTarget = pairs.map(\.target.count).max() ?? 1
        let share = Int((Double(length) * Double(targetTotal) / Double(Swift.max(sourceTotal, 1)) * 1.1).rounded(.up))
        let targetCapacity = Swift.min(length, Swift.max(longestTarget, share))
        let rows = try Packing.firstFitDecreasing(pairs.map { [$0.source.count, $0.target.count] }, capacities: [length, targetCapacity])
        let b = rows.count
        let ls = rows.map { $0.reduce(0) { $0 + pairs[$1].source.count } }.max() ?? 1
        let lt = rows.map { $0.reduce(0) { $0 + pairs[$1].target.count } }.max() ?? 1
        var ids = [Int32](repeating: Int32(config.padTokenId), count: b * ls)
        var decoderIds = [Int32](repeating: Int32(config.padTokenId), count: b * lt)
        var sourceSegment = [Int](repeating: 0, count: b * ls), targetSegment = [Int](repeating: 0, count: b * lt)   // 0: padding
        var positions = [Int32](repeating: 0, count: pairs.count)      // where each pair's target starts
        var sourceRanges: [[Range<Int>]] = [], targetRanges: [[Range<Int>]] = []
        for (r, row) in rows.enumerated() {
            var s = 0, t = 0
            sourceRanges.append([])
            targetRanges.append([])
            for (k, p) in row.enumerated() {
                let (source, target) = pairs[p]
                for (i, id) in source.enumerated() { ids[r * ls + s + i] = Int32(id); sourceSegment[r * ls + s + i] = k + 1 }
                for (i, id) in ([config.decoderStartTokenId] + target.dropLast()).enumerated() {
                    decoderIds[r * lt + t + i] = Int32(id)
                    targetSegment[r * lt + t + i] = k + 1
                }
                positions[p] = Int32(r * lt + t)
                sourceRanges[r].append(s..<(s + source.count))
                targetRanges[r].append(t..<(t + target.count))
                s += source.count
                t += target.count
            }
        }
        /// (B, 1, Tq, Tk): 1 where query i and key j are in one segment (and the key is no padding).
        func sameSegment(_ queries: [Int], _ tq: Int, _ keys: [Int], _ tk: Int) -> Tensor {
            var mask = [Float](repeating: 0, count: b * tq * tk)
            for r in 0..<b {
                for i in 0..<tq where queries[r * tq + i] != 0 {
                    for j in 0..<tk where keys[r * tk + j] == queries[r * tq + i] { mask[(r * tq + i) * tk + j] = 1 }
                }
            }
            return Tensor(mask, shape: [b, 1, tq, tk])
        }
        inputIds = Tensor(indices: ids, shape: [b, ls])
        decoderInputIds = Tensor(indices: decoderIds, shape: [b, lt])
        encoderMask = sameSegment(sourceSegment, ls, sourceSegment, ls)
        decoderMask = sameSegment(targetSegment, lt, targetSegment, lt)
        crossMask = sameSegment(targetSegment, lt, sourceSegment, ls)
        encoderBlocks = .diagonal(sourceRanges)
        decoderBlocks = .diagonal(targetRanges)
        crossBlocks = AttentionBlocks(zip(targetRanges, sourceRanges).map { targets, sources in
            zip(targets, sources).map { AttentionBlocks.Block(queries: $0, keys: $1) }
        })
        targetPositions = Tensor(indices: pairs.enumerated().flatMap { p, pair in
            (0..<pair.target.count).map { positions[p] + Int32($0) }
        }, shape: [pairs.reduce(0) { $0 + $1.target.count }])
        targets = Tensor(indices: pairs.flatMap { $0.target.map { Int32($0) } }, shape: [targetPositions.count])
    }
}
