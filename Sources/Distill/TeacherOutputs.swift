// The released teacher outputs (`llm/{split}_CoT_{k}.json`, JSON arrays of strings in blocks),
// their alignment with a split's examples, and the replay teacher that serves them parsed.
import Foundation

/// One teacher answer for one example: the raw text and what parsing made of it.
public struct TeacherOutput: Hashable, Sendable, Codable {
    /// The example the teacher answered.
    public let example: Example
    /// The raw continuation, as generated (including any run-on text).
    public let raw: String
    /// The parsed rationale and label, or why there are none.
    public let outcome: ParseOutcome

    /// Creates an output.
    /// - Parameters:
    ///   - example: The example answered.
    ///   - raw: The raw text.
    ///   - outcome: The parse of `raw`.
    public init(example: Example, raw: String, outcome: ParseOutcome) {
        self.example = example
        self.raw = raw
        self.outcome = outcome
    }

    /// The teacher's label, or nil when unparseable.
    public var label: String? { outcome.answer?.label }
    /// The teacher's rationale, or nil when unparseable.
    public var rationale: String? { outcome.answer?.rationale }

    /// Whether the teacher's label agrees with the gold label (false when unparseable); the usual
    /// filter before training on rationales.
    /// - Parameters:
    ///   - kind: How labels compare (the task's `labelKind`).
    public func agrees(kind: LabelKind) -> Bool {
        Metrics.isCorrect(label, gold: example.label, kind: kind)
    }
}

/// What can go wrong reading teacher outputs.
public enum TeacherError: Error, Equatable, CustomStringConvertible {
    case noOutputs(directory: String, split: String)
    case malformedFile(String, reason: String)
    case blockSizeMismatch(file: String, count: Int, expected: Int)
    case missingOutput(ExampleID, available: Int)

    public var description: String {
        switch self {
        case .noOutputs(let directory, let split):
            return "no teacher outputs for split \"\(split)\": expected \(directory)/\(split)_CoT_0.json"
        case .malformedFile(let path, let reason):
            return "\(path): \(reason) (expected a JSON array of strings)"
        case .blockSizeMismatch(let file, let count, let expected):
            return "\(file) holds \(count) outputs; every file but the last must hold \(expected)"
        case .missingOutput(let id, let available):
            return "no teacher output for example \(id): the \(id.split) files hold \(available)"
        }
    }
}

extension TeacherError: LocalizedError {
    public var errorDescription: String? { description }
}

/// Reading of the released `{split}_CoT_{k}.json` files.
public enum TeacherOutputFiles {
    /// Reads all outputs of a split, in order: file k holds items `k*B ..< (k+1)*B`.
    /// - Parameters:
    ///   - directory: The `llm` folder.
    ///   - split: "train", "test" or "valid".
    ///   - blockSize: B, the number of outputs in every file but the last.
    /// - Throws: `TeacherError` for no files, a malformed file or a short block.
    public static func read(directory: String, split: String, blockSize: Int) throws -> [String] {
        var outputs: [String] = []
        var block = 0
        var previousShort: (file: String, count: Int)?
        while true {
            let path = URL(fileURLWithPath: directory).appendingPathComponent("\(split)_CoT_\(block).json").path
            guard FileManager.default.fileExists(atPath: path) else { break }
            if let short = previousShort {
                throw TeacherError.blockSizeMismatch(file: short.file, count: short.count, expected: blockSize)
            }
            let strings = try readArray(path)
            if strings.count != blockSize { previousShort = (path, strings.count) }
            outputs += strings
            block += 1
        }
        guard block > 0 else { throw TeacherError.noOutputs(directory: directory, split: split) }
        return outputs
    }

    /// Reads one JSON array of strings.
    /// - Parameters:
    ///   - path: The file.
    /// - Throws: `DatasetError` for a missing or unreadable file, `TeacherError.malformedFile` otherwise.
    public static func readArray(_ path: String) throws -> [String] {
        let text = try JSONLines.readText(path)
        let decoded: Any
        do {
            decoded = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [])
        } catch {
            throw TeacherError.malformedFile(path, reason: "invalid JSON")
        }
        guard let array = decoded as? [Any] else {
            throw TeacherError.malformedFile(path, reason: "found \(JSONRecord.kind(of: decoded))")
        }
        return try array.enumerated().map { index, element in
            guard let text = element as? String else {
                throw TeacherError.malformedFile(path, reason: "item \(index) is \(JSONRecord.kind(of: element))")
            }
            return text
        }
    }
}

/// A teacher that replays released outputs: for each example, the output at its source position.
public final class ReplayTeacher {
    /// The folder of `{split}_CoT_{k}.json` files.
    public let directory: String
    /// How the outputs are parsed.
    public let format: AnswerFormat
    /// Outputs per file.
    public let blockSize: Int
    private var cache: [String: [String]] = [:]

    /// A replay teacher for one of the paper's tasks.
    /// - Parameters:
    ///   - task: The task, which fixes the answer format and block size.
    ///   - directory: The task's `llm` folder.
    public convenience init(task: BenchmarkTask, outputs directory: String) {
        self.init(format: task.answerFormat, outputs: directory, blockSize: task.teacherBlockSize)
    }

    /// A replay teacher for any outputs in the released layout.
    /// - Parameters:
    ///   - format: How to parse the outputs.
    ///   - directory: The folder of `{split}_CoT_{k}.json` files.
    ///   - blockSize: Outputs per file.
    public init(format: AnswerFormat, outputs directory: String, blockSize: Int) {
        self.format = format
        self.directory = directory
        self.blockSize = blockSize
    }

    /// The raw outputs of a split, read once and cached.
    /// - Parameters:
    ///   - split: The source split.
    /// - Throws: `TeacherError` or `DatasetError` from reading.
    public func rawOutputs(split: String) throws -> [String] {
        if let cached = cache[split] { return cached }
        let outputs = try TeacherOutputFiles.read(directory: directory, split: split, blockSize: blockSize)
        cache[split] = outputs
        return outputs
    }

    /// The teacher's parsed answers for examples, aligned by each example's source position.
    /// - Parameters:
    ///   - examples: Examples of any splits (a subsample or a validation carve-out is fine).
    /// - Throws: `TeacherError.missingOutput` when an example has no output, or a read error.
    public func explain(_ examples: [Example]) throws -> [TeacherOutput] {
        try examples.map { example in
            let outputs = try rawOutputs(split: example.id.split)
            guard outputs.indices.contains(example.id.index) else {
                throw TeacherError.missingOutput(example.id, available: outputs.count)
            }
            let raw = outputs[example.id.index]
            return TeacherOutput(example: example, raw: raw, outcome: format.parse(raw))
        }
    }
}
