// Metrics: exact-match accuracy, equation-value accuracy (SVAMP), the NLI confusion matrix and
// per-example rows, for teacher outputs now and for the student's predictions later.

/// One scored example: what was asked, the gold answer, the prediction and whether they agree.
public struct PredictionRow: Hashable, Sendable {
    /// The example's id.
    public var id: ExampleID
    /// The input text.
    public var input: String
    /// The gold label.
    public var gold: String
    /// The predicted label, or nil when there was none (an unparseable output).
    public var predicted: String?
    /// The rationale given with the prediction, if any.
    public var rationale: String?
    /// Whether the prediction counts as correct.
    public var correct: Bool
    /// Why there is no prediction, when there is none.
    public var failure: String?

    /// Creates a row.
    /// - Parameters:
    ///   - id: The example's id.
    ///   - input: The input text.
    ///   - gold: The gold label.
    ///   - predicted: The prediction, or nil.
    ///   - rationale: The rationale given with it.
    ///   - correct: Whether it counts as correct.
    ///   - failure: Why there is no prediction.
    public init(id: ExampleID, input: String, gold: String, predicted: String?, rationale: String?,
                correct: Bool, failure: String?) {
        self.id = id
        self.input = input
        self.gold = gold
        self.predicted = predicted
        self.rationale = rationale
        self.correct = correct
        self.failure = failure
    }
}

/// The result of scoring predictions against gold labels.
public struct Evaluation: Sendable {
    /// One row per example, in order.
    public var rows: [PredictionRow]
    /// The 3×3 confusion matrix, for class-label tasks.
    public var confusion: ConfusionMatrix?

    /// Creates an evaluation from rows.
    /// - Parameters:
    ///   - rows: One row per example.
    ///   - confusion: The confusion matrix, for class-label tasks.
    public init(rows: [PredictionRow], confusion: ConfusionMatrix? = nil) {
        self.rows = rows
        self.confusion = confusion
    }

    /// Examples scored.
    public var count: Int { rows.count }
    /// Correct predictions.
    public var correctCount: Int { rows.filter(\.correct).count }
    /// Examples without a prediction (unparseable outputs); they count as wrong.
    public var unparseableCount: Int { rows.filter { $0.predicted == nil }.count }
    /// Correct predictions over all examples (0 when there are none).
    public var accuracy: Double { rows.isEmpty ? 0 : Double(correctCount) / Double(rows.count) }
}

/// A confusion matrix over class labels: rows are gold, columns are predicted.
public struct ConfusionMatrix: Hashable, Sendable, CustomStringConvertible {
    /// The class names, in row and column order.
    public let labels: [String]
    /// `counts[gold][predicted]`.
    public private(set) var counts: [[Int]]
    /// Per gold class, predictions that were missing or not one of the labels.
    public private(set) var unmatched: [Int]

    /// An empty matrix.
    /// - Parameters:
    ///   - labels: The class names.
    public init(labels: [String]) {
        self.labels = labels
        counts = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
        unmatched = Array(repeating: 0, count: labels.count)
    }

    /// Counts one prediction. A gold label outside `labels` is ignored.
    /// - Parameters:
    ///   - gold: The gold class.
    ///   - predicted: The predicted class, or nil.
    public mutating func add(gold: String, predicted: String?) {
        guard let row = labels.firstIndex(of: gold) else { return }
        if let predicted, let column = labels.firstIndex(of: predicted) {
            counts[row][column] += 1
        } else {
            unmatched[row] += 1
        }
    }

    /// The diagonal over everything counted.
    public var accuracy: Double {
        let total = counts.joined().reduce(0, +) + unmatched.reduce(0, +)
        let diagonal = labels.indices.reduce(0) { $0 + counts[$1][$1] }
        return total == 0 ? 0 : Double(diagonal) / Double(total)
    }

    /// A plain-text table, gold down and predicted across.
    public var description: String {
        let header = ["gold \\ predicted"] + labels + ["unparsed"]
        var table = [header]
        for (row, label) in labels.enumerated() {
            table.append([label] + counts[row].map(String.init) + [String(unmatched[row])])
        }
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        return table.map { cells in
            cells.enumerated().map { column, cell in
                column == 0 ? cell.padding(to: widths[column]) : cell.leftPadding(to: widths[column])
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Scoring functions.
public enum Metrics {
    /// Whether a prediction matches the gold label under a task's label kind: equations by
    /// value (relative tolerance 1e-6), everything else by exact, case-sensitive text.
    /// - Parameters:
    ///   - predicted: The prediction, or nil (always wrong).
    ///   - gold: The gold label.
    ///   - kind: How labels compare.
    ///   - dialect: How equations are read; `.python` (the paper's metric) unless told.
    public static func isCorrect(_ predicted: String?, gold: String, kind: LabelKind,
                                 dialect: EquationDialect = .python) -> Bool {
        guard let predicted else { return false }
        switch kind {
        case .equation: return Arithmetic.sameValue(predicted, gold, dialect: dialect)
        case .text, .classes: return predicted == gold
        }
    }

    /// Exact-match accuracy over aligned predictions and gold labels.
    /// - Parameters:
    ///   - predictions: Predicted labels; nil counts as wrong.
    ///   - gold: Gold labels, as many as predictions.
    public static func exactMatchAccuracy(_ predictions: [String?], gold: [String]) -> Double {
        accuracy(predictions, gold: gold, kind: .text)
    }

    /// Equation-value accuracy: a prediction is right when it evaluates to the gold equation's value.
    /// - Parameters:
    ///   - predictions: Predicted equations; nil or garbage counts as wrong.
    ///   - gold: Gold equations.
    ///   - dialect: `.python` (the paper's metric, the default) or `.strict`.
    public static func equationAccuracy(_ predictions: [String?], gold: [String],
                                        dialect: EquationDialect = .python) -> Double {
        accuracy(predictions, gold: gold, kind: .equation, dialect: dialect)
    }

    /// Accuracy under a label kind; 0 for no examples.
    /// - Parameters:
    ///   - predictions: Predicted labels.
    ///   - gold: Gold labels; extra entries on either side are ignored.
    ///   - kind: How labels compare.
    ///   - dialect: How equations are read.
    public static func accuracy(_ predictions: [String?], gold: [String], kind: LabelKind,
                                dialect: EquationDialect = .python) -> Double {
        let pairs = zip(predictions, gold)
        let total = min(predictions.count, gold.count)
        guard total > 0 else { return 0 }
        return Double(pairs.filter { isCorrect($0.0, gold: $0.1, kind: kind, dialect: dialect) }.count) / Double(total)
    }

    /// Scores predictions for examples, with per-example rows and, for class labels, a confusion matrix.
    /// - Parameters:
    ///   - examples: The examples, with gold labels.
    ///   - predictions: One predicted label per example; nil when there is none.
    ///   - rationales: Optional rationales given with the predictions.
    ///   - failures: Optional reasons for missing predictions.
    ///   - kind: How labels compare.
    ///   - dialect: How equations are read; `.python` (the paper's metric) unless told.
    public static func evaluate(_ examples: [Example], predictions: [String?], rationales: [String?] = [],
                                failures: [String?] = [], kind: LabelKind,
                                dialect: EquationDialect = .python) -> Evaluation {
        var confusion: ConfusionMatrix?
        if case .classes(let labels) = kind { confusion = ConfusionMatrix(labels: labels) }
        var rows: [PredictionRow] = []
        for (index, example) in examples.enumerated() {
            let predicted = index < predictions.count ? predictions[index] : nil
            confusion?.add(gold: example.label, predicted: predicted)
            rows.append(PredictionRow(
                id: example.id, input: example.input, gold: example.label, predicted: predicted,
                rationale: index < rationales.count ? rationales[index] : nil,
                correct: isCorrect(predicted, gold: example.label, kind: kind, dialect: dialect),
                failure: index < failures.count ? failures[index] : nil))
        }
        return Evaluation(rows: rows, confusion: confusion)
    }

    /// Scores a teacher's outputs against their examples' gold labels.
    /// - Parameters:
    ///   - outputs: Parsed teacher outputs; unparseable ones count as wrong.
    ///   - kind: How labels compare.
    ///   - dialect: How equations are read; `.python` (the paper's metric) unless told.
    public static func evaluate(_ outputs: [TeacherOutput], kind: LabelKind,
                                dialect: EquationDialect = .python) -> Evaluation {
        evaluate(outputs.map(\.example), predictions: outputs.map(\.label), rationales: outputs.map(\.rationale),
                 failures: outputs.map { $0.outcome.failure?.description }, kind: kind, dialect: dialect)
    }
}

extension String {
    func padding(to width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
    func leftPadding(to width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
