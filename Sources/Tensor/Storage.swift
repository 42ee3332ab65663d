// Storage: the raw bytes behind a tensor and their element type. Float32 is the compute type;
// Float16 and BFloat16 hold weights, Int32 and Int64 hold indices. Buffers come from BufferPool.

import Foundation

/// Element type of a tensor's storage.
public enum DType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16, int32, int64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float16, .bfloat16: return 2
        case .int64: return 8
        }
    }
}

/// A flat buffer of `count` elements of `dtype`. Shared by a tensor and its views.
public final class Storage: @unchecked Sendable {
    public let dtype: DType
    public let count: Int
    let raw: UnsafeMutableRawPointer
    let byteCount: Int

    init(dtype: DType, count: Int, zeroed: Bool = false) {
        self.dtype = dtype
        self.count = count
        self.byteCount = max(count * dtype.byteSize, 1)
        self.raw = BufferPool.shared.take(bytes: byteCount)
        if zeroed { memset(raw, 0, byteCount) }
    }

    deinit { BufferPool.shared.give(raw, bytes: byteCount) }

    var floats: UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
    var int32s: UnsafeMutablePointer<Int32> { raw.assumingMemoryBound(to: Int32.self) }
    var uint16s: UnsafeMutablePointer<UInt16> { raw.assumingMemoryBound(to: UInt16.self) }
    var int64s: UnsafeMutablePointer<Int64> { raw.assumingMemoryBound(to: Int64.self) }
}

// MARK: - Half-precision conversions

/// BFloat16 <-> Float32 by bit manipulation; rounding to nearest even, NaN kept quiet.
public enum BFloat16Bits {
    @inline(__always) public static func toFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
    @inline(__always) public static func fromFloat(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        if x.isNaN { return UInt16(b >> 16) | 0x40 }
        let rounding = ((b >> 16) & 1) + 0x7FFF
        return UInt16((b &+ rounding) >> 16)
    }
}

/// Float16 <-> Float32 through Swift's `Float16` (IEEE binary16, round to nearest even).
public enum Float16Bits {
    @inline(__always) public static func toFloat(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }
    @inline(__always) public static func fromFloat(_ x: Float) -> UInt16 { Float16(x).bitPattern }
}
