// Per-token target losses for the trainable decoder, over (prompt, target) examples padded one
// per row or packed several per row. In a packed row each example is a segment: its tokens see
// only earlier tokens of the same segment, and RoPE positions restart at 0, so a segment computes
// what it would alone. As in `causalLMLoss`, only target positions reach the head.
import Foundation
import NN
import Tensor

extension LlamaTrainable {
    /// The cross-entropy of predicting each target token from the tokens before it in its example
    /// (prompt + target): the first target token is predicted from the last prompt token.
    /// - Parameters:
    ///   - pairs: the examples; prompts and targets are non-empty lists of token ids.
    ///   - packLength: nil gives each example its own row, right-padded to the longest; a length
    ///     L packs examples first-fit into rows of L tokens.
    ///   - padTokenId: the id that fills padding (it is never attended to or predicted).
    /// - Returns: a 1-D tensor with one loss per target token, example by example then token by
    ///   token (its length is the sum of the targets' lengths in either layout); differentiable.
    /// - Throws: `LlamaError.invalidInput` for no pairs or an empty prompt or target,
    ///   `LlamaError.tokenOutOfRange` for an id (or `padTokenId`) outside the vocabulary, and
    ///   `PackingError` when an example is longer than `packLength`.
    public func targetTokenLosses(pairs: [(prompt: [Int], target: [Int])], packLength: Int?, padTokenId: Int) throws -> Tensor {
        guard !pairs.isEmpty else { throw LlamaError.invalidInput("targetTokenLosses needs at least one (prompt, target) pair") }
        for (i, pair) in pairs.enumerated() where pair.prompt.isEmpty || pair.target.isEmpty {
            throw LlamaError.invalidInput("example \(i) has an empty \(pair.prompt.isEmpty ? "prompt (the first target token needs a token before it)" : "target")")
        }
        guard padTokenId >= 0, padTokenId < config.vocabularySize else {
            throw LlamaError.tokenOutOfRange(id: padTokenId, vocabularySize: config.vocabularySize)
        }
        let lengths = pairs.map { $0.prompt.count + $0.target.count }
        // Each example's place: its row, and the column where it starts.
        var rows: [[Int]], starts = [Int](repeating: 0, count: pairs.count), places = [Int](repeating: 0, count: pairs.count)
        let width: Int
        if let packLength {
            let packed = try Packing.firstFitDecreasing(lengths.map { [$0] }, capacities: [packLength])
            // Rows are cut to the longest one filled: a batch that fills no row wastes no padding.
            width = packed.map { $0.reduce(0) { $0 + lengths[$1] } }.max() ?? 1
            rows = packed.map { _ in [Int](repeating: padTokenId, count: width) }
            for (r, members) in packed.enumerated() {
                var column = 0
                for p in members { places[p] = r; starts[p] = column; column += lengths[p] }
            }
        } else {
            width = lengths.max() ?? 1
            rows = pairs.map { _ in [Int](repeating: padTokenId, count: width) }
            places = Array(pairs.indices)
        }
        // Segment 0 is padding; positions restart in every segment.
        var segments = rows.map { [Int](repeating: 0, count: $0.count) }, positions = segments
        var predictors: [Int32] = [], targets: [Int32] = []
        for (p, pair) in pairs.enumerated() {
            let (r, start) = (places[p], starts[p])
            for (i, id) in (pair.prompt + pair.target).enumerated() {
                rows[r][start + i] = id
                segments[r][start + i] = p + 1
                positions[r][start + i] = i
            }
            for (k, id) in pair.target.enumerated() {
                predictors.append(Int32(r * width + start + pair.prompt.count + k - 1))
                targets.append(Int32(id))
            }
        }
        let hidden: Tensor                                                            // (B, T, dModel)
        if packLength != nil {
            var mask = [Float](repeating: 0, count: rows.count * width * width)       // (B, 1, T, T)
            for r in rows.indices {
                for i in 0..<width where segments[r][i] != 0 {
                    for j in 0..<width where segments[r][j] == segments[r][i] { mask[(r * width + i) * width + j] = 1 }
                }
            }
            var segmentRanges = rows.map { _ in [Range<Int>]() }
            for p in pairs.indices { segmentRanges[places[p]].append(starts[p]..<(starts[p] + lengths[p])) }
            hidden = try hiddenStates(rows, positions: positions,
                                      mask: Tensor(mask, shape: [rows.count, 1, width, width]),
                                      blocks: .diagonal(segmentRanges))
        } else {
            hidden = try hiddenStates(rows)                           // padding sits after each row's tokens
        }
        let picked = hidden.reshaped([rows.count * width, config.dModel])
            .embedding(Tensor(indices: predictors, shape: [predictors.count]))          // (N, dModel)
        return picked.linear(weight: lmHead ?? embedTokens)                              // (N, vocab)
            .tokenCrossEntropy(targets: Tensor(indices: targets, shape: [targets.count]))
    }
}
