// JSON Lines reading with line numbers, typed field access with precise errors, and the generic
// loader that maps any JSON Lines file's fields onto examples.
import Foundation

/// One JSON object of a JSON Lines file, with where it came from for error messages.
public struct JSONRecord {
    /// The file it was read from.
    public let file: String
    /// Its 1-based line number.
    public let line: Int
    /// The decoded object.
    public let object: [String: Any]

    /// A required string field.
    /// - Parameters:
    ///   - key: The field's name.
    /// - Throws: `DatasetError.missingField` or `.wrongType`.
    public func string(_ key: String) throws -> String {
        guard let value = object[key] else { throw DatasetError.missingField(file: file, line: line, field: key) }
        guard let text = value as? String else { throw wrongType(key, "a string", value) }
        return text
    }

    /// An optional string field: nil when absent or null.
    /// - Parameters:
    ///   - key: The field's name.
    /// - Throws: `DatasetError.wrongType` when present but not a string.
    public func optionalString(_ key: String) throws -> String? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw wrongType(key, "a string", value) }
        return text
    }

    /// A required integer field (a JSON number without a fractional part).
    /// - Parameters:
    ///   - key: The field's name.
    /// - Throws: `DatasetError.missingField` or `.wrongType`.
    public func int(_ key: String) throws -> Int {
        guard let value = object[key] else { throw DatasetError.missingField(file: file, line: line, field: key) }
        guard !(value is String), let number = value as? NSNumber,
              let integer = Int(exactly: number.doubleValue) else {
            throw wrongType(key, "an integer", value)
        }
        return integer
    }

    /// A required array-of-strings field.
    /// - Parameters:
    ///   - key: The field's name.
    /// - Throws: `DatasetError.missingField` or `.wrongType`.
    public func strings(_ key: String) throws -> [String] {
        guard let value = object[key] else { throw DatasetError.missingField(file: file, line: line, field: key) }
        guard let array = value as? [Any] else { throw wrongType(key, "an array of strings", value) }
        return try array.map { element in
            guard let text = element as? String else { throw wrongType(key, "an array of strings", element) }
            return text
        }
    }

    /// A field as text: strings as they are, integers in decimal (for 0/1/2 labels).
    /// - Parameters:
    ///   - key: The field's name.
    /// - Throws: `DatasetError.missingField` or `.wrongType`.
    public func text(_ key: String) throws -> String {
        guard let value = object[key] else { throw DatasetError.missingField(file: file, line: line, field: key) }
        if let text = value as? String { return text }
        return String(try int(key))
    }

    private func wrongType(_ key: String, _ expected: String, _ value: Any) -> DatasetError {
        .wrongType(file: file, line: line, field: key, expected: expected, found: JSONRecord.kind(of: value))
    }

    static func kind(of value: Any) -> String {
        switch value {
        case is String: return "a string"
        case is NSNull: return "null"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case is NSNumber: return "a number"
        default: return "\(type(of: value))"
        }
    }
}

/// Reading of JSON Lines files: one JSON object per line; blank lines are skipped.
public enum JSONLines {
    /// Reads every object of a JSON Lines file.
    /// - Parameters:
    ///   - path: The file to read.
    /// - Throws: `DatasetError.missingFile`, `.unreadableFile`, or `.malformedLine` with the line number.
    public static func read(_ path: String) throws -> [JSONRecord] {
        let text = try readText(path)
        var records: [JSONRecord] = []
        var lineNumber = 0
        // Split on the byte "\n": Swift reads "\r\n" as one Character, so splitting the String
        // on "\n" would leave a CRLF file as one line.
        for rawLine in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let bytes = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            let line = Substring(decoding: bytes, as: UTF8.self)
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let decoded: Any
            do {
                decoded = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [])
            } catch {
                throw DatasetError.malformedLine(file: path, line: lineNumber, reason: "invalid JSON")
            }
            guard let object = decoded as? [String: Any] else {
                throw DatasetError.malformedLine(file: path, line: lineNumber,
                                                 reason: "expected an object, found \(JSONRecord.kind(of: decoded))")
            }
            records.append(JSONRecord(file: path, line: lineNumber, object: object))
        }
        return records
    }

    /// The most a pipe may give before reading it stops with an error.
    static let maxPipeBytes = 1 << 30

    /// Reads a whole UTF-8 text file.
    /// - Parameters:
    ///   - path: The file to read.
    /// - Throws: `DatasetError.missingFile` or `.unreadableFile`.
    public static func readText(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DatasetError.missingFile(path)
        }
        if isDirectory.boolValue { throw DatasetError.unreadableFile(path, reason: "it is a folder") }
        if !FileManager.default.isReadableFile(atPath: path) {
            throw DatasetError.unreadableFile(path, reason: "permission denied")
        }
        var status = stat()
        let regular = stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
        let data: Data
        if regular {
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw DatasetError.unreadableFile(path, reason: "cannot read it (\(error.localizedDescription))")
            }
        } else if (status.st_mode & S_IFMT) == S_IFIFO {
            // A pipe (`<(...)`) is read to its end, up to a limit, since it has no size to check.
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw DatasetError.unreadableFile(path, reason: "cannot open it")
            }
            defer { try? handle.close() }
            var buffer = Data()
            while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                buffer.append(chunk)
                if buffer.count > maxPipeBytes {
                    throw DatasetError.unreadableFile(path, reason: "the pipe gave more than \(maxPipeBytes >> 20) MiB; write the data to a file")
                }
            }
            data = buffer
        } else {
            throw DatasetError.unreadableFile(path, reason: "it is a device, not a data file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DatasetError.unreadableFile(path, reason: "not UTF-8 text")
        }
        return text
    }
}

/// Which JSON fields of a generic JSON Lines file hold the input, the label and the rationale.
public struct JSONLinesMapping: Sendable {
    /// The input field.
    public var input: String
    /// The label field (a string, or an integer that `labelNames` maps to a name).
    public var label: String
    /// The optional rationale field.
    public var rationale: String?
    /// Names for integer labels (`["entailment", "neutral", "contradiction"]`), if any.
    public var labelNames: [String]?

    /// Creates a mapping.
    /// - Parameters:
    ///   - input: The input field's name.
    ///   - label: The label field's name.
    ///   - rationale: The rationale field's name, if the file has one.
    ///   - labelNames: Names for integer labels, by index.
    public init(input: String, label: String, rationale: String? = nil, labelNames: [String]? = nil) {
        self.input = input
        self.label = label
        self.rationale = rationale
        self.labelNames = labelNames
    }

    /// Maps one record to an example; other string fields go to `fields`.
    /// - Parameters:
    ///   - record: The JSON object and its position.
    ///   - id: The example's id.
    /// - Throws: `DatasetError` for missing fields, wrong types or out-of-range labels.
    public func example(from record: JSONRecord, id: ExampleID) throws -> Example {
        var label = try record.text(self.label)
        if let names = labelNames {
            guard let index = Int(label), names.indices.contains(index) else {
                throw DatasetError.invalidValue(file: record.file, line: record.line, field: self.label,
                                                reason: "expected 0..<\(names.count), found \(label)")
            }
            label = names[index]
        }
        var fields: [String: String] = [:]
        for (key, value) in record.object {
            if let text = value as? String { fields[key] = text }
        }
        return Example(id: id, input: try record.string(input), label: label,
                       rationale: try rationale.flatMap { try record.optionalString($0) }, fields: fields)
    }
}

public extension Dataset {
    /// Loads any JSON Lines files as a dataset, through a field mapping.
    /// - Parameters:
    ///   - name: The task's name.
    ///   - files: Split name and file path, in order.
    ///   - mapping: Which fields hold the input, label and rationale.
    ///   - labelKind: How labels are compared (`.text` unless told).
    /// - Throws: `DatasetError` naming the file and line of the first problem.
    static func jsonLines(name: String, files: [(split: String, path: String)], mapping: JSONLinesMapping,
                          labelKind: LabelKind = .text) throws -> Dataset {
        let splits = try files.map { file -> (String, [Example]) in
            let records = try JSONLines.read(file.path)
            return (file.split, try records.enumerated().map { index, record in
                try mapping.example(from: record, id: ExampleID(split: file.split, index: index))
            })
        }
        return Dataset(name: name, labelKind: labelKind, splits: splits)
    }
}

extension DatasetError: LocalizedError {
    public var errorDescription: String? { description }
}
