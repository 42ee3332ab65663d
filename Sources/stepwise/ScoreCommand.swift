// `stepwise score --task NAME --data DIR --split SPLIT`: parses the released teacher outputs of
// one split and scores them against the gold labels. The last line is `accuracy=0.xxxx`.
import ArgumentParser
import Distill
import Foundation

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score the released teacher outputs of a task's split against its gold labels.",
        discussion: """
            DIR is the task's folder (holding e.g. svamp_test.json and llm/), or a folder that holds \
            one subfolder per task. Unparseable outputs count as wrong.
            """)

    @Option(help: "The task: svamp, cqa, anli1 or esnli.") var task: String
    @Option(help: "The task's data folder.") var data: String
    @Option(help: "The split to score: train, test or valid.") var split: String
    @Option(help: "Show this many unparseable outputs with their reasons.") var showUnparseable = 0
    @Flag(help: "Print one tab-separated row per example: id, correct, predicted, gold.") var rows = false

    func validate() throws {
        do {
            _ = try BenchmarkTask.named(task)
        } catch {
            throw ValidationError("\(error)")
        }
        guard showUnparseable >= 0 else { throw ValidationError("--show-unparseable must be 0 or more") }
    }

    func run() throws {
        let benchmark = try BenchmarkTask.named(task)
        let directory = Self.taskDirectory(data, task: benchmark)
        let available = try benchmark.availableSplits(in: directory)
        guard available.contains(split) else {
            throw DatasetError.unknownSplit(task: benchmark.rawValue, split: split, available: available)
        }
        let examples = try benchmark.loadSplit(split, from: directory)
        let teacher = ReplayTeacher(task: benchmark,
                                    outputs: URL(fileURLWithPath: directory).appendingPathComponent("llm").path)
        let outputCount = try teacher.rawOutputs(split: split).count
        if outputCount != examples.count {
            print("warning: \(outputCount) teacher outputs for \(examples.count) examples; "
                  + "scoring the first \(min(outputCount, examples.count))")
        }
        let outputs = try teacher.explain(Array(examples.prefix(outputCount)))
        let evaluation = Metrics.evaluate(outputs, kind: benchmark.labelKind)
        print("task=\(benchmark.rawValue) split=\(split) examples=\(evaluation.count)")
        print("correct=\(evaluation.correctCount) unparseable=\(evaluation.unparseableCount)")
        if let confusion = evaluation.confusion { print(confusion) }
        if benchmark.labelKind == .equation {
            let strict = Metrics.evaluate(outputs, kind: .equation, dialect: .strict)
            if strict.correctCount != evaluation.correctCount {
                print("note: \(evaluation.correctCount - strict.correctCount) predictions are right only as Python reads "
                      + "`and`/`or` (the paper's metric); strict arithmetic gives \(String(format: "%.4f", strict.accuracy))")
            }
        }
        for output in outputs.filter({ $0.outcome.failure != nil }).prefix(showUnparseable) {
            let reason = output.outcome.failure.map { "\($0)" } ?? ""
            print("unparseable \(output.example.id): \(reason)")
        }
        if rows {
            for row in evaluation.rows {
                let predicted = (row.predicted ?? "-").replacingOccurrences(of: "\n", with: " ")
                print("\(row.id)\t\(row.correct ? 1 : 0)\t\(predicted)\t\(row.gold)")
            }
        }
        print("accuracy=\(String(format: "%.4f", evaluation.accuracy))")
    }

    /// The folder itself when it holds the task's files, else its subfolder named after the task.
    static func taskDirectory(_ data: String, task: BenchmarkTask) -> String {
        let nested = URL(fileURLWithPath: data).appendingPathComponent(task.rawValue).path
        var isDirectory: ObjCBool = false
        let holdsFiles = task.splitNames.contains {
            FileManager.default.fileExists(atPath: URL(fileURLWithPath: data).appendingPathComponent(task.fileName(split: $0)).path)
        }
        if !holdsFiles, FileManager.default.fileExists(atPath: nested, isDirectory: &isDirectory), isDirectory.boolValue {
            return nested
        }
        return data
    }
}
