// The builtins that make tasks: `task` (the paper's four, from a folder), `synthetic` (the
// generated classroom task) and `jsonl` (any JSON Lines files through a field mapping).
import Distill
import Foundation

/// The folder of a benchmark task: `data` itself when it holds the task's files, else `data/<task>`.
func benchmarkFolder(_ data: String, task: BenchmarkTask) throws -> String {
    func holdsFiles(_ folder: String) -> Bool {
        task.splitNames.contains { FileManager.default.fileExists(atPath: URL(fileURLWithPath: folder).appendingPathComponent(task.fileName(split: $0)).path) }
    }
    if holdsFiles(data) { return data }
    let nested = URL(fileURLWithPath: data).appendingPathComponent(task.rawValue).path
    if holdsFiles(nested) { return nested }
    let expected = task.splitNames.map { task.fileName(split: $0) }.joined(separator: ", ")
    throw CellError(.value, "no \(task.rawValue) files (\(expected)) in \(data): \(describeLocation(data))")
}

private let knownTaskList = "svamp, cqa, anli1, esnli (from a folder: `task(\"svamp\", data: \"../shared/datasets/svamp\")`), "
    + "synthetic (generated: `synthetic()`), or your own JSON Lines with `jsonl(path, input:, label:)`"

/// The most examples `synthetic` makes per split.
let maximumSyntheticSize = 1_000_000
/// About how many bytes one synthetic example takes, measured.
let syntheticExampleBytes = 1_024

let taskBuiltins: [Builtin] = [
    Builtin("task", [Parameter("name", "String"), Parameter("data", "String", labeled: true, default: .null)], returns: "Task", documentation: """
        Loads one of the paper's tasks (svamp, cqa, anli1, esnli) from its folder.

        `data:` is the task's folder (the one holding `svamp_train.json` and `llm/`) or the \
        datasets folder above it. Inputs are formatted as the paper does (CQA with `Answer Choices:` \
        and (a)–(e); NLI with Premise/Hypothesis lines). `task("synthetic")` is `synthetic()`.
        Example: `let svamp = task("svamp", data: "../shared/datasets/svamp")`.
        """) { arguments, _ in
        let name = try arguments.string("name")
        if name.lowercased() == "synthetic" {
            return .host(TaskObject(dataset: SyntheticTask().dataset(), format: .equation, source: "generated (classroom, seed 0)"))
        }
        guard let benchmark = BenchmarkTask(rawValue: name.lowercased()) else {
            var message = "unknown task \"\(name)\"; the tasks are \(knownTaskList)"
            if let guess = nearestName(to: name.lowercased(), among: BenchmarkTask.allCases.map(\.rawValue) + ["synthetic"]) {
                message = "unknown task \"\(name)\" (did you mean \"\(guess)\"?); the tasks are \(knownTaskList)"
            }
            throw CellError(.value, message)
        }
        guard let data = try arguments.optionalString("data") else {
            throw CellError(.value, "`task(\"\(benchmark.rawValue)\")` needs `data:`, the folder holding \(benchmark.fileName(split: "train")), e.g. `data: \"../shared/datasets/\(benchmark.rawValue)\"`")
        }
        let folder = try benchmarkFolder(data, task: benchmark)
        let dataset = try converting { try benchmark.load(from: folder) }
        return .host(TaskObject(dataset: dataset, format: benchmark.answerFormat, source: folder))
    },
    Builtin("synthetic", [Parameter("train", "Int", labeled: true, default: .integer(2000)),
                          Parameter("test", "Int", labeled: true, default: .integer(500)),
                          Parameter("difficulty", "String", labeled: true, default: .string("classroom")),
                          Parameter("seed", "Int", labeled: true, default: .integer(0))], returns: "Task", documentation: """
        The built-in synthetic task: multi-step arithmetic word problems from a seeded generator.

        Labels are SVAMP-style equations, and each example carries the program a `program()` teacher \
        solves. `difficulty:` is "easy" (1–2 steps, no distractors), "classroom" (the default) or "hard" \
        (2–3 steps, 2–3 distractors, parentheses), optionally with changes after a comma: \
        "classroom,steps=1-3,distractors=0-2,numbers=2-99,factors=2-9,parentheses=yes". \
        Example: `synthetic(train: 500, test: 100, seed: 1)`.
        """) { arguments, context in
        let train = try arguments.integer("train", in: 0...maximumSyntheticSize), test = try arguments.integer("test", in: 0...maximumSyntheticSize)
        guard train + test > 0 else { throw CellError(.value, "`synthetic` needs at least one example: train and test are both 0") }
        // An example (story, rationale, program fields) takes about a kilobyte.
        try context.reserve(bytes: (train + test) * syntheticExampleBytes, for: "the synthetic task's \(groupedDigits(train + test)) examples")
        let difficulty = try converting { try SyntheticDifficulty.named(try arguments.string("difficulty")) }
        let seed = try arguments.seed("seed")
        let dataset = try converting {
            try SyntheticTask(difficulty: difficulty).dataset(train: train, test: test, seed: seed) { context.isCancelled }
        }
        return .host(TaskObject(dataset: dataset, format: .equation,
                                source: "generated (\(try arguments.string("difficulty").lowercased()), seed \(seed))"))
    },
    Builtin("jsonl", [Parameter("path", "String"), Parameter("input", "String", labeled: true),
                      Parameter("label", "String", labeled: true), Parameter("rationale", "String", labeled: true, default: .null),
                      Parameter("test", "String", labeled: true, default: .null), Parameter("validation", "String", labeled: true, default: .null),
                      Parameter("labels", "List", labeled: true, default: .null), Parameter("format", "String", labeled: true, default: .null),
                      Parameter("name", "String", labeled: true, default: .null)], returns: "Task", documentation: """
        A task from JSON Lines files, with the fields that hold the input, the label and the rationale.

        `path` is the training split; `test:` and `validation:` add those splits. `labels:` names \
        integer labels (`["entailment", "neutral", "contradiction"]`) and makes them classes. \
        `format:` is how a teacher writes answers: "equation" (SVAMP, compared by value), "choice", \
        "so-the-answer-is" or "answer-line"; without it, labels compare as text and a teacher needs a \
        `cot(...)` prompt. Example: `jsonl("mine.jsonl", input: "question", label: "answer")`.
        """) { arguments, _ in
        var files: [(split: String, path: String)] = [("train", try arguments.string("path"))]
        if let test = try arguments.optionalString("test") { files.append(("test", test)) }
        if let validation = try arguments.optionalString("validation") { files.append(("valid", validation)) }
        for file in files {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw CellError(.value, "`jsonl` cannot read the \(file.split) file \(file.path): \(describeLocation(file.path))")
            }
        }
        var labelNames: [String]?
        if case .list(let names) = arguments["labels"] {
            labelNames = try names.map { name -> String in
                guard case .string(let text) = name else { throw CellError(.type, "`jsonl(labels:)` must be a list of strings") }
                return text
            }
        }
        var kind: LabelKind = labelNames.map { .classes($0) } ?? .text
        var format: AnswerFormat?
        switch try arguments.optionalString("format")?.lowercased() {
        case nil: format = labelNames.map { .soTheAnswerIs(labels: $0) }
        case "equation"?: format = .equation; kind = .equation
        case "choice"?: format = .choice
        case "so-the-answer-is"?:
            guard let labelNames else { throw CellError(.value, "`format: \"so-the-answer-is\"` needs `labels:`, the class names") }
            format = .soTheAnswerIs(labels: labelNames)
        case "answer-line"?:
            guard let labelNames else { throw CellError(.value, "`format: \"answer-line\"` needs `labels:`, the class names") }
            format = .answerLine(labels: labelNames)
        case let other?:
            throw CellError(.value, "unknown format \"\(other)\"; use \"equation\", \"choice\", \"so-the-answer-is\" or \"answer-line\"")
        }
        let mapping = JSONLinesMapping(input: try arguments.string("input"), label: try arguments.string("label"),
                                       rationale: try arguments.optionalString("rationale"), labelNames: labelNames)
        let name = try arguments.optionalString("name") ?? URL(fileURLWithPath: files[0].path).deletingPathExtension().lastPathComponent
        let dataset = try converting { try Dataset.jsonLines(name: name, files: files, mapping: mapping, labelKind: kind) }
        return .host(TaskObject(dataset: dataset, format: format, source: files[0].path))
    },
]
