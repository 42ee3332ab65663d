// Runs a student on examples (the label task, greedy, batched), undoes number masking, and
// scores the predictions with `Metrics`; optionally also generates each example's rationale so
// the per-example rows show it.
import Foundation

/// How to evaluate a student on a task's examples.
public struct EvaluationSettings: Equatable, Sendable {
    /// How the task compares labels.
    public var kind: LabelKind
    /// Mask input numbers before generation and restore them in predictions (equation tasks).
    public var maskNumbers: Bool
    /// Sources per generation batch.
    public var batchSize: Int
    /// New tokens per label.
    public var maxNewTokens: Int
    /// Also generate the rationale ("rationale: " task) of each example, for the rows.
    public var withRationales: Bool
    /// New tokens per rationale.
    public var maxRationaleTokens: Int

    /// Creates settings.
    public init(kind: LabelKind, maskNumbers: Bool = false, batchSize: Int = 32, maxNewTokens: Int = 64,
                withRationales: Bool = false, maxRationaleTokens: Int = 192) {
        self.kind = kind
        self.maskNumbers = maskNumbers
        self.batchSize = batchSize
        self.maxNewTokens = maxNewTokens
        self.withRationales = withRationales
        self.maxRationaleTokens = maxRationaleTokens
    }
}

/// Evaluation of students.
public enum StudentEvaluator {
    /// Generates a label (and optionally a rationale) for each example and scores them.
    ///
    /// Sources are sorted by length into batches (less padding); rows come back in the examples'
    /// order. With masking, the prediction's placeholders are replaced by the example's numbers
    /// before scoring, and so are the rationale's.
    /// - Parameters:
    ///   - student: The student; it is left in evaluation mode (the trainer switches it back per step).
    ///   - examples: The examples, with gold labels (unmasked).
    ///   - settings: Task kind, masking, batch size and token limits.
    ///   - cancel: Checked between batches and between tokens.
    ///   - progress: Called after each batch with (done, total).
    /// - Returns: The `Evaluation`, with one row per example.
    /// - Throws: `TrainingError.cancelled` when cancelled, or what the student throws.
    public static func evaluate(_ student: Student, on examples: [Example], settings: EvaluationSettings,
                                cancel: CancellationFlag? = nil,
                                progress: ((Int, Int) -> Void)? = nil) throws -> Evaluation {
        guard settings.batchSize >= 1 else { throw TrainingError.invalidSetting("evaluation batch size must be at least 1") }
        let masks: [NumberMask?] = examples.map { settings.maskNumbers ? $0.maskingNumbers().mask : nil }
        let inputs = examples.enumerated().map { index, example in
            masks[index].map { _ in NumberMask.masking(example.input).masked } ?? example.input
        }
        func restore(_ text: String, _ index: Int) -> String { masks[index]?.restore(text) ?? text }
        let labels = try generate(student, inputs.map { Recipe.source($0, task: .label) }, maxNewTokens: settings.maxNewTokens,
                                  batchSize: settings.batchSize, cancel: cancel, progress: progress)
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
        let predictions: [String?] = labels.enumerated().map { index, text in
            let restored = restore(text, index)
            return restored.isEmpty ? nil : restored
        }
        let failures: [String?] = predictions.map { $0 == nil ? "the student generated nothing" : nil }
        return Metrics.evaluate(examples, predictions: predictions, rationales: rationales, failures: failures, kind: settings.kind)
    }

    /// Greedy outputs for sources, batched by length, in the sources' order.
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
