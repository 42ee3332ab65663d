// Test support shared by the test targets: a GGUF writer for hand-made files (the inverse of
// Models' reader), so every test builds its tiny models the same way.
import Models

/// Writes GGUF files byte by byte, the inverse of the reader.
public struct GGUFWriter {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    public mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }

    public mutating func value(_ v: GGUFValue) {
        switch v {
        case .uint8(let x): bytes.append(x)
        case .int8(let x): bytes.append(UInt8(bitPattern: x))
        case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { bytes += $0 }
        case .int16(let x): withUnsafeBytes(of: x.littleEndian) { bytes += $0 }
        case .uint32(let x): u32(x)
        case .int32(let x): u32(UInt32(bitPattern: x))
        case .uint64(let x): u64(x)
        case .int64(let x): u64(UInt64(bitPattern: x))
        case .float32(let x): u32(x.bitPattern)
        case .float64(let x): u64(x.bitPattern)
        case .bool(let x): bytes.append(x ? 1 : 0)
        case .string(let s): string(s)
        case .array(let type, let elements):
            u32(type.rawValue)
            u64(UInt64(elements.count))
            for e in elements { value(e) }
        }
    }

    /// A complete file. Tensor offsets are laid out in order, each aligned.
    public static func file(version: UInt32 = 3, metadata: [(String, GGUFValue)],
                     tensors: [(name: String, dims: [Int], type: GGMLType, data: [UInt8])],
                     alignment: Int = 32) -> [UInt8] {
        var w = GGUFWriter()
        w.bytes += Array("GGUF".utf8)
        w.u32(version)
        w.u64(UInt64(tensors.count))
        w.u64(UInt64(metadata.count))
        for (key, v) in metadata {
            w.string(key)
            w.u32(v.type.rawValue)
            w.value(v)
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, off) in zip(tensors, offsets) {
            w.string(t.name)
            w.u32(UInt32(t.dims.count))
            for d in t.dims { w.u64(UInt64(d)) }
            w.u32(t.type.rawValue)
            w.u64(UInt64(off))
        }
        while w.bytes.count % alignment != 0 { w.bytes.append(0) }
        for (i, t) in tensors.enumerated() {
            w.bytes += t.data
            if i < tensors.count - 1 { while w.bytes.count % alignment != 0 { w.bytes.append(0) } }
        }
        return w.bytes
    }
}

/// Little-endian Float32 bytes, as GGUF stores F32 tensors.
public func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}
