// `evaluate(student, on: examples)`: the student's greedy answers scored against gold, shown as
// accuracy, per-example HTML rows (with the student's generated rationale when it writes one)
// and, for NLI tasks, a confusion matrix.
import Distill
import Foundation
import Tensor

/// A student's evaluation on some examples.
public final class EvaluationObject: HostObject {
    /// The scores and rows.
    public let evaluation: Evaluation
    /// The examples' task name.
    public let taskName: String
    /// How answers were predicted ("generation", "rank classification").
    public let method: String
    /// How many rows the table shows.
    let shown: Int

    /// Wraps an evaluation.
    public init(evaluation: Evaluation, taskName: String, method: String = "generation", shown: Int = 10) {
        self.evaluation = evaluation
        self.taskName = taskName
        self.method = method
        self.shown = shown
    }

    public var typeName: String { "Evaluation" }

    static let memberDocs: [String: String] = [
        "accuracy": "The share of examples answered correctly (equations by value).",
        "count": "The number of examples.",
        "correct": "The number answered correctly.",
        "empty": "The number where the student generated nothing.",
        "rows": "One record per example: id, input, gold, predicted, rationale, correct.",
        "confusion": "For class labels (NLI): a table with one row per gold label and a column per predicted label; nil otherwise.",
        "show": "show(_ n: Int = 10) -> Evaluation\n\nThe table of the first `n` rows.",
        "mistakes": "The evaluation of the examples answered wrongly only.",
    ]

    public var memberNames: [String] { Array(Self.memberDocs.keys) }
    public func documentation(ofMember name: String) -> String? { Self.memberDocs[name] }

    public func member(_ name: String, context: BuiltinContext) throws -> Value? {
        switch name {
        case "accuracy": return .double(evaluation.accuracy)
        case "count": return .integer(evaluation.count)
        case "correct": return .integer(evaluation.correctCount)
        case "empty": return .integer(evaluation.unparseableCount)
        case "rows":
            return .list(evaluation.rows.map { row in
                .record(Record([("id", .string(row.id.description)), ("input", .string(row.input)), ("gold", .string(row.gold)),
                                ("predicted", row.predicted.map(Value.string) ?? .null), ("rationale", row.rationale.map(Value.string) ?? .null),
                                ("correct", .bool(row.correct))]))
            })
        case "confusion":
            guard let confusion = evaluation.confusion else { return .null }
            return .host(TableValue(rows: confusionRows(confusion)))
        case "mistakes":
            return .host(EvaluationObject(evaluation: Evaluation(rows: evaluation.rows.filter { !$0.correct }, confusion: nil), taskName: taskName, method: method, shown: shown))
        case "show":
            return hostMethod("show", [Parameter("n", "Int", default: .integer(10))], returns: "Evaluation", documentation: Self.memberDocs["show"] ?? "") { arguments, _ in
                let count = try arguments.integer("n")
                guard count >= 0 else { throw CellError(.value, "`show` needs a count of 0 or more, got \(count)") }
                return .host(EvaluationObject(evaluation: self.evaluation, taskName: self.taskName, method: self.method, shown: count))
            }
        default: return nil
        }
    }

    var summary: String {
        "Evaluation on \(evaluation.count) \(taskName) examples: accuracy \(String(format: "%.4f", evaluation.accuracy)) "
            + "(\(evaluation.correctCount) correct, \(evaluation.unparseableCount) empty)" + (method == "generation" ? "" : "; by \(method)")
    }

    public func render() -> MimeBundle {
        let rows = evaluation.rows.prefix(shown)
        var plain = summary
        if let confusion = evaluation.confusion { plain += "\n" + confusion.description }
        for (index, row) in rows.enumerated() {
            plain += "\n\(row.correct ? "✓" : "✗") [\(index)] \(oneLine(row.input, 60)) → \(row.predicted ?? "(nothing)") (gold \(row.gold))"
        }
        if evaluation.rows.count > rows.count { plain += "\n… \(evaluation.rows.count - rows.count) more" }
        let withRationales = evaluation.rows.contains { $0.rationale != nil }
        var html = "<div><p>\(escapeHTML(summary))</p>"
        if let confusion = evaluation.confusion { html += "<p>Confusion matrix (rows: gold, columns: predicted)</p>" + TableValue(rows: confusionRows(confusion)).render().data["text/html", default: ""] }
        html += "<table><thead><tr><th>#</th><th>input</th>\(withRationales ? "<th>student rationale</th>" : "")<th>predicted</th><th>gold</th><th></th></tr></thead><tbody>\n"
        let left = "style=\"text-align:left;white-space:pre-wrap;vertical-align:top\""
        for (index, row) in rows.enumerated() {
            let style = row.correct ? "" : " style=\"background:#fdecea\""
            let predicted = row.predicted.map { "<mark>\(escapeHTML($0))</mark>" } ?? "<i>nothing</i>"
            let mark = row.correct ? "✓" : "<b style=\"color:#b00020\">✗</b>"
            html += "<tr\(style)><td>\(index)</td><td \(left)>\(escapeHTML(row.input))</td>"
            if withRationales { html += "<td \(left)>\(escapeHTML(row.rationale ?? ""))</td>" }
            html += "<td>\(predicted)</td><td>\(escapeHTML(row.gold))</td><td>\(mark)</td></tr>\n"
        }
        if evaluation.rows.count > rows.count {
            html += "<tr><td colspan=\"6\">… \(evaluation.rows.count - rows.count) more (use <code>.show(n)</code>)</td></tr>\n"
        }
        return MimeBundle(plain: plain, extra: ["text/html": html + "</tbody></table></div>"])
    }
}

/// A confusion matrix as table rows: gold label, then a count per predicted label and "none".
private func confusionRows(_ confusion: ConfusionMatrix) -> [Record] {
    confusion.labels.enumerated().map { index, gold in
        var pairs: [(String, Value)] = [("gold", .string(gold))]
        for (column, predicted) in confusion.labels.enumerated() { pairs.append((predicted, .integer(confusion.counts[index][column]))) }
        pairs.append(("other", .integer(confusion.unmatched[index])))
        return Record(pairs)
    }
}

let evaluationBuiltins: [Builtin] = [
    Builtin("evaluate", [Parameter("student", "Student"), Parameter("on", "List", labeled: true),
                         Parameter("rationales", "Bool", labeled: true, default: .null), Parameter("maxTokens", "Int", labeled: true, default: .integer(64)),
                         Parameter("batch", "Int", labeled: true, default: .integer(32)),
                         Parameter("rankClassification", "Bool", labeled: true, default: .null),
                         Parameter("split", "String", labeled: true, default: .string("test")),
                         Parameter("zeroShot", "Bool", labeled: true, default: .bool(false)),
                         Parameter("limit", "Int", labeled: true, default: .null),
                         Parameter("templates", "Record", labeled: true, default: .null)], returns: "Evaluation", documentation: """
        Scores a student on examples, or on each stream of a mixture.

        Equations compare by value. For tasks with options (NLI classes, CQA's choices) it ranks \
        the options by their summed log-likelihood (FLAN's rank classification) unless \
        `rankClassification: false` asks for free generation. The result shows accuracy, a row \
        per example and, for NLI, a confusion matrix. `rationales: true` also generates each \
        example's rationale (the default for a student trained step-by-step). With a mixture or a \
        stream, each stream's task is scored on its `split:` (the test split) under the stream's \
        template, with a row per stream and per template. Example: `evaluate(s, on: svamp.test)`.

        `zeroShot: true` with a task or a list of tasks (a held-out cluster) scores each task's test \
        split (else its valid split) under every one of its templates that can score it, by rank \
        classification where it has options, on up to `limit:` label-balanced examples per task; \
        the result shows the mean over templates and a row per template; `templates:` gives a \
        task your own (as in `mixture`). Example: `evaluate(s, on: w.heldOut, zeroShot: true, limit: 200)`.
        """) { arguments, context in
        let studentObject = try arguments.host("student", StudentObject.self, expected: "a student such as `t5(size: \"tiny\", tokenizer: task)`")
        let maxTokens = try arguments.integer("maxTokens"), batch = try arguments.integer("batch")
        guard (1...2048).contains(maxTokens) else { throw CellError(.value, "`evaluate(maxTokens:)` must be between 1 and 2048, got \(maxTokens)") }
        guard (1...1024).contains(batch) else { throw CellError(.value, "`evaluate(batch:)` must be between 1 and 1024, got \(batch)") }
        let rankArgument: Bool? = { if case .bool(let flag) = arguments["rankClassification"] { return flag } else { return nil } }()
        func settings(for task: TaskObject, examples: [Example], withRationales: Bool) throws -> EvaluationSettings {
            let kind = task.dataset.labelKind
            let rank = rankArgument ?? StudentEvaluator.hasOptions(examples, kind: kind)
            if rank && !StudentEvaluator.hasOptions(examples, kind: kind) {
                throw CellError(.value, "`evaluate(rankClassification: true)` needs options: \(task.dataset.name) has no classes and its examples no choices")
            }
            return EvaluationSettings(kind: kind, maskNumbers: studentObject.maskNumbers ?? (kind == .equation),
                                      batchSize: batch, maxNewTokens: maxTokens, withRationales: withRationales, maxRationaleTokens: 192,
                                      rankClassification: rank)
        }
        let student = studentObject.student
        let flag = CancellationFlag()
        let progress = Locked<(done: Int, total: Int)>((0, 0))
        let interrupted = { "evaluation was interrupted after \(progress.value.done) of \(progress.value.total) examples; run the cell again to evaluate them all" }

        let zeroShot = try arguments.bool("zeroShot")
        let limit = arguments["limit"] == .null ? nil : try arguments.integer("limit", in: 1...TrainingBounds.examples)
        let mixture = zeroShot ? nil : mixtureArgument(arguments["on"])
        if zeroShot || mixture != nil {
            let streams: [EvaluationStream]
            if let mixture {
                let split = try arguments.string("split")
                let withRationales: Bool
                if case .bool(let wanted) = arguments["rationales"] { withRationales = wanted } else { withRationales = false }
                streams = try mixture.evaluationStreams(split: split) { task in
                    (try? settings(for: task, examples: task.dataset[split: split], withRationales: withRationales))
                        ?? EvaluationSettings(kind: task.dataset.labelKind)
                }.map { stream in
                    guard let limit else { return stream }
                    var cut = stream
                    cut.examples = Array(stream.examples.prefix(limit))
                    return cut
                }
            } else {
                streams = try zeroShotStreams(arguments["on"], templates: arguments["templates"], limit: limit, batch: batch, maxTokens: maxTokens)
            }
            for stream in streams where stream.settings.rankClassification && !StudentEvaluator.hasOptions(stream.examples, kind: stream.settings.kind) {
                throw CellError(.value, "stream '\(stream.name)' cannot be ranked: its examples have no options")
            }
            progress.value = (0, streams.reduce(0) { $0 + $1.examples.count })
            let displayID = context.display(evaluationBundle(0, progress.value.total))
            var throttle = DisplayThrottle()
            let result = try runOnLargeStack(context, cancel: flag, tick: {
                if throttle.ready() { context.updateDisplay(evaluationBundle(progress.value.done, progress.value.total), id: displayID) }
            }, interrupted: interrupted) {
                try StudentEvaluator.evaluate(student, streams: streams, cancel: flag) { done, total in progress.value = (done, total) }
            }
            context.updateDisplay(evaluationBundle(progress.value.total, progress.value.total), id: displayID)
            return .host(StreamsEvaluationObject(result))
        }

        let (examples, task) = try examplesArgument(arguments["on"], callee: "evaluate", name: "on")
        let withRationales: Bool
        if case .bool(let wanted) = arguments["rationales"] { withRationales = wanted } else { withRationales = studentObject.writesRationales }
        let settings = try settings(for: task, examples: examples, withRationales: withRationales)
        progress.value = (0, examples.count)
        let displayID = context.display(evaluationBundle(0, examples.count))
        var throttle = DisplayThrottle()
        var shown = -1
        func refresh() {
            let current = progress.value
            guard current.done != shown, throttle.ready() else { return }
            shown = current.done
            context.updateDisplay(evaluationBundle(current.done, current.total), id: displayID)
        }
        let evaluation = try runOnLargeStack(context, cancel: flag, tick: refresh, interrupted: interrupted) {
            try StudentEvaluator.evaluate(student, on: examples, settings: settings, cancel: flag) { done, total in
                progress.value = (done, total)
            }
        }
        context.updateDisplay(evaluationBundle(examples.count, examples.count), id: displayID)
        return .host(EvaluationObject(evaluation: evaluation, taskName: task.dataset.name,
                                      method: settings.rankClassification ? "rank classification" : "generation"))
    },
]

/// The live display of an evaluation.
private func evaluationBundle(_ done: Int, _ total: Int) -> MimeBundle {
    let line = "evaluate: \(done)/\(total) examples"
    return MimeBundle(plain: line, extra: ["text/html": "<div><progress value=\"\(done)\" max=\"\(max(total, 1))\" style=\"width:24em\"></progress> \(line)</div>"])
}
