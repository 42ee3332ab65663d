// One trainer for every mixture and every student family. Each step draws a batch from the
// mixture (examples of its components, each with its pairs in every stream that has one),
// computes each target token's cross-entropy, weighs it by its stream's weight as the mixture's
// normalisation says (step-by-step: alpha · label mean + (1 − alpha) · rationale mean), and
// back-propagates micro-batch by micro-batch; then clips and steps the optimizer. Pairs are padded
// stream by stream, or packed several to a row when `packLength` is set. Around the steps:
// evaluation on validation examples, best weights, early stopping, checkpoints and resume,
// progress events and cancellation.
import Foundation
import NN
import Tensor

/// The losses of one step (or of a set of draws), as numbers.
public struct StepLoss: Hashable, Sendable {
    /// The minimised loss.
    public var loss: Double
    /// Each stream's mean cross-entropy over its target tokens in the batch, for the streams
    /// that had tokens in it, in the mixture's order.
    public var streams: [StreamLoss]
    /// Tokens processed (sources and targets, padding excluded).
    public var tokens: Int
    /// Target tokens that carried loss.
    public var targetTokens: Int

    /// The label stream's loss (fine-tuning, distillation, step-by-step), else the total.
    public var labelLoss: Double { streams.first { $0.stream == StudentTask.label.rawValue }?.loss ?? loss }
    /// The rationale stream's loss, when the batch had one.
    public var rationaleLoss: Double? { streams.first { $0.stream == StudentTask.rationale.rawValue }?.loss }
}

/// Trains a `Student` on a `Mixture`.
///
/// ```swift
/// let data = try Recipe.stepByStep(alpha: 0.5, maskNumbers: true).prepare(train, teacher: outputs, kind: .equation)
/// let student = try T5Student.fromScratch(size: .tiny, texts: data.texts, seed: 0)
/// let trainer = try Trainer(student: student, mixture: data.mixture, validation: valid,
///                           evaluation: EvaluationSettings(kind: .equation, maskNumbers: true),
///                           config: TrainerConfig(steps: 500, evalEvery: 100))
/// let result = try trainer.train(cancel: flag) { event in print(event) }
/// ```
public final class Trainer {
    /// The student being trained.
    public let student: Student
    /// The streams and their rates.
    public let mixture: Mixture
    /// The mixture's manifest for this run's seed (checkpoints and records store it).
    public let manifest: MixtureManifest
    /// The settings.
    public let config: TrainerConfig
    /// The validation examples (gold labels, unmasked); the first `evalLimit` are evaluated.
    public let validation: [Example]
    /// How evaluations generate and score.
    public let evaluationSettings: EvaluationSettings
    /// The optimizer over `student.trainableParameters()`.
    public let optimizer: Optimizer
    /// The draw order.
    public let schedule: MixtureSchedule
    /// Progress so far (what a checkpoint stores).
    public private(set) var state: TrainerState

    private let parameters: [(String, Tensor)]
    /// Per component, per example: the encoded pairs of the streams that train (weight > 0).
    private let encoded: [[[EncodedPair]]]
    private var bestWeights: [Tensor]?
    private var epochCache: (epoch: Int, batches: [[MixtureDraw]])?

    /// Prepares training: encodes every pair, builds the optimizer and the draw order.
    /// - Parameters:
    ///   - student: The student.
    ///   - mixture: The streams (a recipe's `prepare(...).mixture`, or any mixture).
    ///   - validation: Examples to evaluate on (may be empty: no evaluation, keep-best does nothing).
    ///   - evaluation: How validation examples are scored.
    ///   - config: The settings.
    /// - Throws: `TrainingError.invalidSetting` for bad settings, `.noTrainingData` for no pairs,
    ///   or the student's encoding error.
    public init(student: Student, mixture: Mixture, validation: [Example], evaluation: EvaluationSettings,
                config: TrainerConfig) throws {
        try config.validate()
        self.student = student
        self.mixture = mixture
        self.config = config
        self.validation = validation
        evaluationSettings = evaluation
        manifest = mixture.manifest(seed: config.seed)
        var encoded: [[[EncodedPair]]] = []
        for component in mixture.components {
            encoded.append(try component.pairs.map { slots in
                try zip(component.streams, slots).compactMap { s, p -> EncodedPair? in
                    let stream = mixture.streams[s]
                    guard let p, stream.weight > 0 else { return nil }
                    var pair = try student.encode(stream.pairs[p], maxSourceTokens: config.maxSourceTokens,
                                                  maxTargetTokens: stream.maxTargetTokens ?? config.maxTargetTokens)
                    pair.stream = s
                    if let pack = config.packLength, max(pair.source.count, pair.target.count) > pack
                        || (student.packsSourceWithTarget && pair.length > pack) {
                        throw TrainingError.invalidSetting("a pair of stream '\(stream.name)' (\(stream.pairs[p].exampleID)) has \(pair.source.count) source and \(pair.target.count) target tokens, more than pack: \(pack); raise pack or lower the token limits")
                    }
                    return pair
                }
            })
        }
        self.encoded = encoded
        guard encoded.contains(where: { $0.contains { !$0.isEmpty } }) else {
            throw TrainingError.noTrainingData("the mixture has no pair in a stream with a positive weight")
        }
        schedule = try MixtureSchedule(mixture: mixture, lengths: encoded.map { $0.map { $0.reduce(0) { $0 + $1.length } } },
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
        state = TrainerState(config: config, mixture: manifest, family: student.family)
    }

    /// Steps the run plans: `steps`, or `epochs` blocks of the mixture.
    public var totalSteps: Int { config.steps ?? config.epochs * schedule.batchesPerEpoch }

    // MARK: - Losses and gradients

    /// Computes the loss of draws and, with `backward`, adds its gradients into the parameters'
    /// `grad`, micro-batch by micro-batch (`gradientAccumulation` slices). Each token's weight is
    /// fixed by the whole set of draws (its stream's weight over the stream's, or all, target
    /// tokens), so the result is the loss of all the draws as one batch.
    /// - Parameters:
    ///   - draws: Draws of the mixture.
    ///   - backward: Back-propagate (training) or only compute (inspection).
    ///   - step: The step number reported by `TrainingError.nonFiniteLoss`.
    ///   - cancel: Checked between micro-batches; throws `TrainingError.cancelled`.
    /// - Throws: `TrainingError.nonFiniteLoss`, `.cancelled`, or the student's error.
    public func loss(draws: [MixtureDraw], backward: Bool, step: Int = 0, cancel: CancellationFlag? = nil) throws -> StepLoss {
        guard !draws.isEmpty else { throw TrainingError.invalidSetting("a loss needs at least one draw") }
        if let bad = draws.first(where: { !encoded.indices.contains($0.component) || !encoded[$0.component].indices.contains($0.example) }) {
            throw TrainingError.invalidSetting("draw \(bad) is outside the mixture")
        }
        let streamCount = mixture.streams.count
        var targetTokens = [Int](repeating: 0, count: streamCount)
        for draw in draws { for pair in encoded[draw.component][draw.example] { targetTokens[pair.stream] += pair.target.count } }
        let allTargets = targetTokens.reduce(0, +)
        guard allTargets > 0 else { throw TrainingError.noTrainingData("the batch has no target tokens") }
        // Each stream's weight per target token.
        let tokenWeight: [Double] = (0..<streamCount).map { s in
            guard targetTokens[s] > 0 else { return 0 }
            switch mixture.normalisation {
            case .perStream: return mixture.streams[s].weight / Double(targetTokens[s])
            case .perToken: return mixture.streams[s].weight / Double(allTargets)
            }
        }
        var sums = [Double](repeating: 0, count: streamCount)
        var tokens = 0
        for slice in Self.split(draws, into: config.gradientAccumulation) {
            if cancel?.isCancelled == true { throw TrainingError.cancelled }
            let pairs = slice.flatMap { encoded[$0.component][$0.example] }
            tokens += pairs.reduce(0) { $0 + $1.length }
            // Padded batches go stream by stream (a label pads to labels, not to rationales);
            // packed rows take the whole slice.
            let groups: [[EncodedPair]]
            if config.packLength != nil {
                groups = [pairs]
            } else {
                groups = (0..<streamCount).map { s in pairs.filter { $0.stream == s } }.filter { !$0.isEmpty }
            }
            for group in groups {
                if cancel?.isCancelled == true { throw TrainingError.cancelled }
                let body = { () throws -> Tensor in
                    let losses = try self.student.targetTokenLosses(group, packLength: self.config.packLength)
                    let values = losses.scalars
                    var weights: [Float] = []
                    weights.reserveCapacity(values.count)
                    var offset = 0
                    for pair in group {
                        var sum = 0.0
                        for k in offset..<offset + pair.target.count { sum += Double(values[k]) }
                        sums[pair.stream] += sum
                        weights += repeatElement(Float(tokenWeight[pair.stream]), count: pair.target.count)
                        offset += pair.target.count
                    }
                    guard sums.allSatisfy(\.isFinite) else { throw TrainingError.nonFiniteLoss(step: step) }
                    return (losses * Tensor(weights, shape: [weights.count])).sum()
                }
                let value = backward ? try body() : try Tensor.withoutGrad { try body() }
                if backward, value.requiresGrad { value.backward() }
            }
        }
        let streams = (0..<streamCount).compactMap { s -> StreamLoss? in
            targetTokens[s] > 0 ? StreamLoss(stream: mixture.streams[s].name, loss: sums[s] / Double(targetTokens[s])) : nil
        }
        let loss: Double
        switch mixture.normalisation {
        case .perStream:
            loss = (0..<streamCount).reduce(0) { $0 + (targetTokens[$1] > 0 ? mixture.streams[$1].weight * sums[$1] / Double(targetTokens[$1]) : 0) }
        case .perToken:
            loss = (0..<streamCount).reduce(0) { $0 + mixture.streams[$1].weight * sums[$1] } / Double(allTargets)
        }
        return StepLoss(loss: loss, streams: streams, tokens: tokens, targetTokens: allTargets)
    }

    /// The encoded pairs a batch of draws trains on (every stream's pair of each drawn example),
    /// as `loss(draws:)` sees them; draws outside the mixture are skipped.
    public func encodedPairs(_ draws: [MixtureDraw]) -> [EncodedPair] {
        draws.flatMap { draw -> [EncodedPair] in
            guard encoded.indices.contains(draw.component), encoded[draw.component].indices.contains(draw.example) else { return [] }
            return encoded[draw.component][draw.example]
        }
    }

    /// Contiguous, near-equal slices (the first ones one longer), none empty.
    static func split<T>(_ items: [T], into parts: Int) -> [[T]] {
        let count = min(max(1, parts), items.count)
        var out: [[T]] = []
        var start = 0
        for part in 0..<count {
            let size = items.count / count + (part < items.count % count ? 1 : 0)
            out.append(Array(items[start..<start + size]))
            start += size
        }
        return out
    }

    /// The draws of the next batch, without advancing.
    public func nextBatch() -> [MixtureDraw] {
        if epochCache?.epoch != state.epoch { epochCache = (state.epoch, schedule.batches(epoch: state.epoch)) }
        return epochCache?.batches[state.batchInEpoch] ?? []
    }

    /// The batch order's position after the current batch.
    func advanceBatch() {
        state.batchInEpoch += 1
        if state.batchInEpoch >= schedule.batchesPerEpoch {
            state.batchInEpoch = 0
            state.epoch += 1
        }
    }

    /// One optimizer step on the next batch.
    func trainStep(schedule lrSchedule: LRSchedule, cancel: CancellationFlag?) throws -> StepRecord {
        let draws = nextBatch()
        let started = Date()
        student.setTraining(true)
        student.reseedRandomness(config.seed &+ UInt64(state.step + 1) &* 0xA076_1D64_78BD_642F)
        optimizer.zeroGrad()
        let learningRate = lrSchedule.learningRate(base: Float(config.learningRate), step: state.step)
        let result: StepLoss
        do {
            result = try loss(draws: draws, backward: true, step: state.step + 1, cancel: cancel)
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
        state.examplesSeen += draws.count
        state.tokensSeen += result.tokens
        state.stepSeconds += seconds
        state.wallSeconds += seconds
        let record = StepRecord(step: state.step, epoch: epoch, loss: result.loss, streamLosses: result.streams,
                                learningRate: Double(learningRate), examples: draws.count, tokens: result.tokens,
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
        let lrSchedule = config.lrSchedule(totalSteps: total)
        let emit = onEvent ?? { _ in }
        var reason = StopReason.finished
        var lastEvaluatedStep = state.evaluations.last?.step ?? -1
        var lastCheckpointStep = -1
        loop: while state.step < total {
            if cancel?.isCancelled == true { reason = .cancelled; break }
            let record: StepRecord
            do { record = try trainStep(schedule: lrSchedule, cancel: cancel) } catch TrainingError.cancelled {
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
            if saved.mixture.hash != manifest.hash {
                func describe(_ m: MixtureManifest) -> String {
                    m.streams.map { stream in stream.name + " " + String(stream.pairs) }.joined(separator: ", ") + ", data " + m.shortHash
                }
                return "it was trained on another mixture (\(describe(saved.mixture))) than this run's (\(describe(manifest)))"
            }
            let a = saved.config, b = config
            if a.seed != b.seed || a.batchSize != b.batchSize || a.gradientAccumulation != b.gradientAccumulation || a.bucketByLength != b.bucketByLength {
                return "it used seed \(a.seed), batch \(a.batchSize)×\(a.gradientAccumulation), bucketing \(a.bucketByLength)"
            }
            if a.optimizer != b.optimizer { return "it used the \(a.optimizer.rawValue) optimizer" }
            if a.packLength != b.packLength { return "it used pack \(a.packLength.map(String.init) ?? "off")" }
            return nil
        }()
        if let mismatch { throw TrainingError.badCheckpoint(path: statePath, reason: "\(mismatch); resume with the same settings") }
        guard saved.step >= 0, saved.epoch >= 0, saved.batchInEpoch >= 0, saved.batchInEpoch < schedule.batchesPerEpoch else {
            throw TrainingError.badCheckpoint(path: statePath, reason: "its batch position (epoch \(saved.epoch), batch \(saved.batchInEpoch)) does not fit this data")
        }
        // Each step takes one batch, so the step count and the batch position tell the same
        // story; a state where they disagree was edited or damaged, and resuming would silently
        // skip or repeat training.
        let (epochBatches, overflow) = saved.epoch.multipliedReportingOverflow(by: schedule.batchesPerEpoch)
        guard !overflow, epochBatches <= Int.max - saved.batchInEpoch, epochBatches + saved.batchInEpoch == saved.step,
              saved.losses.count <= saved.step, saved.examplesSeen >= 0, saved.tokensSeen >= 0 else {
            throw TrainingError.badCheckpoint(path: statePath, reason: "its step (\(saved.step)) does not match its batch position (epoch \(saved.epoch), batch \(saved.batchInEpoch) of \(schedule.batchesPerEpoch) per epoch) and history (\(saved.losses.count) steps); the file was edited or damaged")
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
