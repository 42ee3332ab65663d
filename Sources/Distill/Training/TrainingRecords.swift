//// One stream's mean target-token loss in a step.
public struct StreamLoss: Codable, Hashable, Sendable {
    /// The stream's name.
    public var stream: String
    /// Its mean cross-entropy over its target tokens in the step's batch.
    public var loss: Double

    /// Creates a stream loss.
    public init(stream: String, loss: Double) {
        self.stream = stream
        self.loss = loss
    }
}

/// One optimizer step.
public struct StepRecord: Codable, Hashable, Sendable {
    /// The step number (1-based).
    public var step: Int
    /// The mixture block (epoch) the batch came from.
    public var epoch: Int
    /// The minimised loss.
    public var loss: Double
    /// Each stream's mean loss in the batch, for the streams it had, in the mixture's order.
    public var streamLosses: [StreamLoss]
    /// The learning rate of the step.
    public var learningRate: Double
    /// Draws (examples) in the batch.
    public var examples: Int
    /// Tokens processed (sources and targets, padding excluded).
    public var tokens: Int
    /// Tokens per second of step time.
    public var tokensPerSecond: Double
    /// Training wall time so far, in seconds.
    public var elapsed: Double

    /// Creates a record.
    public init(step: Int, epoch: Int, loss: Double, streamLosses: [StreamLoss], learningRate: Double,
                examples: Int, tokens: Int, tokensPerSecond: Double, elapsed: Double) {
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.streamLosses = streamLosses
        self.learningRate = learningRate
        self.examples = examples
        self.tokens = tokens
        self.tokensPerSecond = tokensPerSecond
        self.elapsed = elapsed
    }

    /// The loss of the stream called `name`, when the batch had it.
    public func loss(ofStream name: String) -> Double? { streamLosses.first { $0.stream == name }?.loss }
    /// The label stream's loss (the recipes' label task), else the total loss.
    public var labelLoss: Double { loss(ofStream: StudentTask.label.rawValue) ?? loss }
    /// The rationale stream's loss, when the batch had one (step-by-step).
    public var rationaleLoss: Double? { loss(ofStream: StudentTask.rationale.rawValue) }
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
