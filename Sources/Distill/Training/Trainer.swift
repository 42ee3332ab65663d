// One trainer for every recipe and every student family. Each step takes a batch of examples,
// computes the label loss over their label pairs and (step-by-step) the rationale loss over their
// rationale pairs, weights them by alpha, back-propagates micro-batch by micro-batch, clips and
// steps the optimizer. Around the steps: evaluation on validation examples, best weights, early
// stopping, checkpoints and resume, progress events and cancellation.
import Foundation
import NN
import Tensor

/// The losses of one step (or of a set of items), as numbers.
public struct StepLoss: Hashable, Sendable {
    /// The minimised loss: `alpha * label + (1 - alpha) * rationale` (the rationale term is 0
    /// when the items have no rationale pair).
    public var loss: Double
    /// Mean cross-entropy over the label target tokens.
    public var labelLoss: Double
    /// Mean cross-entropy over the rationale target tokens; nil when not computed (no rationale
    /// pairs, or alpha = 1).
    public var rationaleLoss: Double?
    /// Tokens processed (sources and targets).
    public var tokens: Int
}

/// Trains a `Student` on the items a `Recipe` made.
///
/// ```swift
/// let data = try Recipe.stepByStep(alpha: 0.5, maskNumbers: true).prepare(train, teacher: outputs, kind: .equation)
/// let student = try T5Student.fromScratch(size: .tiny, texts: data.texts, seed: 0)
/// let trainer = try Trainer(student: student, data: data, validation: valid, kind: .equation,
///                           config: TrainerConfig(steps: 500, evalEvery: 100))
/// let result = try trainer.train(cancel: flag) { event in print(event) }
/// ```
public final class Trainer {
    /// The student being trained.
    public let student: Student
    /// The training items and the recipe that made them.
    public let data: TrainingData
    /// The settings.
    public let config: TrainerConfig
    /// The validation examples (gold labels, unmasked); the first `evalLimit` are evaluated.
    public let validation: [Example]
    /// How evaluations generate and score.
    public let evaluationSettings: EvaluationSettings
    /// The optimizer over `student.trainableParameters()`.
    public let optimizer: Optimizer
    /// The batch order.
    public let batcher: TrainingBatcher
    /// Progress so far (what a checkpoint stores).
    public private(set) var state: TrainerState

    private let parameters: [(String, Tensor)]
    private let encoded: [(label: EncodedPair, rationale: EncodedPair?)]
    private var bestWeights: [Tensor]?
    private var epochCache: (epoch: Int, batches: [[Int]])?

    /// Prepares training: encodes every pair, builds the optimizer and the batch order.
    /// - Parameters:
    ///   - student: The student.
    ///   - data: Items from `Recipe.prepare`.
    ///   - validation: Examples to evaluate on (may be empty: no evaluation, keep-best does nothing).
    ///   - kind: How the task compares labels.
    ///   - config: The settings.
    /// - Throws: `TrainingError.invalidSetting` for bad settings, `.noTrainingData` for no items,
    ///   or the student's encoding error.
    public init(student: Student, data: TrainingData, validation: [Example], kind: LabelKind, config: TrainerConfig) throws {
        try config.validate()
        try data.recipe.validate()
        guard !data.items.isEmpty else { throw TrainingError.noTrainingData("the recipe produced no items") }
        self.student = student
        self.data = data
        self.config = config
        self.validation = validation
        evaluationSettings = EvaluationSettings(kind: kind, maskNumbers: data.recipe.maskNumbers, batchSize: config.evalBatchSize,
                                                maxNewTokens: config.maxNewTokens, withRationales: false,
                                                maxRationaleTokens: config.maxRationaleTokens)
        let useRationales = data.recipe.method == .stepByStep && data.recipe.alpha < 1
        let pairs = try data.items.map { item -> (label: EncodedPair, rationale: EncodedPair?) in
            let label = try student.encode(item.label, maxSourceTokens: config.maxSourceTokens, maxTargetTokens: config.maxTargetTokens)
            guard useRationales, let pair = item.rationale else { return (label, nil) }
            return (label, try student.encode(pair, maxSourceTokens: config.maxSourceTokens, maxTargetTokens: config.maxRationaleTokens))
        }
        encoded = pairs
        batcher = try TrainingBatcher(lengths: pairs.map { $0.label.length + ($0.rationale?.length ?? 0) },
                                      batchSize: config.batchSize * config.gradientAccumulation,
                                      bucketByLength: config.bucketByLength, seed: config.seed)
        let trainable = student.trainableParameters()
        guard !trainable.isEmpty else { throw TrainingError.invalidSetting("the student has no trainable parameters") }
        parameters = trainable
        switch config.optimizer {
        case .adamw:
            optimizer = AdamW(trainable, learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay))
        case .adafactor:
            optimizer = Adafactor(trainable, learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay),
                                  scaleParameter: false, relativeStep: false, warmupInit: false)
        }
        state = TrainerState(config: config, method: data.recipe.method, alpha: data.recipe.alpha,
                             itemCount: data.items.count, family: student.family)
    }

    /// Steps the run plans: `steps`, or `epochs` passes over the items.
    public var totalSteps: Int { config.steps ?? config.epochs * batcher.batchesPerEpoch }

    // MARK: - Losses and gradients

    /// Computes the loss of items and, with `backward`, adds its gradients into the parameters'
    /// `grad`, micro-batch by micro-batch (`gradientAccumulation` slices). Each micro-batch's
    /// label and rationale losses are weighted by its share of the items' target tokens, so the
    /// result is the loss of all the items as one batch.
    /// - Parameters:
    ///   - items: Indices into `data.items`.
    ///   - backward: Back-propagate (training) or only compute (inspection).
    ///   - step: The step number reported by `TrainingError.nonFiniteLoss`.
    ///   - cancel: Checked between micro-batches; throws `TrainingError.cancelled`.
    /// - Throws: `TrainingError.nonFiniteLoss`, `.cancelled`, or the student's error.
    public func loss(items: [Int], backward: Bool, step: Int = 0, cancel: CancellationFlag? = nil) throws -> StepLoss {
        guard !items.isEmpty else { throw TrainingError.invalidSetting("a loss needs at least one item") }
        if let bad = items.first(where: { !encoded.indices.contains($0) }) {
            throw TrainingError.invalidSetting("item \(bad) is outside 0..<\(encoded.count)")
        }
        let alpha = data.recipe.labelWeight
        let labelTokens = items.reduce(0) { $0 + encoded[$1].label.target.count }
        let rationaleTokens = items.reduce(0) { $0 + (encoded[$1].rationale?.target.count ?? 0) }
        let slices = Self.split(items, into: config.gradientAccumulation)
        var labelLoss = 0.0, rationaleLoss = 0.0, tokens = 0
        for slice in slices {
            if cancel?.isCancelled == true { throw TrainingError.cancelled }
            let labels = slice.map { encoded[$0].label }
            let rationales = slice.compactMap { encoded[$0].rationale }
            tokens += labels.reduce(0) { $0 + $1.length } + rationales.reduce(0) { $0 + $1.length }
            let body = { () throws -> (Tensor?, Double, Double) in
                var total: Tensor?
                var l = 0.0, r = 0.0
                do {
                    let share = Double(labels.reduce(0) { $0 + $1.target.count }) / Double(labelTokens)
                    let value = try self.student.loss(labels)
                    let number = Double(value.item())
                    guard number.isFinite else { throw TrainingError.nonFiniteLoss(step: step) }
                    l = number * share
                    total = value * Float(alpha * share)
                }
                if !rationales.isEmpty, alpha < 1, rationaleTokens > 0 {
                    if cancel?.isCancelled == true { throw TrainingError.cancelled }
                    let share = Double(rationales.reduce(0) { $0 + $1.target.count }) / Double(rationaleTokens)
                    let value = try self.student.loss(rationales)
                    let number = Double(value.item())
                    guard number.isFinite else { throw TrainingError.nonFiniteLoss(step: step) }
                    r = number * share
                    let term = value * Float((1 - alpha) * share)
                    total = total.map { $0 + term } ?? term
                }
                return (total, l, r)
            }
            let (total, l, r) = backward ? try body() : try Tensor.withoutGrad { try body() }
            labelLoss += l
            rationaleLoss += r
            if backward, let total, total.requiresGrad { total.backward() }
        }
        let hasRationale = rationaleTokens > 0 && alpha < 1
        return StepLoss(loss: alpha * labelLoss + (hasRationale ? (1 - alpha) * rationaleLoss : 0),
                        labelLoss: labelLoss, rationaleLoss: hasRationale ? rationaleLoss : nil, tokens: tokens)
    }

    /// Contiguous, near-equal slices (the first ones one longer), none empty.
    static func split(_ items: [Int], into parts: Int) -> [[Int]] {
        let count = min(max(1, parts), items.count)
        var out: [[Int]] = []
        var start = 0
        for part in 0..<count {
            let size = items.count / count + (part < items.count % count ? 1 : 0)
            out.append(Array(items[start..<start + size]))
            start += size
        }
        return out
    }

    /// The items of the next batch, without advancing.
    func nextBatch() -> [Int] {
        if epochCache?.epoch != state.epoch { epochCache = (state.epoch, batcher.batches(epoch: state.epoch)) }
        return epochCache?.batches[state.batchInEpoch] ?? []
    }

    /// The batch order's position after the current batch.
    func advanceBatch() {
        state.batchInEpoch += 1
        if state.batchInEpoch >= batcher.batchesPerEpoch {
            state.batchInEpoch = 0
            state.epoch += 1
        }
    }

    /// One optimizer step on the next batch.
    func trainStep(schedule: LRSchedule, cancel: CancellationFlag?) throws -> StepRecord {
        let items = nextBatch()
        let started = Date()
        student.setTraining(true)
        student.reseedRandomness(config.seed &+ UInt64(state.step + 1) &* 0xA076_1D64_78BD_642F)
        optimizer.zeroGrad()
        let learningRate = schedule.learningRate(base: Float(config.learningRate), step: state.step)
        let result: StepLoss
        do {
            result = try loss(items: items, backward: true, step: state.step + 1, cancel: cancel)
        } catch {
            optimizer.zeroGrad()
            throw error
        }
        if let maxNorm = config.maxGradNorm { clipGradNorm(parameters.map(\.1), maxNorm: Float(maxNorm)) }
        optimizer.learningRate = learningRate
        optimizer.step()
        optimizer.zeroGrad()
        let seconds = Date().timeIntervalSince(started)
        let epoch = state.epoch
        advanceBatch()
        state.step += 1
        state.examplesSeen += items.count
        state.tokensSeen += result.tokens
        state.stepSeconds += seconds
        state.wallSeconds += seconds
        let record = StepRecord(step: state.step, epoch: epoch, loss: result.loss, labelLoss: result.labelLoss,
                                rationaleLoss: result.rationaleLoss, learningRate: Double(learningRate),
                                examples: items.count, tokens: result.tokens,
                                tokensPerSecond: seconds > 0 ? Double(result.tokens) / seconds : 0, elapsed: state.wallSeconds)
        state.losses.append(record)
        return record
    }

    // MARK: - Training

    /// Trains until the planned steps are done, early stopping triggers, or `cancel` is set.
    ///
    /// Cancellation is checked before each step, between micro-batches and during evaluation;
    /// the student then keeps the weights of its last completed step (keep-best does not apply)
    /// and the result's `stopReason` is `.cancelled`. When a checkpoint folder is set, `last/` is
    /// written at each evaluation (or every `checkpointEvery` steps), on cancellation and at the
    /// end; `best/` whenever an evaluation improves.
    /// - Parameters:
    ///   - cancel: The interrupt flag.
    ///   - onEvent: Called on the training thread for each step, evaluation and checkpoint.
    /// - Returns: The result, with histories that include any steps before a resume.
    /// - Throws: `TrainingError.nonFiniteLoss` (weights are then those of the step before),
    ///   checkpoint errors, or the student's errors.
    public func train(cancel: CancellationFlag? = nil, onEvent: ((TrainingEvent) -> Void)? = nil) throws -> TrainingResult {
        let total = totalSteps
        let schedule = config.lrSchedule(totalSteps: total)
        let emit = onEvent ?? { _ in }
        var reason = StopReason.finished
        var lastEvaluatedStep = state.evaluations.last?.step ?? -1
        var lastCheckpointStep = -1
        loop: while state.step < total {
            if cancel?.isCancelled == true { reason = .cancelled; break }
            let record: StepRecord
            do { record = try trainStep(schedule: schedule, cancel: cancel) } catch TrainingError.cancelled {
                reason = .cancelled
                break loop
            }
            emit(.step(record))
            let evaluateNow = config.evalEvery > 0 && state.step % config.evalEvery == 0 && !validation.isEmpty
            if evaluateNow {
                do {
                    if try evaluateAndTrack(cancel: cancel, emit: emit) { reason = .earlyStopped }
                    lastEvaluatedStep = state.step
                } catch TrainingError.cancelled {
                    reason = .cancelled
                    break loop
                }
            }
            let checkpointDue = config.checkpointEvery.map { state.step % $0 == 0 } ?? evaluateNow
            if checkpointDue, config.checkpointDirectory != nil {
                try writeLast(emit: emit)
                lastCheckpointStep = state.step
            }
            if reason == .earlyStopped { break }
        }
        if reason == .finished, !validation.isEmpty, lastEvaluatedStep != state.step, state.step > 0 {
            do { _ = try evaluateAndTrack(cancel: cancel, emit: emit) } catch TrainingError.cancelled { reason = .cancelled }
        }
        if config.checkpointDirectory != nil, lastCheckpointStep != state.step {
            try writeLast(emit: emit)
        }
        var restored = false
        if reason != .cancelled, config.keepBest, let bestWeights, let best = state.bestStep, best != state.step {
            Tensor.withoutGrad { for ((_, p), w) in zip(parameters, bestWeights) { p.assign(w) } }
            restored = true
        }
        let result = TrainingResult(
            stopReason: reason, steps: state.step, totalSteps: total, losses: state.losses, evaluations: state.evaluations,
            bestStep: state.bestStep, bestAccuracy: state.bestAccuracy, restoredBest: restored, wallSeconds: state.wallSeconds,
            examplesSeen: state.examplesSeen,
            tokensPerSecond: state.stepSeconds > 0 ? Double(state.tokensSeen) / state.stepSeconds : 0,
            stepsPerSecond: state.stepSeconds > 0 ? Double(state.losses.count) / state.stepSeconds : 0)
        emit(.finished(result))
        return result
    }

    /// Evaluates on the validation examples, records the result, keeps the best weights.
    /// - Returns: Whether patience ran out.
    func evaluateAndTrack(cancel: CancellationFlag?, emit: (TrainingEvent) -> Void) throws -> Bool {
        let examples = Array(validation.prefix(config.evalLimit ?? validation.count))
        emit(.evaluationStarted(step: state.step, count: examples.count))
        let started = Date()
        let evaluation = try StudentEvaluator.evaluate(student, on: examples, settings: evaluationSettings, cancel: cancel)
        let seconds = Date().timeIntervalSince(started)
        state.wallSeconds += seconds
        let improved = state.bestAccuracy.map { evaluation.accuracy > $0 } ?? true
        let record = EvaluationRecord(step: state.step, accuracy: evaluation.accuracy, count: evaluation.count,
                                      seconds: seconds, isBest: improved)
        state.evaluations.append(record)
        if improved {
            state.bestAccuracy = evaluation.accuracy
            state.bestStep = state.step
            state.evaluationsWithoutImprovement = 0
            bestWeights = Tensor.withoutGrad {
                parameters.map { _, p in
                    let copy = Tensor.zeros(p.shape)
                    copy.assign(p)
                    return copy
                }
            }
        } else {
            state.evaluationsWithoutImprovement += 1
        }
        emit(.evaluation(record))
        if improved, let directory = config.checkpointDirectory {
            let best = URL(fileURLWithPath: directory).appendingPathComponent("best")
            try TrainerCheckpoint.writeAtomically(best) { folder in
                try student.save(to: folder)
                try TrainerCheckpoint.writeState(state, to: folder)
            }
            emit(.checkpoint(path: best.path, step: state.step, best: true))
        }
        if let patience = config.patience, state.evaluationsWithoutImprovement >= patience { return true }
        return false
    }

    /// Writes `<checkpointDirectory>/last` atomically.
    func writeLast(emit: (TrainingEvent) -> Void) throws {
        guard let directory = config.checkpointDirectory else { return }
        let last = URL(fileURLWithPath: directory).appendingPathComponent("last")
        try saveCheckpoint(to: last)
        emit(.checkpoint(path: last.path, step: state.step, best: false))
    }

    /// Writes a complete checkpoint (student, optimizer state, trainer state) into `folder`,
    /// atomically: the folder appears whole or not at all.
    /// - Parameters:
    ///   - folder: The checkpoint folder to create or replace.
    /// - Throws: `TrainingError.badCheckpoint` or the student's save error; `folder` is then unchanged.
    public func saveCheckpoint(to folder: URL) throws {
        try TrainerCheckpoint.writeAtomically(folder) { temporary in
            try student.save(to: temporary)
            try TrainerCheckpoint.writeOptimizer(optimizer, to: temporary)
            try TrainerCheckpoint.writeState(state, to: temporary)
        }
    }

    /// Continues from a checkpoint: loads the student's weights, the optimizer state and the
    /// trainer state (step, batch position, histories, best), and the best weights when `best/`
    /// is beside it. Then `train` continues where the checkpointed run stopped, with the same
    /// losses it would have had.
    /// - Parameters:
    ///   - url: A checkpoint directory (with `last/`) or a checkpoint folder (with trainer_state.json).
    /// - Throws: `TrainingError.badCheckpoint` naming the file that is missing, corrupt or made
    ///   with other settings or data.
    public func resume(from url: URL) throws {
        let folder = try TrainerCheckpoint.stateFolder(url)
        let saved = try TrainerCheckpoint.readState(from: folder)
        let statePath = folder.appendingPathComponent(TrainerCheckpoint.stateFile).path
        let mismatch: String? = {
            if saved.family != student.family { return "it was made by a \(saved.family) student, this one is \(student.family)" }
            if saved.itemCount != data.items.count { return "it was trained on \(saved.itemCount) items, this run has \(data.items.count)" }
            if saved.method != data.recipe.method || saved.alpha != data.recipe.alpha { return "it used \(saved.method.rawValue) (alpha \(saved.alpha))" }
            let a = saved.config, b = config
            if a.seed != b.seed || a.batchSize != b.batchSize || a.gradientAccumulation != b.gradientAccumulation || a.bucketByLength != b.bucketByLength {
                return "it used seed \(a.seed), batch \(a.batchSize)×\(a.gradientAccumulation), bucketing \(a.bucketByLength)"
            }
            if a.optimizer != b.optimizer { return "it used the \(a.optimizer.rawValue) optimizer" }
            return nil
        }()
        if let mismatch { throw TrainingError.badCheckpoint(path: statePath, reason: "\(mismatch); resume with the same settings") }
        guard saved.step >= 0, saved.epoch >= 0, saved.batchInEpoch >= 0, saved.batchInEpoch < batcher.batchesPerEpoch else {
            throw TrainingError.badCheckpoint(path: statePath, reason: "its batch position (epoch \(saved.epoch), batch \(saved.batchInEpoch)) does not fit this data")
        }
        // Each step takes one batch, so the step count and the batch position tell the same
        // story; a state where they disagree was edited or damaged, and resuming would silently
        // skip or repeat training.
        let (epochBatches, overflow) = saved.epoch.multipliedReportingOverflow(by: batcher.batchesPerEpoch)
        guard !overflow, epochBatches <= Int.max - saved.batchInEpoch, epochBatches + saved.batchInEpoch == saved.step,
              saved.losses.count <= saved.step, saved.examplesSeen >= 0, saved.tokensSeen >= 0 else {
            throw TrainingError.badCheckpoint(path: statePath, reason: "its step (\(saved.step)) does not match its batch position (epoch \(saved.epoch), batch \(saved.batchInEpoch) of \(batcher.batchesPerEpoch) per epoch) and history (\(saved.losses.count) steps); the file was edited or damaged")
        }
        if let planned = config.steps, saved.step > planned {
            throw TrainingError.badCheckpoint(path: statePath, reason: "it is at step \(saved.step), past this run's \(planned) steps; raise steps: or start a new checkpoint folder")
        }
        let bestFolder = folder.deletingLastPathComponent().appendingPathComponent("best")
        var best: [Tensor]?
        if saved.bestStep != nil, FileManager.default.fileExists(atPath: bestFolder.appendingPathComponent(TrainerCheckpoint.stateFile).path) {
            try student.load(from: bestFolder)
            best = Tensor.withoutGrad {
                parameters.map { _, p in
                    let copy = Tensor.zeros(p.shape)
                    copy.assign(p)
                    return copy
                }
            }
        }
        try student.load(from: folder)
        try TrainerCheckpoint.readOptimizer(into: optimizer, from: folder)
        var restored = saved
        restored.config = config
        state = restored
        bestWeights = best
        epochCache = nil
    }
}
