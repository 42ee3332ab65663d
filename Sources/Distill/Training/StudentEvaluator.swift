// Runs a student on examples and scores its answers with `Metrics`: by free generation (greedy,
// batched; equations and rationales), or by rank classification for tasks with options (each
// option scored by the summed log-likelihood of its tokens, the best one is the answer, as FLAN
// evaluates classification). Number masking is undone before scoring. Several evaluation streams
// (a task under several templates) are scored together, with accuracy per stream and per template.
import Foundation
import Tensor

/// How an evaluation renders, generates and scores.
public struct EvaluationSettings: Equatable, Sendable {
    /// How labels compare.
    public var kind: LabelKind
    /// Mask numbers in inputs and restore them in answers (equation tasks).
    public var maskNumbers: Bool
    /// Examples per generation or scoring batch.
    public var batchSize: Int
    /// New tokens per generated label.
    public var maxNewTokens: Int
    /// Also generate each example's rationale (with the rationale prefix) into the rows.
    public var withRationales: Bool
    /// New tokens per generated rationale.
    public var maxRationaleTokens: Int
    /// Score each option by its log-likelihood instead of generating (needs options: class
    /// labels or the example's choices).
    public var rankClassification: Bool
    /// How a source is made from an example (default: the `label: ` prefix).
    public var template: PromptTemplate

    /// Creates settings.
    public init(kind: LabelKind, maskNumbers: Bool = false, batchSize: Int = 32, maxNewTokens: Int = 64,
                withRationales: Bool = false, maxRationaleTokens: Int = 192, rankClassification: Bool = false,
                template: PromptTemplate = Recipe.template(.label)) {
        self.kind = kind
        self.maskNumbers = maskNumbers
        self.batchSize = batchSize
        self.maxNewTokens = maxNewTokens
        self.withRationales = withRationales
        self.maxRationaleTokens = maxRationaleTokens
        self.rankClassification = rankClassification
        self.template = template
    }
}

/// One stream to evaluate: examples under a template.
public struct EvaluationStream: Sendable {
    /// The stream's name (a row of the results).
    public var name: String
    /// Its cluster.
    public var cluster: String
    /// The examples (gold labels, unmasked).
    public var examples: [Example]
    /// How they are rendered and scored; its template names the per-template rows.
    public var settings: EvaluationSettings

    /// Creates an evaluation stream.
    public init(name: String, cluster: String? = nil, examples: [Example], settings: EvaluationSettings) {
        self.name = name
        self.cluster = cluster ?? name
        self.examples = examples
        self.settings = settings
    }
}

/// The results of several evaluation streams.
public struct StreamsEvaluation: Sendable {
    /// One stream's result.
    public struct Row: Sendable {
        public var stream: String
        public var cluster: String
        public var template: String
        public var method: String
        public var evaluation: Evaluation
    }

    /// One row per stream, in order.
    public var rows: [Row]

    /// Accuracy over every example of every stream.
    public var accuracy: Double {
        let count = rows.reduce(0) { $0 + $1.evaluation.count }
        return count == 0 ? 0 : Double(rows.reduce(0) { $0 + $1.evaluation.correctCount }) / Double(count)
    }

    /// Accuracy per template name, over the streams that use it, in order of first use.
    public var byTemplate: [(template: String, accuracy: Double, count: Int)] {
        var order: [String] = [], correct: [String: Int] = [:], count: [String: Int] = [:]
        for row in rows {
            if count[row.template] == nil { order.append(row.template) }
            correct[row.template, default: 0] += row.evaluation.correctCount
            count[row.template, default: 0] += row.evaluation.count
        }
        return order.map { name in
            let n = count[name] ?? 0
            return (name, n == 0 ? 0 : Double(correct[name] ?? 0) / Double(n), n)
        }
    }
}

/// Evaluates a student.
public enum StudentEvaluator {
    /// The options of a rank-classification example: the task's classes, else the example's choices.
    /// - Throws: `TrainingError.invalidSetting` when there are none.
    public static func options(for example: Example, kind: LabelKind) throws -> [String] {
        if case .classes(let classes) = kind, !classes.isEmpty { return classes }
        if !example.choices.isEmpty { return example.choices }
        throw TrainingError.invalidSetting("rank classification needs options, and \(example.id) has none (the task has no classes and the example no choices); generate instead")
    }

    /// Whether a task's examples have options to rank (class labels, or choices on every example).
    public static func hasOptions(_ examples: [Example], kind: LabelKind) -> Bool {
        if case .classes(let classes) = kind, !classes.isEmpty { return true }
        return !examples.isEmpty && examples.allSatisfy { !$0.choices.isEmpty }
    }

    /// Predicts each example's label (by generation or rank classification) and scores it.
    /// - Parameters:
    ///   - student: The student.
    ///   - examples: Examples with gold labels (unmasked).
    ///   - settings: How to render, predict and score.
    ///   - cancel: Checked between batches; throws `TrainingError.cancelled`.
    ///   - progress: Called with (done, total) examples after each batch.
    /// - Throws: `TrainingError`, or the student's errors.
    public static func evaluate(_ student: Student, on examples: [Example], settings: EvaluationSettings,
                                cancel: CancellationFlag? = nil,
                                progress: ((Int, Int) -> Void)? = nil) throws -> Evaluation {
        guard settings.batchSize >= 1 else { throw TrainingError.invalidSetting("evaluation batch size must be at least 1") }
        let masks: [NumberMask?] = examples.map { settings.maskNumbers ? $0.maskingNumbers().mask : nil }
        let inputs = examples.enumerated().map { index, example in
            masks[index].map { _ in NumberMask.masking(example.input).masked } ?? example.input
        }
        func restore(_ text: String, _ index: Int) -> String { masks[index]?.restore(text) ?? text }
        let sources = try zip(examples, inputs).map { try settings.template.source(for: $0, input: $1) }
        let predictions: [String?]
        if settings.rankClassification {
            predictions = try rank(student, sources: sources, examples: examples, settings: settings, cancel: cancel, progress: progress)
        } else {
            let labels = try generate(student, sources, maxNewTokens: settings.maxNewTokens, batchSize: settings.batchSize,
                                      cancel: cancel, progress: progress)
            predictions = labels.enumerated().map { index, text in
                let restored = restore(text, index)
                return restored.isEmpty ? nil : restored
            }
        }
        var rationales: [String?] = []
        if settings.withRationales {
            rationales = try generate(student, inputs.map { Recipe.source($0, task: .rationale) },
                                      maxNewTokens: settings.maxRationaleTokens, batchSize: settings.batchSize,
                                      cancel: cancel, progress: nil)
                .enumerated().map { index, text -> String? in
                    let restored = restore(text, index)
                    return restored.isEmpty ? nil : restored
                }
        }
        let failures: [String?] = predictions.map { $0 == nil ? "the student generated nothing" : nil }
        return Metrics.evaluate(examples, predictions: predictions, rationales: rationales, failures: failures, kind: settings.kind)
    }

    /// Evaluates several streams, each under its own template and settings.
    /// - Throws: As `evaluate(_:on:settings:cancel:progress:)`.
    public static func evaluate(_ student: Student, streams: [EvaluationStream], cancel: CancellationFlag? = nil,
                                progress: ((Int, Int) -> Void)? = nil) throws -> StreamsEvaluation {
        let total = streams.reduce(0) { $0 + $1.examples.count }
        var done = 0, rows: [StreamsEvaluation.Row] = []
        for stream in streams {
            let before = done
            let evaluation = try evaluate(student, on: stream.examples, settings: stream.settings, cancel: cancel) { finished, _ in
                progress?(before + finished, total)
            }
            done += stream.examples.count
            rows.append(StreamsEvaluation.Row(stream: stream.name, cluster: stream.cluster, template: stream.settings.template.name,
                                              method: stream.settings.rankClassification ? "rank" : "generate", evaluation: evaluation))
        }
        return StreamsEvaluation(rows: rows)
    }

    /// The best-scoring option of each example (ties go to the earlier option).
    static func rank(_ student: Student, sources: [String], examples: [Example], settings: EvaluationSettings,
                     cancel: CancellationFlag?, progress: ((Int, Int) -> Void)?) throws -> [String?] {
        let choices = try examples.map { try options(for: $0, kind: settings.kind) }
        var predictions: [String?] = []
        predictions.reserveCapacity(examples.count)
        // Options of consecutive examples share a scoring batch of about `batchSize` pairs.
        var start = 0
        while start < examples.count {
            if cancel?.isCancelled == true { throw TrainingError.cancelled }
            var end = start, pairs: [(source: String, target: String)] = []
            repeat {
                pairs += choices[end].map { (source: sources[end], target: $0) }
                end += 1
            } while end < examples.count && pairs.count + choices[end].count <= settings.batchSize
            let scores = try student.logLikelihoods(pairs, batchSize: max(pairs.count, 1), cancel: cancel)
            var offset = 0
            for index in start..<end {
                var best = 0
                for k in 1..<max(choices[index].count, 1) where scores[offset + k] > scores[offset + best] { best = k }
                predictions.append(choices[index].isEmpty ? nil : choices[index][best])
                offset += choices[index].count
            }
            start = end
            progress?(start, examples.count)
        }
        return predictions
    }

    static func generate(_ student: Student, _ sources: [String], maxNewTokens: Int, batchSize: Int,
                         cancel: CancellationFlag?, progress: ((Int, Int) -> Void)?) throws -> [String] {
        student.setTraining(false)
        let order = sources.indices.sorted { (sources[$0].utf8.count, $0) < (sources[$1].utf8.count, $1) }
        var outputs = [String](repeating: "", count: sources.count)
        var done = 0
        for start in stride(from: 0, to: order.count, by: batchSize) {
            if cancel?.isCancelled == true { throw TrainingError.cancelled }
            let slice = Array(order[start..<min(start + batchSize, order.count)])
            let texts = try student.generate(slice.map { sources[$0] }, maxNewTokens: maxNewTokens, cancel: cancel)
            for (index, text) in zip(slice, texts) { outputs[index] = text }
            done += slice.count
            progress?(done, sources.count)
        }
        return outputs
    }
}
