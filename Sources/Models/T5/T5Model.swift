// The T5 encoder-decoder (transformers' T5ForConditionalGeneration): shared embedding, encoder,
// decoder, output head (tied with the dModel^-0.5 rescale in v1.0, separate lm_head in v1.1),
// teacher-forced forward and the seq2seq loss. Parameter names are Hugging Face's.

import Foundation
import NN
import Tensor

/// A T5 model for sequence-to-sequence training and generation.
public final class T5Model: Module {
    /// The hyper-parameters this model was built from.
    public let config: T5Config
    /// v1.0's ReLU MLP or v1.1's gated GELU.
    public let feedForwardKind: T5FeedForward
    let shared: Embedding
    let encoder: T5Stack
    let decoder: T5Stack
    let lmHead: Linear?

    /// A randomly initialised model, with Hugging Face's initialisation (`_init_weights`, factor 1)
    /// except for an untied lm_head, drawn with std dModel^-0.5 rather than 1.
    /// - Parameters:
    ///   - config: dimensions; see `T5Config.preset(_:vocabSize:)` for tiny, mini and small.
    ///   - seed: fixes the weights and the dropout masks.
    public init(_ config: T5Config, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        feedForwardKind = try config.feedForward()
        var rng = RNG(seed: seed)
        shared = Embedding(config.vocabSize, config.dModel, std: 1, rng: &rng)
        encoder = T5Stack(config, isDecoder: false, kind: feedForwardKind, rng: &rng)
        decoder = T5Stack(config, isDecoder: true, kind: feedForwardKind, rng: &rng)
        // transformers draws lm_head from N(0, 1), which starts a from-scratch model at a loss of
        // ~65 (d_model 256) instead of ~log(vocab); dModel^-0.5 gives unit-scale logits.
        lmHead = config.tieWordEmbeddings ? nil
            : T5Init.linear(config.dModel, config.vocabSize, std: 1 / Float(config.dModel).squareRoot(), rng: &rng)
        super.init()
    }

    public override func namedChildren() -> [(String, Module)] {
        var out: [(String, Module)] = [("shared", shared), ("encoder", encoder), ("decoder", decoder)]
        if let lmHead { out.append(("lm_head", lmHead)) }
        return out
    }

    public override func ownParameters() -> [(String, Tensor)] { [] }

    // MARK: - Forward

    /// Runs the encoder.
    /// - Parameters:
    ///   - inputIds: Int32 (B, Ts) token ids.
    ///   - attentionMask: (B, Ts), 1 for tokens and 0 for padding; nil when nothing is padded.
    /// - Returns: the encoder output (B, Ts, dModel).
    public func encode(_ inputIds: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
        try check(inputIds, "inputIds")
        let mask = try attentionMask.map { try keyMask($0, like: inputIds) }
        return encoder(shared(inputIds), mask: mask)                       // (B, Ts, C)
    }

    /// Runs the decoder over whole target sequences (teacher forcing).
    /// - Parameters:
    ///   - decoderInputIds: Int32 (B, T); labels shifted right (see `shiftRight(_:)`).
    ///   - encoderOutput: (B, Ts, dModel) from `encode`.
    ///   - attentionMask: the encoder's (B, Ts) padding mask, or nil.
    /// - Returns: logits (B, T, vocabSize).
    public func decode(_ decoderInputIds: Tensor, encoderOutput: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
        try check(decoderInputIds, "decoderInputIds")
        guard encoderOutput.rank == 3, encoderOutput.shape[0] == decoderInputIds.shape[0], encoderOutput.shape[2] == config.dModel else {
            throw T5Error.invalidInput("encoderOutput must be (B, Ts, \(config.dModel)) with B = \(decoderInputIds.shape[0]), got \(encoderOutput.shape)")
        }
        let memoryMask = try attentionMask.map { try keyMask($0, like: encoderOutput) }
        let hidden = decoder(shared(decoderInputIds), mask: nil, memory: encoderOutput, memoryMask: memoryMask)
        return logits(hidden)                                              // (B, T, V)
    }

    /// The vocabulary head over decoder states (B, T, C) -> (B, T, V).
    func logits(_ hidden: Tensor) -> Tensor {
        // T5 v1.0 rescales so that tied logits keep the embedding's scale.
        let h = config.scaleDecoderOutputs ? hidden * (1 / Float(config.dModel).squareRoot()) : hidden
        if let lmHead { return lmHead(h) }
        return h.matmul(shared.weight.transposed())
    }

    /// Teacher-forced logits (B, T, V) for inputs and decoder inputs.
    public func callAsFunction(inputIds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor) throws -> Tensor {
        let memory = try encode(inputIds, attentionMask: attentionMask)
        return try decode(decoderInputIds, encoderOutput: memory, attentionMask: attentionMask)
    }

    /// The mean token cross-entropy of predicting `labels`, as transformers computes it.
    /// - Parameters:
    ///   - inputIds: Int32 (B, Ts).
    ///   - attentionMask: (B, Ts) 1/0, or nil.
    ///   - labels: Int32 (B, T); -100 marks positions without loss (padding).
    ///   - labelSmoothing: 0 in T5.
    /// - Returns: a scalar; call `backward()` on it to train.
    public func loss(inputIds: Tensor, attentionMask: Tensor? = nil, labels: Tensor, labelSmoothing: Float = 0) throws -> Tensor {
        let decoderInputIds = try shiftRight(labels)
        // The loss kernel traps on an out-of-range target, so check the last column too.
        if let bad = labels.indexScalars.first(where: { $0 != -100 && ($0 < 0 || $0 >= config.vocabSize) }) {
            throw T5Error.invalidInput("label \(bad) is outside the vocabulary 0..<\(config.vocabSize) (use -100 for padding)")
        }
        let logits = try self(inputIds: inputIds, attentionMask: attentionMask, decoderInputIds: decoderInputIds)
        return logits.crossEntropy(targets: labels, ignoreIndex: -100, labelSmoothing: labelSmoothing)
    }

    /// Decoder inputs from labels: `decoderStartTokenId` first, labels shifted one right, -100 as pad.
    public func shiftRight(_ labels: Tensor) throws -> Tensor {
        guard labels.rank == 2, labels.dtype == .int32 else {
            throw T5Error.invalidInput("labels must be Int32 (B, T), got \(labels.dtype) \(labels.shape)")
        }
        let (b, t) = (labels.shape[0], labels.shape[1])
        let values = labels.indexScalars
        var shifted = [Int32](repeating: Int32(config.decoderStartTokenId), count: b * t)
        for i in 0..<b {
            for j in 1..<Swift.max(t, 1) {
                let label = values[i * t + j - 1]
                guard label == -100 || (label >= 0 && label < config.vocabSize) else {
                    throw T5Error.invalidInput("label \(label) at row \(i), position \(j - 1) is outside the vocabulary 0..<\(config.vocabSize) (use -100 for padding)")
                }
                shifted[i * t + j] = Int32(label == -100 ? config.padTokenId : label)
            }
        }
        return Tensor(indices: shifted, shape: [b, t])
    }

    // MARK: - Input checks

    func check(_ ids: Tensor, _ name: String) throws {
        guard ids.rank == 2, ids.dtype == .int32 else {
            throw T5Error.invalidInput("\(name) must be Int32 (B, T), got \(ids.dtype) \(ids.shape)")
        }
        guard ids.shape[0] > 0, ids.shape[1] > 0 else { throw T5Error.invalidInput("\(name) is empty: \(ids.shape)") }
        do { try ids.validateIndices(below: config.vocabSize) } catch {
            throw T5Error.invalidInput("\(name): \(error)")
        }
    }

    func keyMask(_ mask: Tensor, like ids: Tensor) throws -> Tensor {
        guard mask.shape == Array(ids.shape.prefix(2)) else {
            throw T5Error.invalidInput("attentionMask must be (B, Ts) = \(Array(ids.shape.prefix(2))), got \(mask.shape)")
        }
        return T5Masks.keyMask(mask)
    }
}

// MARK: - Batches

/// Padded tensors for a batch of token sequences.
public struct T5Batch {
    /// Int32 (B, Ts) input ids, padded with the pad id.
    public let inputIds: Tensor
    /// Int32 (B, Ts): 1 for tokens, 0 for padding.
    public let attentionMask: Tensor
    /// Int32 (B, T) labels, padded with -100; nil when no targets were given.
    public let labels: Tensor?

    /// Pads `inputs` (and `targets`) to the longest sequence of each.
    /// - Parameters:
    ///   - inputs: one token list per example (non-empty).
    ///   - targets: one token list per example (usually ending in eos), or nil.
    ///   - padTokenId: the id that pads inputs (T5: 0).
    public init(inputs: [[Int]], targets: [[Int]]? = nil, padTokenId: Int = 0) throws {
        guard !inputs.isEmpty, inputs.allSatisfy({ !$0.isEmpty }) else {
            throw T5Error.invalidInput("a batch needs at least one example and no empty input")
        }
        let outOfRange = { (id: Int) in id < 0 || id > Int(Int32.max) }
        if let bad = inputs.joined().first(where: outOfRange) ?? targets?.joined().first(where: { $0 != -100 && outOfRange($0) }) {
            throw T5Error.invalidInput("token id \(bad) is not a valid id (0...\(Int32.max), or -100 in targets)")
        }
        let ts = inputs.map(\.count).max() ?? 1
        var ids: [Int32] = [], mask: [Int32] = []
        for row in inputs {
            ids += row.map { Int32($0) } + Array(repeating: Int32(padTokenId), count: ts - row.count)
            mask += Array(repeating: 1, count: row.count) + Array(repeating: 0, count: ts - row.count)
        }
        inputIds = Tensor(indices: ids, shape: [inputs.count, ts])
        attentionMask = Tensor(indices: mask, shape: [inputs.count, ts])
        if let targets {
            guard targets.count == inputs.count, targets.allSatisfy({ !$0.isEmpty }) else {
                throw T5Error.invalidInput("targets must have one non-empty list per input (\(inputs.count)), got \(targets.count)")
            }
            let t = targets.map(\.count).max() ?? 1
            let values = targets.flatMap { row in row.map { Int32($0) } + Array(repeating: Int32(-100), count: t - row.count) }
            labels = Tensor(indices: values, shape: [targets.count, t])
        } else {
            labels = nil
        }
    }
}
