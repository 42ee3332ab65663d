// Loaders for the four tasks of "Distilling step-by-step" in their released format (SVAMP,
// CommonsenseQA with CoS-E, ANLI round 1, e-SNLI), and what each task needs to know about itself.
import Foundation

/// The class names of the NLI tasks, by gold label 0/1/2.
public let nliLabels = ["entailment", "neutral", "contradiction"]

/// One of the paper's four benchmark tasks.
public enum BenchmarkTask: String, CaseIterable, Sendable {
    case svamp, cqa, anli1, esnli

    /// Looks a task up by name, case-insensitively.
    /// - Parameters:
    ///   - name: "svamp", "cqa", "anli1" or "esnli".
    /// - Throws: `DatasetError.unknownTask` listing the known names.
    public static func named(_ name: String) throws -> BenchmarkTask {
        guard let task = BenchmarkTask(rawValue: name.lowercased()) else {
            throw DatasetError.unknownTask(name, known: allCases.map(\.rawValue))
        }
        return task
    }

    /// The splits the release can hold, in display order.
    public var splitNames: [String] {
        switch self {
        case .svamp, .cqa: return ["train", "test"]
        case .anli1, .esnli: return ["train", "valid", "test"]
        }
    }

    /// How many teacher outputs each `llm/{split}_CoT_{k}.json` file holds.
    public var teacherBlockSize: Int {
        switch self {
        case .svamp: return 500
        case .cqa: return 1000
        case .anli1: return 5000
        case .esnli: return 5500
        }
    }

    /// How labels are compared.
    public var labelKind: LabelKind {
        switch self {
        case .svamp: return .equation
        case .cqa: return .text
        case .anli1, .esnli: return .classes(nliLabels)
        }
    }

    /// The answer format of the teacher's few-shot prompt, which its outputs follow.
    public var answerFormat: AnswerFormat {
        switch self {
        case .svamp: return .equation
        case .cqa: return .choice
        case .anli1: return .soTheAnswerIs(labels: nliLabels)
        case .esnli: return .answerLine(labels: nliLabels)
        }
    }

    /// The input file of a split, inside the task's folder.
    /// - Parameters:
    ///   - split: "train", "test" or "valid".
    public func fileName(split: String) -> String { "\(rawValue)_\(split).json" }

    /// The splits whose input file is in the folder, in display order.
    /// - Parameters:
    ///   - directory: The task's folder.
    /// - Throws: `DatasetError.missingDirectory` when the folder does not exist.
    public func availableSplits(in directory: String) throws -> [String] {
        try checkDirectory(directory)
        return splitNames.filter { FileManager.default.fileExists(atPath: path(directory, fileName(split: $0))) }
    }

    /// Loads every split whose file is in the folder.
    /// - Parameters:
    ///   - directory: The task's folder (the one holding `svamp_train.json` and `llm/`).
    /// - Throws: `DatasetError` for a missing folder, no split files, or a bad line.
    public func load(from directory: String) throws -> Dataset {
        let present = try availableSplits(in: directory)
        guard !present.isEmpty else { throw DatasetError.emptyDataset(directory) }
        return Dataset(name: rawValue, labelKind: labelKind,
                       splits: try present.map { ($0, try loadSplit($0, from: directory)) })
    }

    /// Loads one split.
    /// - Parameters:
    ///   - split: "train", "test" or "valid".
    ///   - directory: The task's folder.
    /// - Throws: `DatasetError` for a missing folder or file, or a bad line.
    public func loadSplit(_ split: String, from directory: String) throws -> [Example] {
        try checkDirectory(directory)
        let records = try JSONLines.read(path(directory, fileName(split: split)))
        return try records.enumerated().map { index, record in
            try example(from: record, id: ExampleID(split: split, index: index))
        }
    }

    /// Maps one released record to an example.
    /// - Parameters:
    ///   - record: The JSON object and its position.
    ///   - id: The example's id.
    /// - Throws: `DatasetError` for missing fields, wrong types or bad values.
    public func example(from record: JSONRecord, id: ExampleID) throws -> Example {
        switch self {
        case .svamp:
            return Example(id: id, input: try record.string("input"), label: try record.string("label"))
        case .cqa:
            let question = try record.string("question")
            let choices = try record.strings("choices")
            guard choices.count == 5 else {
                throw DatasetError.invalidValue(file: record.file, line: record.line, field: "choices",
                                                reason: "expected 5 choices, found \(choices.count)")
            }
            var fields = ["question": question]
            fields["extractive_explanation"] = try record.optionalString("extractive_explanation")
            fields["id"] = try record.optionalString("id")
            return Example(id: id, input: BenchmarkTask.cqaInput(question: question, choices: choices),
                           label: try record.string("answer"),
                           rationale: try record.optionalString("abstractive_explanation"),
                           choices: choices, fields: fields)
        case .anli1, .esnli:
            let premise = try record.string("premise")
            let hypothesis = try record.string("hypothesis")
            let gold = try record.int("label")
            guard nliLabels.indices.contains(gold) else {
                throw DatasetError.invalidValue(file: record.file, line: record.line, field: "label",
                                                reason: "expected 0, 1 or 2, found \(gold)")
            }
            var fields = ["premise": premise, "hypothesis": hypothesis]
            let rationaleKey = self == .anli1 ? "reason" : "explanation_1"
            for key in ["explanation_2", "explanation_3", "uid"] {
                fields[key] = try record.optionalString(key)
            }
            return Example(id: id, input: BenchmarkTask.nliInput(premise: premise, hypothesis: hypothesis),
                           label: nliLabels[gold], rationale: try record.optionalString(rationaleKey),
                           fields: fields)
        }
    }

    /// The paper's CQA input: the question, then `Answer Choices:` and `(a) …` to `(e) …`.
    /// - Parameters:
    ///   - question: The question.
    ///   - choices: The answer choices, in order.
    public static func cqaInput(question: String, choices: [String]) -> String {
        let lines = choices.enumerated().map { "(\(choiceLetter($0.offset))) \($0.element)" }
        return ([question, "Answer Choices:"] + lines).joined(separator: "\n")
    }

    /// The NLI input as the teacher's prompt shows it: `Premise: …` and `Hypothesis: …` lines.
    /// - Parameters:
    ///   - premise: The premise.
    ///   - hypothesis: The hypothesis.
    public static func nliInput(premise: String, hypothesis: String) -> String {
        "Premise: \(premise)\nHypothesis: \(hypothesis)"
    }

    private func checkDirectory(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
              isDirectory.boolValue else { throw DatasetError.missingDirectory(directory) }
    }

    private func path(_ directory: String, _ name: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(name).path
    }
}

/// The letter of the choice at an index: 0 → "a", 4 → "e".
/// - Parameters:
///   - index: The 0-based choice index.
public func choiceLetter(_ index: Int) -> String {
    guard let scalar = Unicode.Scalar(97 + index) else { return "?" }
    return String(Character(scalar))
}

public extension Dataset {
    /// Loads one of the paper's tasks from its folder.
    /// - Parameters:
    ///   - task: "svamp", "cqa", "anli1" or "esnli".
    ///   - directory: The task's folder.
    /// - Throws: `DatasetError` for an unknown task, a missing folder or file, or a bad line.
    static func benchmark(_ task: String, from directory: String) throws -> Dataset {
        try BenchmarkTask.named(task).load(from: directory)
    }
}
