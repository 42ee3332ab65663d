// What training reports: per-step records, evaluations, the events a caller watches, the stop
// reason and the final result. All Codable: trainer_state.json stores the histories.
import Foundation

/// One completed optimizer step.
public struct StepRecord: Codable, Hashable, Sendable {
    /// Steps completed, this one included (1-based).
    public var step: Int
    /// The epoch the step's batch came from (0-based).
    public var epoch: Int
    /// The loss that was minimised: `alpha * labelLoss + (1 - alpha) * rationaleLoss` for
    /// step-by-step, the label loss otherwise.
    public var loss: Double
    /// Mean cross-entropy over the step's label target tokens.
    public var labelLoss: Double
    /// Mean cross-entropy over the step's rationale target tokens (step-by-step), or nil.
    public var rationaleLoss: Double?
    /// The learning rate of the update.
    public var learningRate: Double
    /// Examples in the step.
    public var examples: Int
    /// Tokens in the step (sources and targets of every pair).
    public var tokens: Int
    /// Tokens per second of this step.
    public var tokensPerSecond: Double
    /// Seconds of training so far (across resumes), this step included.
    public var elapsed: Double

    /// Creates a record.
    public init(step: Int, epoch: Int, loss: Double, labelLoss: Double, rationaleLoss: Double?, learningRate: Double,
                examples: Int, tokens: Int, tokensPerSecond: Double, elapsed: Double) {
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.labelLoss = labelLoss
        self.rationaleLoss = rationaleLoss
        self.learningRate = learningRate
        self.examples = examples
        self.tokens = tokens
        self.tokensPerSecond = tokensPerSecond
        self.elapsed = elapsed
    }
}

/// One evaluation on the validation examples.
public struct EvaluationRecord: Codable, Hashable, Sendable {
    /// Steps completed when it ran.
    public var step: Int
    /// Accuracy on the examples evaluated.
    public var accuracy: Double
    /// Examples evaluated.
    public var count: Int
    /// Seconds it took.
    public var seconds: Double
    /// Whether it was the best so far.
    public var isBest: Bool

    /// Creates a record.
    public init(step: Int, accuracy: Double, count: Int, seconds: Double, isBest: Bool) {
        self.step = step
        self.accuracy = accuracy
        self.count = count
        self.seconds = seconds
        self.isBest = isBest
    }
}

/// Why training stopped.
public enum StopReason: String, Codable, Hashable, Sendable {
    /// It ran all its steps.
    case finished
    /// Validation accuracy stopped improving for `patience` evaluations.
    case earlyStopped = "early-stop"
    /// The cancellation flag was set; the model is at its last completed step.
    case cancelled
}

/// Something the trainer reports while it runs.
public enum TrainingEvent: Sendable {
    /// A step completed.
    case step(StepRecord)
    /// An evaluation started on `count` examples at `step`.
    case evaluationStarted(step: Int, count: Int)
    /// An evaluation completed.
    case evaluation(EvaluationRecord)
    /// A checkpoint folder was written (`best` tells which kind).
    case checkpoint(path: String, step: Int, best: Bool)
    /// Training ended; the result is also returned.
    case finished(TrainingResult)
}

/// The outcome of a training run.
public struct TrainingResult: Codable, Hashable, Sendable {
    /// Why it stopped.
    public var stopReason: StopReason
    /// Steps completed (across resumes).
    public var steps: Int
    /// The run's planned steps.
    public var totalSteps: Int
    /// Every step's record.
    public var losses: [StepRecord]
    /// Every evaluation.
    public var evaluations: [EvaluationRecord]
    /// The step of the best evaluation, if any ran.
    public var bestStep: Int?
    /// The best validation accuracy, if any evaluation ran.
    public var bestAccuracy: Double?
    /// Whether the best weights were put back at the end (keep-best, not after a cancellation).
    public var restoredBest: Bool
    /// Seconds spent training and evaluating (across resumes).
    public var wallSeconds: Double
    /// Examples processed (an example counts once per step it is in).
    public var examplesSeen: Int
    /// Tokens processed per second of step time, over the whole run.
    public var tokensPerSecond: Double
    /// Steps per second of step time, over the whole run.
    public var stepsPerSecond: Double

    /// The last step's loss, if any step ran.
    public var finalLoss: Double? { losses.last?.loss }
}
