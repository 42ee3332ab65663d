// The data model: an example (input, gold label, optional gold rationale, task fields), a
// dataset of named splits, and the deterministic operations on splits (validation carve-out,
// subsampling by a fraction).
import Foundation

/// Where an example came from: its split in the source files and its line there (0-based).
///
/// Teacher outputs are aligned by this position, so an example keeps its id through
/// subsampling and validation carve-outs.
public struct ExampleID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The split of the source file ("train", "test", "valid").
    public let split: String
    /// The 0-based position in that split's file.
    public let index: Int

    /// Creates an id.
    /// - Parameters:
    ///   - split: The source split.
    ///   - index: The 0-based position in the source split.
    public init(split: String, index: Int) {
        self.split = split
        self.index = index
    }

    public var description: String { "\(split)#\(index)" }
}

/// One example of a task.
public struct Example: Hashable, Sendable, Codable {
    /// Where the example came from.
    public var id: ExampleID
    /// The text the model reads (for CQA, the question with its answer choices).
    public var input: String
    /// The gold label: an equation for SVAMP, a choice's text for CQA, a class name for NLI.
    public var label: String
    /// A gold rationale or explanation, when the dataset has one.
    public var rationale: String?
    /// The answer choices of a multiple-choice task, in order (a), (b), ...
    public var choices: [String]
    /// Task-specific fields, such as `premise`, `hypothesis`, `question` or `explanation_2`.
    public var fields: [String: String]

    /// Creates an example.
    /// - Parameters:
    ///   - id: The source split and position.
    ///   - input: The model's input text.
    ///   - label: The gold label.
    ///   - rationale: An optional gold rationale.
    ///   - choices: The answer choices, for multiple-choice tasks.
    ///   - fields: Other task-specific fields.
    public init(id: ExampleID, input: String, label: String, rationale: String? = nil,
                choices: [String] = [], fields: [String: String] = [:]) {
        self.id = id
        self.input = input
        self.label = label
        self.rationale = rationale
        self.choices = choices
        self.fields = fields
    }
}

/// How a task's labels are compared.
public enum LabelKind: Equatable, Sendable {
    /// Free text compared exactly (CQA's choice text).
    case text
    /// One of a closed set of class names (NLI: entailment, neutral, contradiction).
    case classes([String])
    /// An arithmetic equation compared by value (SVAMP).
    case equation
}

/// A task's examples in named splits.
public struct Dataset: Sendable {
    /// The task's name ("svamp", "cqa", "anli1", "esnli", "synthetic", or a user's).
    public let name: String
    /// How labels are compared.
    public let labelKind: LabelKind
    /// The split names, in the order they were loaded.
    public private(set) var splitNames: [String]
    private var splitExamples: [String: [Example]]

    /// Creates a dataset from splits.
    /// - Parameters:
    ///   - name: The task's name.
    ///   - labelKind: How labels are compared.
    ///   - splits: Split name and examples, in display order; a repeated name keeps the last.
    public init(name: String, labelKind: LabelKind, splits: [(String, [Example])]) {
        self.name = name
        self.labelKind = labelKind
        self.splitNames = []
        self.splitExamples = [:]
        for (split, examples) in splits { setSplit(split, examples) }
    }

    /// The examples of a split.
    /// - Parameters:
    ///   - name: The split's name.
    /// - Throws: `DatasetError.unknownSplit` naming the splits that exist.
    public func split(_ name: String) throws -> [Example] {
        guard let examples = splitExamples[name] else {
            throw DatasetError.unknownSplit(task: self.name, split: name, available: splitNames)
        }
        return examples
    }

    /// The examples of a split, or an empty array when it does not exist.
    public subscript(split name: String) -> [Example] { splitExamples[name] ?? [] }

    /// Sizes of the splits, in order.
    public var sizes: [(split: String, count: Int)] {
        splitNames.map { ($0, splitExamples[$0]?.count ?? 0) }
    }

    /// Adds or replaces a split.
    /// - Parameters:
    ///   - name: The split's name.
    ///   - examples: Its examples.
    public mutating func setSplit(_ name: String, _ examples: [Example]) {
        if splitExamples[name] == nil { splitNames.append(name) }
        splitExamples[name] = examples
    }

    /// Carves a validation split out of a training split, deterministically from a seed.
    ///
    /// The chosen examples move (they are no longer in `from`); each keeps its id.
    /// - Parameters:
    ///   - fraction: The share of `from` to move, in `(0, 1)`.
    ///   - seed: The seed of the draw.
    ///   - from: The split to carve from ("train").
    ///   - into: The new split's name ("valid"); it must not exist yet.
    /// - Throws: `DatasetError` for a bad fraction, a missing source or an existing target.
    public func carvingValidation(fraction: Double, seed: UInt64, from: String = "train",
                                  into: String = "valid") throws -> Dataset {
        guard fraction > 0, fraction < 1 else { throw DatasetError.invalidFraction(fraction) }
        guard splitExamples[into] == nil else {
            throw DatasetError.splitExists(task: name, split: into)
        }
        let source = try split(from)
        let count = Int((Double(source.count) * fraction).rounded())
        var generator = SplitMix64(seed: seed)
        let chosen = Set(generator.sampleIndices(count, from: source.count))
        var copy = self
        copy.setSplit(from, source.indices.filter { !chosen.contains($0) }.map { source[$0] })
        copy.setSplit(into, chosen.sorted().map { source[$0] })
        return copy
    }

    /// A copy whose split holds a deterministic random subset of its examples.
    /// - Parameters:
    ///   - split: The split to subsample.
    ///   - fraction: The share to keep, in `(0, 1]`; at least one example is kept.
    ///   - seed: The seed of the draw; equal seeds keep equal examples.
    /// - Throws: `DatasetError` for a bad fraction or an unknown split.
    public func subsampling(_ split: String, fraction: Double, seed: UInt64) throws -> Dataset {
        var copy = self
        copy.setSplit(split, try Dataset.subsample(try self.split(split), fraction: fraction, seed: seed))
        return copy
    }

    /// A deterministic random subset of examples, in their original order.
    /// - Parameters:
    ///   - examples: The population.
    ///   - fraction: The share to keep, in `(0, 1]`; at least one example is kept.
    ///   - seed: The seed of the draw.
    /// - Throws: `DatasetError.invalidFraction` outside `(0, 1]`.
    public static func subsample(_ examples: [Example], fraction: Double, seed: UInt64) throws -> [Example] {
        guard fraction > 0, fraction <= 1 else { throw DatasetError.invalidFraction(fraction) }
        if examples.isEmpty || fraction == 1 { return examples }
        let count = max(1, Int((Double(examples.count) * fraction).rounded()))
        var generator = SplitMix64(seed: seed)
        return generator.sampleIndices(count, from: examples.count).map { examples[$0] }
    }
}

/// What can go wrong when loading or slicing a dataset. Each message says what to fix.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    /// A path as the process resolved it, so "not found" says exactly where it looked (a relative
    /// path resolves against the working folder: the notebook's folder in the kernel).
    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    case missingDirectory(String)
    case missingFile(String)
    case unreadableFile(String, reason: String)
    case malformedLine(file: String, line: Int, reason: String)
    case missingField(file: String, line: Int, field: String)
    case wrongType(file: String, line: Int, field: String, expected: String, found: String)
    case invalidValue(file: String, line: Int, field: String, reason: String)
    case unknownTask(String, known: [String])
    case unknownSplit(task: String, split: String, available: [String])
    case splitExists(task: String, split: String)
    case invalidFraction(Double)
    case emptyDataset(String)

    public var description: String {
        switch self {
        case .missingDirectory(let path):
            return "no such folder: \(Self.absolute(path)) (pass the folder that holds the task's .json files)"
        case .missingFile(let path):
            return "no such file: \(Self.absolute(path))"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .malformedLine(let file, let line, let reason):
            return "\(file):\(line): not a JSON object: \(reason)"
        case .missingField(let file, let line, let field):
            return "\(file):\(line): missing field \"\(field)\""
        case .wrongType(let file, let line, let field, let expected, let found):
            return "\(file):\(line): field \"\(field)\" should be \(expected), found \(found)"
        case .invalidValue(let file, let line, let field, let reason):
            return "\(file):\(line): field \"\(field)\": \(reason)"
        case .unknownTask(let name, let known):
            return "unknown task \"\(name)\"; known tasks: \(known.joined(separator: ", "))"
        case .unknownSplit(let task, let split, let available):
            return "task \(task) has no split \"\(split)\"; it has: \(available.joined(separator: ", "))"
        case .splitExists(let task, let split):
            return "task \(task) already has a split \"\(split)\"; choose another name"
        case .invalidFraction(let fraction):
            return "fraction \(fraction) is out of range; use a number in (0, 1]"
        case .emptyDataset(let path):
            return "no split files found in \(path)"
        }
    }
}
