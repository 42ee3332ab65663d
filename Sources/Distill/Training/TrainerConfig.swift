// The trainer's settings: length of training, batching, optimizer and schedule, evaluation,
// early stopping and checkpoints. Codable, so a checkpoint records the settings it was made with.
import Foundation
import NN

/// Which optimizer steps the student's parameters.
public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
    /// AdamW (β 0.9/0.999, ε 1e-8) with decoupled weight decay.
    case adamw
    /// Adafactor with a fixed learning rate (no relative step, no parameter scaling), as T5 fine-tuning uses it.
    case adafactor
}

/// Everything the trainer needs to know besides the student and the data.
public struct TrainerConfig: Codable, Hashable, Sendable {
    /// Optimizer steps to run; when nil, `epochs` passes over the items decide.
    public var steps: Int?
    /// Passes over the training items, used when `steps` is nil.
    public var epochs: Int
    /// Examples per micro-batch (each gives its label pair and, for step-by-step, its rationale pair).
    public var batchSize: Int
    /// Micro-batches per optimizer step; the step's loss is exactly that of one batch of
    /// `batchSize * gradientAccumulation` examples.
    public var gradientAccumulation: Int
    /// Peak learning rate.
    public var learningRate: Double
    /// AdamW or Adafactor.
    public var optimizer: OptimizerKind
    /// Decoupled weight decay.
    public var weightDecay: Double
    /// Linear warm-up steps.
    public var warmupSteps: Int
    /// The schedule after warm-up.
    public var schedule: LRSchedule.Kind
    /// Clip the global gradient norm to this; nil for no clipping.
    public var maxGradNorm: Double?
    /// Source tokens per pair (longer sources are cut, keeping `</s>`).
    public var maxSourceTokens: Int
    /// Target tokens per label pair (end-of-sequence included).
    public var maxTargetTokens: Int
    /// Target tokens per rationale pair.
    public var maxRationaleTokens: Int
    /// Group draws of similar length into batches (padded batches).
    public var bucketByLength: Bool
    /// Pack several pairs into rows of this many tokens instead of padding each pair (nil: pad).
    /// Attention and positions stay within each pair, so the loss is the same; the padding is not.
    public var packLength: Int?
    /// Evaluate on the validation examples every this many steps (and at the end); 0 for only at the end.
    public var evalEvery: Int
    /// The most validation examples an evaluation runs on; nil for all.
    public var evalLimit: Int?
    /// Examples per generation batch in evaluation.
    public var evalBatchSize: Int
    /// New tokens generated per label in evaluation.
    public var maxNewTokens: Int
    /// Stop after this many evaluations without a better accuracy; nil never stops early.
    public var patience: Int?
    /// At the end (not after a cancellation) restore the weights of the best evaluation.
    public var keepBest: Bool
    /// Where checkpoints go (`last/` and `best/` inside); nil keeps nothing on disk.
    public var checkpointDirectory: String?
    /// Write `last/` every this many steps; nil writes it at each evaluation and at the end.
    public var checkpointEvery: Int?
    /// Seeds the batch order and dropout.
    public var seed: UInt64

    /// Settings with defaults that train a tiny T5 from scratch sensibly.
    public init(steps: Int? = nil, epochs: Int = 1, batchSize: Int = 16, gradientAccumulation: Int = 1,
                learningRate: Double = 1e-3, optimizer: OptimizerKind = .adamw, weightDecay: Double = 0.01,
                warmupSteps: Int = 0, schedule: LRSchedule.Kind = .constant, maxGradNorm: Double? = 1.0,
                maxSourceTokens: Int = 256, maxTargetTokens: Int = 64, maxRationaleTokens: Int = 192,
                bucketByLength: Bool = true, packLength: Int? = nil, evalEvery: Int = 0, evalLimit: Int? = nil, evalBatchSize: Int = 32,
                maxNewTokens: Int = 64, patience: Int? = nil, keepBest: Bool = true,
                checkpointDirectory: String? = nil, checkpointEvery: Int? = nil, seed: UInt64 = 0) {
        self.steps = steps
        self.epochs = epochs
        self.batchSize = batchSize
        self.gradientAccumulation = gradientAccumulation
        self.learningRate = learningRate
        self.optimizer = optimizer
        self.weightDecay = weightDecay
        self.warmupSteps = warmupSteps
        self.schedule = schedule
        self.maxGradNorm = maxGradNorm
        self.maxSourceTokens = maxSourceTokens
        self.maxTargetTokens = maxTargetTokens
        self.maxRationaleTokens = maxRationaleTokens
        self.bucketByLength = bucketByLength
        self.packLength = packLength
        self.evalEvery = evalEvery
        self.evalLimit = evalLimit
        self.evalBatchSize = evalBatchSize
        self.maxNewTokens = maxNewTokens
        self.patience = patience
        self.keepBest = keepBest
        self.checkpointDirectory = checkpointDirectory
        self.checkpointEvery = checkpointEvery
        self.seed = seed
    }

    /// Checks every setting.
    /// - Throws: `TrainingError.invalidSetting` naming the first one out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw TrainingError.invalidSetting(message()) }
        }
        if let steps { try check(steps >= 1, "steps must be at least 1, got \(steps)") }
        try check(epochs >= 1, "epochs must be at least 1, got \(epochs)")
        try check(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        try check(gradientAccumulation >= 1, "gradient accumulation must be at least 1, got \(gradientAccumulation)")
        try check(learningRate > 0 && learningRate.isFinite, "learning rate must be positive, got \(learningRate)")
        try check(weightDecay >= 0 && weightDecay.isFinite, "weight decay must be ≥ 0, got \(weightDecay)")
        try check(warmupSteps >= 0, "warm-up steps must be ≥ 0, got \(warmupSteps)")
        if let maxGradNorm { try check(maxGradNorm > 0, "max gradient norm must be positive, got \(maxGradNorm)") }
        try check(maxSourceTokens >= 2, "max source tokens must be at least 2, got \(maxSourceTokens)")
        try check(maxTargetTokens >= 1, "max target tokens must be at least 1, got \(maxTargetTokens)")
        try check(maxRationaleTokens >= 1, "max rationale tokens must be at least 1, got \(maxRationaleTokens)")
        if let packLength { try check(packLength >= 2, "pack must be at least 2 tokens, got \(packLength)") }
        try check(evalEvery >= 0, "evalEvery must be ≥ 0, got \(evalEvery)")
        if let evalLimit { try check(evalLimit >= 1, "the evaluation limit must be at least 1, got \(evalLimit)") }
        try check(evalBatchSize >= 1, "the evaluation batch size must be at least 1, got \(evalBatchSize)")
        try check(maxNewTokens >= 1, "max new tokens must be at least 1, got \(maxNewTokens)")
        if let patience { try check(patience >= 1, "patience must be at least 1 evaluation, got \(patience)") }
        if let checkpointEvery { try check(checkpointEvery >= 1, "checkpointEvery must be at least 1, got \(checkpointEvery)") }
    }

    /// The learning-rate multiplier schedule for a run of `total` steps.
    public func lrSchedule(totalSteps total: Int) -> LRSchedule { LRSchedule(schedule, warmup: warmupSteps, total: total) }
}
