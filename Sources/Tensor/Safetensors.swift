// safetensors files (https://huggingface.co/docs/safetensors): read memory-mapped with a fully
// validated header, write atomically (temporary file in the same folder, then rename).
//
// Layout:
//   1. 8 bytes: N, the header length, unsigned little-endian.
//   2. N bytes: a JSON object, name -> {"dtype", "shape", "data_offsets": [begin, end]}, plus an
//      optional "__metadata__" object of string -> string.
//   3. The data: every tensor's bytes, offsets relative to the end of the header, little-endian.

import Foundation

/// Why a safetensors file was rejected. Every message names the problem and the tensor.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case io(String)
    case fileTooSmall(bytes: Int)
    case headerLengthInvalid(UInt64, fileBytes: Int)
    case headerNotJSON(String)
    case entryInvalid(name: String, reason: String)
    case unsupportedDType(name: String, dtype: String)
    case offsetsOutOfBounds(name: String, begin: Int, end: Int, dataBytes: Int)
    case sizeMismatch(name: String, expectedBytes: Int, gotBytes: Int)
    case overlapping(String, String)
    case missingTensor(String)
    case dataNotCovered(begin: Int, end: Int, dataBytes: Int)
    case nonFinite(name: String, index: Int)

    public var description: String {
        switch self {
        case .io(let m): return "safetensors: \(m)"
        case .fileTooSmall(let n): return "safetensors: file has \(n) bytes, fewer than the 8-byte header length"
        case let .headerLengthInvalid(n, size): return "safetensors: header length \(n) does not fit a \(size)-byte file (truncated or not safetensors)"
        case .headerNotJSON(let m): return "safetensors: header is not a JSON object: \(m)"
        case let .entryInvalid(name, reason): return "safetensors: tensor '\(name)': \(reason)"
        case let .unsupportedDType(name, d): return "safetensors: tensor '\(name)' has dtype \(d); supported: F32, F16, BF16, I32, I64"
        case let .offsetsOutOfBounds(name, b, e, n): return "safetensors: tensor '\(name)' data_offsets [\(b), \(e)] outside the \(n)-byte data section"
        case let .sizeMismatch(name, want, got): return "safetensors: tensor '\(name)' needs \(want) bytes for its shape and dtype, its offsets give \(got)"
        case let .overlapping(a, b): return "safetensors: tensors '\(a)' and '\(b)' overlap in the data section"
        case .missingTensor(let n): return "safetensors: no tensor named '\(n)'"
        case let .dataNotCovered(b, e, n):
            return "safetensors: bytes \(b)..<\(e) of the \(n)-byte data section belong to no tensor; the header's data_offsets do not match the data"
        case let .nonFinite(name, i): return "safetensors: tensor '\(name)' holds a non-finite value (NaN or infinity) at element \(i)"
        }
    }
}

/// An opened safetensors file: validated entries over memory-mapped bytes.
public struct SafetensorsFile {
    /// One tensor's header entry.
    public struct Entry: Equatable {
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let begin: Int, end: Int
    }

    /// Header entries by name.
    public let entries: [String: Entry]
    /// The `__metadata__` strings.
    public let metadata: [String: String]
    private let bytes: Data
    private let dataStart: Int

    /// Largest header accepted (the reference implementation's limit).
    public static let maxHeaderBytes = 100_000_000
    static let codes: [String: DType] = ["F32": .float32, "F16": .float16, "BF16": .bfloat16, "I32": .int32, "I64": .int64]

    /// Tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Opens and validates `url`, memory-mapping the file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw SafetensorsError.io("cannot read \(url.path): \(error.localizedDescription)")
        }
        try self.init(data: data)
    }

    /// Validates `data` as a safetensors file.
    public init(data: Data) throws {
        bytes = data
        guard data.count >= 8 else { throw SafetensorsError.fileTooSmall(bytes: data.count) }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard n >= 2, n <= UInt64(Self.maxHeaderBytes), n <= UInt64(data.count - 8) else {
            throw SafetensorsError.headerLengthInvalid(n, fileBytes: data.count)
        }
        dataStart = 8 + Int(n)
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + dataStart))
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerBytes, options: []) } catch {
            throw SafetensorsError.headerNotJSON("\(error.localizedDescription)")
        }
        guard let object = json as? [String: Any] else { throw SafetensorsError.headerNotJSON("top level is not an object") }
        let dataBytes = data.count - dataStart
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw SafetensorsError.entryInvalid(name: name, reason: "must be an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw SafetensorsError.entryInvalid(name: name, reason: "value of '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            entries[name] = try Self.parseEntry(name, value, dataBytes: dataBytes)
        }
        let sorted = entries.sorted { ($0.value.begin, $0.value.end, $0.key) < ($1.value.begin, $1.value.end, $1.key) }
        // As the reference implementation requires, the tensors tile the data section: no
        // overlaps, no holes, nothing after the last one.
        var covered = 0
        for (i, entry) in sorted.enumerated() {
            if entry.value.begin < covered, i > 0 { throw SafetensorsError.overlapping(sorted[i - 1].key, entry.key) }
            guard entry.value.begin == covered else {
                throw SafetensorsError.dataNotCovered(begin: covered, end: entry.value.begin, dataBytes: dataBytes)
            }
            covered = entry.value.end
        }
        guard covered == dataBytes else { throw SafetensorsError.dataNotCovered(begin: covered, end: dataBytes, dataBytes: dataBytes) }
        self.entries = entries
        self.metadata = metadata
    }

    static func parseEntry(_ name: String, _ value: Any, dataBytes: Int) throws -> Entry {
        guard let e = value as? [String: Any] else { throw SafetensorsError.entryInvalid(name: name, reason: "entry is not an object") }
        guard let code = e["dtype"] as? String else { throw SafetensorsError.entryInvalid(name: name, reason: "missing string 'dtype'") }
        guard let dtype = codes[code] else { throw SafetensorsError.unsupportedDType(name: name, dtype: code) }
        guard let rawShape = e["shape"] as? [Any] else { throw SafetensorsError.entryInvalid(name: name, reason: "missing array 'shape'") }
        var shape: [Int] = []
        var elements = 1
        for d in rawShape {
            guard let n = exactInt(d), n >= 0 else { throw SafetensorsError.entryInvalid(name: name, reason: "shape entry \(d) is not a non-negative integer") }
            let (p, overflow) = elements.multipliedReportingOverflow(by: n)
            guard !overflow else { throw SafetensorsError.entryInvalid(name: name, reason: "shape \(rawShape) overflows") }
            elements = p
            shape.append(n)
        }
        guard let offsets = e["data_offsets"] as? [Any], offsets.count == 2,
              let begin = exactInt(offsets[0]), let end = exactInt(offsets[1]) else {
            throw SafetensorsError.entryInvalid(name: name, reason: "'data_offsets' must be two integers")
        }
        guard begin >= 0, begin <= end, end <= dataBytes else {
            throw SafetensorsError.offsetsOutOfBounds(name: name, begin: begin, end: end, dataBytes: dataBytes)
        }
        let (want, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, want == end - begin else {
            throw SafetensorsError.sizeMismatch(name: name, expectedBytes: overflow ? Int.max : want, gotBytes: end - begin)
        }
        return Entry(dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// An integer from JSON (rejects fractions and out-of-range numbers).
    static func exactInt(_ v: Any) -> Int? {
        guard let n = v as? NSNumber else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
        return n.intValue
    }

    /// Copies tensor `name` out of the mapped file, in its stored dtype.
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw SafetensorsError.missingTensor(name) }
        let t = Tensor(empty: e.shape, dtype: e.dtype)
        let n = e.end - e.begin
        if n > 0 {
            bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                if let base = raw.baseAddress { t.storage.raw.copyMemory(from: base + dataStart + e.begin, byteCount: n) }
            }
        }
        return t
    }

    /// Tensor `name` as `tensor(_:)` reads it, checked to hold only finite values when it is of
    /// a float dtype: how a model loads its weights, so a NaN in the file is a load error.
    /// - Throws: `SafetensorsError.missingTensor`, or `.nonFinite` naming the tensor and element.
    public func finiteTensor(_ name: String) throws -> Tensor {
        let t = try tensor(name)
        // Exponent bits all ones is infinity or NaN, in every IEEE width.
        let (exponent, halves): (UInt32, Bool)
        switch t.dtype {
        case .float32: (exponent, halves) = (0x7F80_0000, false)
        case .float16: (exponent, halves) = (0x7C00, true)
        case .bfloat16: (exponent, halves) = (0x7F80, true)
        case .int32, .int64: return t
        }
        let raw = UnsafeRawPointer(t.storage.raw)
        for i in 0..<t.count {
            let bits = halves ? UInt32(raw.load(fromByteOffset: 2 * i, as: UInt16.self))
                              : raw.load(fromByteOffset: 4 * i, as: UInt32.self)
            if bits & exponent == exponent { throw SafetensorsError.nonFinite(name: name, index: i) }
        }
        return t
    }

    /// Every tensor, by name.
    public func tensors() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in entries.keys { out[name] = try tensor(name) }
        return out
    }

    /// Writes `tensors` (any dtype, any layout) and `metadata` to `url` atomically.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        let names = tensors.keys.sorted()
        var header: [String: Any] = [:]
        var offset = 0
        var codesByDType: [DType: String] = [:]
        for (k, v) in codes { codesByDType[v] = k }
        for name in names {
            guard let t = tensors[name], let code = codesByDType[t.dtype] else { continue }
            let n = t.count * t.dtype.byteSize
            header[name] = ["dtype": code, "shape": t.shape, "data_offsets": [offset, offset + n]]
            offset += n
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            guard let t = tensors[name] else { continue }
            let c = t.detached().contiguous()
            out.append(Data(bytes: c.storage.raw + c.offset * c.dtype.byteSize, count: c.count * c.dtype.byteSize))
        }
        let folder = url.deletingLastPathComponent()
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)")
        do {
            try out.write(to: temp)
            guard rename(temp.path, url.path) == 0 else {
                throw SafetensorsError.io("cannot rename \(temp.path) to \(url.path): errno \(errno)")
            }
        } catch {
            try? FileManager.default.removeItem(at: temp)
            if let e = error as? SafetensorsError { throw e }
            throw SafetensorsError.io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
