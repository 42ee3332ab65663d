// Typed access to a parsed GGUF file: metadata getters that throw on a missing key or a wrong
// type, and tensors that point into the memory map.
import Foundation

/// A tensor's info plus its bytes in the file. Holds the storage alive while it exists.
public struct GGUFTensor: @unchecked Sendable {
    /// Name, dims, type and offset.
    public let info: GGUFTensorInfo
    /// The tensor's encoded bytes (blocks for quantised types), inside the memory map.
    public let data: UnsafeRawBufferPointer
    let storage: GGUFStorage

    /// The encoded bytes of row `row` (a row is `info.rowLength` elements).
    public func rowData(_ row: Int) -> UnsafeRawPointer {
        let rowBytes = info.byteCount / max(info.rowCount, 1)
        return data.baseAddress.map { UnsafeRawPointer($0) + row * rowBytes } ?? storage.base
    }

    /// Dequantises the whole tensor to `Float` (row-major, `rowCount × rowLength`).
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: info.elementCount)
        let traits = info.type.traits
        let rows = info.rowCount, length = info.rowLength
        out.withUnsafeMutableBufferPointer { dst in
            guard let dstBase = dst.baseAddress else { return }
            for r in 0..<rows {
                traits.dequantizeRow(rowData(r), dstBase + r * length, length)
            }
        }
        return out
    }

    /// Dequantises one row.
    public func dequantizedRow(_ row: Int) -> [Float] {
        var out = [Float](repeating: 0, count: info.rowLength)
        out.withUnsafeMutableBufferPointer { dst in
            if let base = dst.baseAddress { info.type.traits.dequantizeRow(rowData(row), base, info.rowLength) }
        }
        return out
    }

    /// Dequantises row `row` into `destination` (`info.rowLength` floats), without allocating;
    /// e.g. one token's embedding.
    public func dequantizeRow(_ row: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < info.rowCount, "row \(row) outside 0..<\(info.rowCount) of '\(info.name)'")
        info.type.traits.dequantizeRow(rowData(row), destination, info.rowLength)
    }

    /// Index of the first non-finite element (float types) or block scale (quantised types).
    public func firstNonFinite() -> Int? {
        guard let base = data.baseAddress else { return nil }
        return info.type.traits.firstNonFinite(base, count: info.elementCount)
    }

    /// The tensor viewed as a quantised matrix for `matvec`/`matmul` kernels.
    public var matrix: QuantizedMatrix {
        QuantizedMatrix(type: info.type, rows: info.rowCount, columns: info.rowLength,
                        data: rowData(0), owner: storage)
    }
}

extension GGUFFile {
    /// The tensor called `name`, or `nil`.
    public func tensor(named name: String) -> GGUFTensor? {
        guard let i = tensorIndexOf(name) else { return nil }
        let info = tensorInfos[i]
        let data = UnsafeRawBufferPointer(start: storage.base + dataOffset + info.offset, count: info.byteCount)
        return GGUFTensor(info: info, data: data, storage: storage)
    }

    /// The tensor called `name`.
    /// - Throws: `GGUFError.missingTensor` when absent.
    public func requireTensor(_ name: String) throws -> GGUFTensor {
        guard let t = tensor(named: name) else { throw GGUFError.missingTensor(name) }
        return t
    }

    /// The tensor called `name`, checked to hold only finite values (every element of a float
    /// tensor, every block scale of a quantised one): a model loads its weights through this.
    /// - Throws: `GGUFError.missingTensor`, or `.nonFiniteWeight` naming the tensor and where.
    public func requireWeight(_ name: String) throws -> GGUFTensor {
        let t = try requireTensor(name)
        if let bad = t.firstNonFinite() {
            throw GGUFError.nonFiniteWeight(tensor: name, index: bad, inScale: t.info.type.traits.blockSize > 1)
        }
        return t
    }

    func tensorIndexOf(_ name: String) -> Int? {
        tensorIndex[name]
    }

    private func value(_ key: String) throws -> GGUFValue {
        guard let v = metadata[key] else { throw GGUFError.missingKey(key) }
        return v
    }

    /// The string at `key`, e.g. `string("general.architecture")` → `"llama"`.
    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard let s = v.stringValue else { throw GGUFError.wrongValueType(key: key, expected: "string", found: v.type) }
        return s
    }

    /// The integer at `key` (any integer type; bools count as 0/1).
    public func int(_ key: String) throws -> Int {
        let v = try value(key)
        guard let i = v.intValue else { throw GGUFError.wrongValueType(key: key, expected: "integer", found: v.type) }
        return i
    }

    /// The number at `key` as a `Float` (float32, float64 or any integer).
    public func float(_ key: String) throws -> Float {
        let v = try value(key)
        guard let d = v.doubleValue else { throw GGUFError.wrongValueType(key: key, expected: "number", found: v.type) }
        return Float(d)
    }

    /// The boolean at `key`.
    public func bool(_ key: String) throws -> Bool {
        let v = try value(key)
        guard let b = v.boolValue else { throw GGUFError.wrongValueType(key: key, expected: "bool", found: v.type) }
        return b
    }

    /// The array at `key`.
    public func array(_ key: String) throws -> [GGUFValue] {
        let v = try value(key)
        guard let a = v.arrayValue else { throw GGUFError.wrongValueType(key: key, expected: "array", found: v.type) }
        return a
    }

    /// The array of strings at `key` (e.g. `tokenizer.ggml.tokens`).
    public func strings(_ key: String) throws -> [String] {
        try array(key).map { element in
            guard let s = element.stringValue else {
                throw GGUFError.wrongValueType(key: key, expected: "array of string", found: element.type)
            }
            return s
        }
    }

    /// The array of integers at `key` (e.g. `tokenizer.ggml.token_type`).
    public func ints(_ key: String) throws -> [Int] {
        try array(key).map { element in
            guard let i = element.intValue else {
                throw GGUFError.wrongValueType(key: key, expected: "array of integer", found: element.type)
            }
            return i
        }
    }

    /// The array of numbers at `key` as `Float` (e.g. `tokenizer.ggml.scores`).
    public func floats(_ key: String) throws -> [Float] {
        try array(key).map { element in
            guard let d = element.doubleValue else {
                throw GGUFError.wrongValueType(key: key, expected: "array of number", found: element.type)
            }
            return Float(d)
        }
    }

    /// The integer at `key`, or `nil` if absent or not an integer.
    public func optionalInt(_ key: String) -> Int? { metadata[key]?.intValue }

    /// `read(key)` when `key` is present, nil when it is absent: a present value of the wrong
    /// type is an error, never a silent default. E.g. `try file.optional("x.rope.freq_base", file.float)`.
    public func optional<T>(_ key: String, _ read: (String) throws -> T) throws -> T? {
        metadata[key] == nil ? nil : try read(key)
    }
}
