// The contract between the trainer and the two student families (a T5 encoder-decoder, a
// Llama-family decoder with LoRA). The trainer knows only this protocol: it batches encoded
// pairs, asks for a loss, steps an optimizer over `trainableParameters()`, and generates for
// evaluation. Recipes (fine-tuning, distillation, step-by-step) decide the text of each pair.
import Foundation
import Tensor

/// The two tasks of distilling step-by-step, and the prefixes that mark them in the source text,
/// as the paper's code writes them. The recipe builds one stream for each; the evaluator and
/// `student.generate(task:)` use the prefixes to ask for one or the other.
public enum StudentTask: String, Hashable, Sendable, Codable, CaseIterable {
    case label
    case rationale

    /// The prefix that marks the task in the source text.
    public var prefix: String {
        switch self {
        case .label: return "label: "
        case .rationale: return "rationale: "
        }
    }
}

/// One training pair in text: the source (prompt, prefix or template included) and the target
/// to produce.
public struct TrainingPair: Hashable, Sendable {
    /// The example the pair comes from.
    public var exampleID: ExampleID
    /// The source text, prefix or template included.
    public var source: String
    /// The target text, without end-of-sequence marks (the student adds its own).
    public var target: String
    /// The id of the template the pair was rendered with, when its stream mixes several
    /// (an instruction-tuning task: "anli1/t3"); nil when the stream's own template made it.
    public var template: String?
    /// The format it was rendered in ("zero-shot", "few-shot", "cot"), when its stream mixes several.
    public var format: String?

    /// Creates a pair.
    public init(exampleID: ExampleID, source: String, target: String, template: String? = nil, format: String? = nil) {
        self.exampleID = exampleID
        self.source = source
        self.target = target
        self.template = template
        self.format = format
    }
}

/// A pair as token ids, truncated to the trainer's limits, with its end-of-sequence mark.
public struct EncodedPair: Hashable, Sendable {
    /// The index of the stream the pair belongs to, in its mixture (0 outside a mixture).
    public var stream: Int
    /// Source token ids.
    public var source: [Int]
    /// Target token ids, ending with the student's end-of-sequence token unless truncated.
    public var target: [Int]

    /// Creates an encoded pair.
    public init(stream: Int = 0, source: [Int], target: [Int]) {
        self.stream = stream
        self.source = source
        self.target = target
    }

    /// Tokens the pair costs in a batch (source plus target), used for length bucketing.
    public var length: Int { source.count + target.count }
}

/// A model the trainer can train and evaluate.
///
/// Implementations: `T5Student` (a T5 from scratch or from a Hugging Face folder) and
/// `LlamaLoRAStudent` (a GGUF Llama-family model dequantised to Float32, with LoRA adapters).
public protocol Student: AnyObject {
    /// The family's name as checkpoints and tables show it: "t5" or "llama-lora".
    var family: String { get }
    /// One line for tables and logs: size, parameter counts.
    var summary: String { get }
    /// The parameters the optimizer updates, with stable names (checkpoint keys).
    func trainableParameters() -> [(String, Tensor)]
    /// Tokenizes a pair: source truncated to `maxSourceTokens`, target to `maxTargetTokens`
    /// (end-of-sequence included).
    /// - Throws: An error naming the text when it cannot be tokenized.
    func encode(_ pair: TrainingPair, maxSourceTokens: Int, maxTargetTokens: Int) throws -> EncodedPair
    /// The cross-entropy of every target token of `pairs`, as one 1-D tensor with a graph back to
    /// `trainableParameters()`: pair by pair, token by token, so entry k belongs to the same
    /// token whatever the layout. `packLength` nil pads each pair to the batch's longest;
    /// a length L packs several pairs into rows of L tokens (attention and positions kept
    /// within each pair), which changes the cost but not the values.
    /// - Throws: `TrainingError.invalidSetting` for an empty batch or a pair longer than
    ///   `packLength` or the model's context.
    func targetTokenLosses(_ pairs: [EncodedPair], packLength: Int?) throws -> Tensor
    /// Whether a pair's source and target share one packed row (a decoder-only model), so that
    /// both together must fit `packLength`; an encoder-decoder packs each side in its own row.
    var packsSourceWithTarget: Bool { get }
    /// Greedy continuations of `sources` (prefix included), without the end-of-sequence mark,
    /// at most `maxNewTokens` tokens each. Checks `cancel` between tokens and throws
    /// `TrainingError.cancelled` when it is set.
    func generate(_ sources: [String], maxNewTokens: Int, cancel: CancellationFlag?) throws -> [String]
    /// Switches dropout on (training) or off (evaluation).
    func setTraining(_ on: Bool)
    /// Writes weights and config into an existing, empty `directory` in a form Hugging Face can
    /// load (T5: the whole model; LoRA: the adapter in PEFT format).
    func save(to directory: URL) throws
    /// Loads what `save(to:)` wrote into this student (same shape).
    /// - Throws: An error naming the file and what is wrong with it.
    func load(from directory: URL) throws
    /// Restarts the random streams of the training forward (dropout) at `seed`; see the default
    /// implementation below, which does nothing.
    func reseedRandomness(_ seed: UInt64)
}

extension Student {
    /// Restarts every random stream the student's training forward draws from (dropout) at `seed`.
    /// The trainer calls it before each step with a seed made from its own seed and the step
    /// number, so that a run resumed from a checkpoint draws what an uninterrupted run draws.
    /// The default does nothing, which fits a student without randomness; a student with dropout
    /// implements it (`T5Student` does).
    public func reseedRandomness(_ seed: UInt64) {}
}

extension Student {
    /// The summed log-likelihood of each target given its source, with the student's end token
    /// counted as part of the target (as training sees it) and no length normalisation, as FLAN's
    /// rank classification scores options. Pairs are scored `batchSize` at a time, without
    /// gradients and with dropout off.
    /// - Parameters:
    ///   - pairs: (source, target) texts; the source carries its prefix or template.
    ///   - maxSourceTokens: Sources are cut to this many tokens, as in training.
    ///   - batchSize: Pairs per forward pass.
    ///   - cancel: Checked between batches.
    /// - Returns: One log-likelihood (≤ 0) per pair, in order.
    /// - Throws: `TrainingError.cancelled`, or the student's encoding errors.
    public func logLikelihoods(_ pairs: [(source: String, target: String)], maxSourceTokens: Int = 512, batchSize: Int = 32,
                               cancel: CancellationFlag? = nil) throws -> [Double] {
        guard batchSize >= 1 else { throw TrainingError.invalidSetting("the scoring batch size must be at least 1, got \(batchSize)") }
        setTraining(false)
        let encoded = try pairs.enumerated().map { index, pair in
            try encode(TrainingPair(exampleID: ExampleID(split: "score", index: index), source: pair.source, target: pair.target),
                       maxSourceTokens: maxSourceTokens, maxTargetTokens: Int(Int32.max))
        }
        var scores: [Double] = []
        scores.reserveCapacity(pairs.count)
        for start in stride(from: 0, to: encoded.count, by: batchSize) {
            if cancel?.isCancelled == true { throw TrainingError.cancelled }
            let batch = Array(encoded[start..<min(start + batchSize, encoded.count)])
            let losses = try Tensor.withoutGrad { try targetTokenLosses(batch, packLength: nil) }.scalars
            var offset = 0
            for pair in batch {
                var sum = 0.0
                for k in offset..<offset + pair.target.count { sum += Double(losses[k]) }
                scores.append(-sum)
                offset += pair.target.count
            }
        }
        return scores
    }
}

/// What stops training or makes it refuse to start.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// Cancellation was asked for (an interrupt); the model keeps its last completed step.
    case cancelled
    /// There is nothing to train on (for example, every rationale was filtered out).
    case noTrainingData(String)
    /// A setting is out of range.
    case invalidSetting(String)
    /// A checkpoint folder is missing a file or holds one that does not fit this student.
    case badCheckpoint(path: String, reason: String)
    /// The loss became NaN or infinite at a step.
    case nonFiniteLoss(step: Int)
    /// A folder was not written because writing it could remove or mix with files Stepwise did
    /// not write (a notebook, a store), or because it names no folder at all.
    case refusedFolder(path: String, reason: String)

    public var description: String {
        switch self {
        case .cancelled: return "training was interrupted; the model keeps its last completed step"
        case .noTrainingData(let why): return "there is nothing to train on: \(why)"
        case .invalidSetting(let why): return "invalid training setting: \(why)"
        case .badCheckpoint(let path, let reason): return "cannot use the checkpoint at \(path): \(reason)"
        case .nonFiniteLoss(let step): return "the loss is not finite at step \(step); lower the learning rate"
        case .refusedFolder(let path, let reason): return "will not write the folder \(path): \(reason)"
        }
    }
}
