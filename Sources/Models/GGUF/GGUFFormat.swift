// The GGUF container format: its layout, value types and the typed errors the reader throws.
// Everything here is plain values; GGUFFile.swift does the parsing over a memory-mapped file.
//
// A GGUF file, in order (all integers little-endian):
//  1. magic: the 4 bytes "GGUF" (0x46554747 read as a little-endian u32).
//  2. version: u32. Version 1 used 32-bit counts and is obsolete; 2 and 3 use 64-bit counts
//     (3 only adds big-endian support, which we reject through the magic check).
//  3. tensor count: u64. 4. metadata key-value count: u64.
//  5. metadata, that many times: key (string), value type (u32), value. A string is a u64 byte
//     length followed by that many UTF-8 bytes, no terminator. An array is an element type
//     (u32), a u64 count and the elements; arrays may nest. Keys are unique.
//  6. tensor infos, tensor-count times: name (string), number of dims (u32, at most 4),
//     dims (u64 each, fastest-varying first: dims[0] is the row length), ggml type (u32),
//     offset (u64) of the tensor's data relative to the start of the data section.
//  7. padding to `general.alignment` (u32 metadata, default 32, a power of two).
//  8. the data section: each tensor's bytes at its offset, each offset a multiple of the
//     alignment. A tensor of a block-quantised type stores rows of dims[0] elements as
//     dims[0] / blockSize consecutive blocks. Writers (gguf-py, llama.cpp) lay tensors out back
//     to back from offset 0, each padded to the alignment, so every tensor's size (from its type
//     and dims) must fill exactly the span up to the next tensor, or to the end of the file.
import Foundation

/// The type tag of a GGUF metadata value (the u32 stored before each value).
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6
    case bool = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// The fewest bytes one value of this type can occupy; bounds array counts against the file.
    var minimumEncodedSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .string: return 8
        case .array: return 12
        }
    }
}

/// One metadata value. Arrays keep their element type so that an empty array is still typed.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFValueType, [GGUFValue])

    /// The value as an integer if it is any integer type (and fits in `Int`).
    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(exactly: v)
        case .bool(let v): return v ? 1 : 0
        default: return nil
        }
    }

    /// The value as a floating-point number if it is any numeric type.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return intValue.map(Double.init)
        }
    }

    /// The value if it is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value if it is a boolean.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements if the value is an array.
    public var arrayValue: [GGUFValue]? {
        if case .array(_, let elements) = self { return elements }
        return nil
    }

    /// The type tag this value is stored with.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .uint64: return .uint64
        case .int64: return .int64
        case .float32: return .float32
        case .float64: return .float64
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        }
    }
}

/// Where one tensor lives in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name as stored, e.g. `blk.0.ffn_up.weight`.
    public let name: String
    /// Dimensions, fastest-varying first: `dims[0]` is the length of one row.
    public let dims: [Int]
    /// The element encoding.
    public let type: GGMLType
    /// Byte offset of the data, relative to the start of the data section.
    public let offset: Int
    /// Total number of elements (product of `dims`).
    public let elementCount: Int
    /// Total number of bytes of data.
    public let byteCount: Int

    /// Number of rows: the product of every dimension but the first.
    public var rowCount: Int { dims.isEmpty ? 1 : elementCount / max(dims[0], 1) }
    /// Elements per row (`dims[0]`).
    public var rowLength: Int { dims.first ?? 1 }
}

/// Every way a GGUF file can fail to load. Each message says what was found and where.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case fileTooSmall(size: Int)
    case badMagic(found: UInt32)
    case unsupportedVersion(UInt32)
    case countTooLarge(what: String, count: UInt64, offset: Int, fileSize: Int)
    case truncated(what: String, offset: Int, fileSize: Int)
    case stringPastEnd(offset: Int, length: UInt64, fileSize: Int)
    case unknownValueType(UInt32, key: String)
    case nestingTooDeep(key: String)
    case duplicateKey(String)
    case badAlignment(UInt64)
    case tooManyDims(tensor: String, count: UInt32)
    case dimsOverflow(tensor: String, dims: [UInt64])
    case unknownTensorType(UInt32, tensor: String)
    case rowNotWholeBlocks(tensor: String, rowLength: Int, blockSize: Int)
    case offsetMisaligned(tensor: String, offset: UInt64, alignment: Int)
    case tensorDataPastEnd(tensor: String, end: UInt64, fileSize: Int)
    case duplicateTensor(String)
    case missingKey(String)
    case wrongValueType(key: String, expected: String, found: GGUFValueType)
    case missingTensor(String)
    case tensorSizeMismatch(tensor: String, type: GGMLType, dims: [Int], bytes: Int, span: Int)
    case dataBeforeFirstTensor(tensor: String, offset: Int)
    case nonFiniteWeight(tensor: String, index: Int, inScale: Bool)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open GGUF file \(path): \(reason)"
        case .fileTooSmall(let size):
            return "file is \(size) bytes, too small for a GGUF header (24 bytes); is it truncated?"
        case .badMagic(let found):
            return "not a GGUF file: magic is 0x\(String(found, radix: 16)), expected 0x46554747 (\"GGUF\")"
        case .unsupportedVersion(let v):
            return "GGUF version \(v) is not supported (only 2 and 3); re-convert the model with a recent llama.cpp"
        case .countTooLarge(let what, let count, let offset, let fileSize):
            return "\(what) count \(count) at byte \(offset) cannot fit in a \(fileSize)-byte file; the file is corrupt"
        case .truncated(let what, let offset, let fileSize):
            return "file ends (at \(fileSize) bytes) while reading \(what) at byte \(offset); the file is truncated"
        case .stringPastEnd(let offset, let length, let fileSize):
            return "string of \(length) bytes at byte \(offset) runs past the end of the \(fileSize)-byte file"
        case .unknownValueType(let t, let key):
            return "metadata key '\(key)' has unknown value type \(t) (known: 0...12)"
        case .nestingTooDeep(let key):
            return "metadata key '\(key)' nests arrays too deeply; the file is corrupt"
        case .duplicateKey(let key):
            return "metadata key '\(key)' appears twice"
        case .badAlignment(let a):
            return "general.alignment is \(a); it must be a non-zero power of two"
        case .tooManyDims(let tensor, let count):
            return "tensor '\(tensor)' has \(count) dimensions; GGUF allows at most 4"
        case .dimsOverflow(let tensor, let dims):
            return "tensor '\(tensor)' dims \(dims) overflow: each dim and their product must be at most \(Int.max / 4)"
        case .unknownTensorType(let t, let tensor):
            return "tensor '\(tensor)' has ggml type \(t), which this reader does not support "
                + "(supported: \(GGMLType.allCases.map { "\($0)" }.joined(separator: ", ")))"
        case .rowNotWholeBlocks(let tensor, let rowLength, let blockSize):
            return "tensor '\(tensor)' rows of \(rowLength) elements are not whole blocks of \(blockSize)"
        case .offsetMisaligned(let tensor, let offset, let alignment):
            return "tensor '\(tensor)' data offset \(offset) is not a multiple of the alignment \(alignment)"
        case .tensorDataPastEnd(let tensor, let end, let fileSize):
            return "tensor '\(tensor)' data ends at byte \(end), past the end of the \(fileSize)-byte file; the file is truncated"
        case .duplicateTensor(let name):
            return "tensor '\(name)' appears twice"
        case .missingKey(let key):
            return "metadata key '\(key)' is missing"
        case .wrongValueType(let key, let expected, let found):
            return "metadata key '\(key)' holds a \(found), expected \(expected)"
        case .missingTensor(let name):
            return "tensor '\(name)' is not in the file"
        case let .tensorSizeMismatch(tensor, type, dims, bytes, span):
            return "tensor '\(tensor)' is \(type) with dims \(dims), which takes \(bytes) bytes, but the file gives it "
                + "\(span) bytes (up to the next tensor or the end of the file); its type or dims do not match its data"
        case let .dataBeforeFirstTensor(tensor, offset):
            return "the first tensor '\(tensor)' starts at data offset \(offset), not 0; the tensor table is corrupt"
        case let .nonFiniteWeight(tensor, index, inScale):
            return inScale
                ? "tensor '\(tensor)' has a non-finite scale (NaN or infinity) in block \(index); the file is corrupt"
                : "tensor '\(tensor)' holds a non-finite value (NaN or infinity) at element \(index); the file is corrupt"
        }
    }
}
