// ggml's tensor element types and the byte layout of each quantisation block, as in
// ggml/src/ggml-common.h. Each layout is an enum of field offsets whose `bytes` is checked
// against the size ggml defines (the static size check; QuantTraitsTests re-checks the table).
import Foundation

/// A ggml tensor type, numbered as in ggml (`enum ggml_type`). Only the types this engine can
/// dequantise and multiply are listed; any other number is rejected by the GGUF reader.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8
    case q4_K = 12, q5_K = 13, q6_K = 14, bf16 = 30

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        }
    }
}

/// Elements per block of the simple quants (`QK4_0`, `QK8_0`, ...).
public let qkSimple = 32
/// Elements per super-block of the k-quants (`QK_K`).
public let qkK = 256
/// Bytes of the packed 6-bit scales and mins of Q4_K and Q5_K (`K_SCALE_SIZE`).
let kScaleSize = 12

/// Checks a layout's declared size against the sum of its fields, once, at first use.
@inline(__always) func checkBlockSize(_ fields: Int, _ declared: Int) -> Int {
    precondition(fields == declared, "quant block layout does not add up to its size")
    return declared
}

/// Q4_0: 32 weights as `d * (q - 8)`, q in 0...15. `d: f16 | qs: 16 bytes`; byte j holds
/// element j in its low nibble and element j + 16 in its high nibble. 18 bytes.
enum BlockQ4_0 {
    static let d = 0, qs = 2
    static let bytes = checkBlockSize(2 + 16, 18)
}

/// Q4_1: 32 weights as `d * q + m`, q in 0...15. `d: f16 | m: f16 | qs: 16 bytes`, nibbles as
/// in Q4_0. 20 bytes.
enum BlockQ4_1 {
    static let d = 0, m = 2, qs = 4
    static let bytes = checkBlockSize(2 + 2 + 16, 20)
}

/// Q5_0: 32 weights as `d * (q - 16)`, q in 0...31. `d: f16 | qh: u32 | qs: 16 bytes`; the low
/// four bits come as in Q4_0, bit j of qh is the fifth bit of element j. 22 bytes.
enum BlockQ5_0 {
    static let d = 0, qh = 2, qs = 6
    static let bytes = checkBlockSize(2 + 4 + 16, 22)
}

/// Q5_1: 32 weights as `d * q + m`, q in 0...31. `d: f16 | m: f16 | qh: u32 | qs: 16 bytes`. 24 bytes.
enum BlockQ5_1 {
    static let d = 0, m = 2, qh = 4, qs = 8
    static let bytes = checkBlockSize(2 + 2 + 4 + 16, 24)
}

/// Q8_0: 32 weights as `d * q`, q an int8. `d: f16 | qs: 32 × i8`. 34 bytes.
enum BlockQ8_0 {
    static let d = 0, qs = 2
    static let bytes = checkBlockSize(2 + 32, 34)
}

/// Q4_K: 256 weights in 8 sub-blocks of 32, each `d * sc * q - dmin * m` with 6-bit sc and m
/// packed into 12 bytes, q 4-bit. `d: f16 | dmin: f16 | scales: 12 | qs: 128`; each 64 weights
/// use 32 bytes of qs, low nibbles first. 144 bytes.
enum BlockQ4_K {
    static let d = 0, dmin = 2, scales = 4, qs = 16
    static let bytes = checkBlockSize(2 + 2 + kScaleSize + 128, 144)
}

/// Q5_K: like Q4_K plus a fifth bit per weight in qh (32 bytes; bit 2i and 2i+1 of qh[l] serve
/// the i-th pair of 32-weight sub-blocks). `d | dmin | scales: 12 | qh: 32 | qs: 128`. 176 bytes.
enum BlockQ5_K {
    static let d = 0, dmin = 2, scales = 4, qh = 16, qs = 48
    static let bytes = checkBlockSize(2 + 2 + kScaleSize + 32 + 128, 176)
}

/// Q6_K: 256 weights in 16 sub-blocks of 16, each `d * sc * (q - 32)` with sc an int8 and q
/// 6-bit: low 4 bits in ql, high 2 bits in qh. `ql: 128 | qh: 64 | scales: 16 × i8 | d: f16`.
/// 210 bytes.
enum BlockQ6_K {
    static let ql = 0, qh = 128, scales = 192, d = 208
    static let bytes = checkBlockSize(128 + 64 + 16 + 2, 210)
}

// MARK: - Half-precision helpers

/// IEEE half (binary16) bits to `Float`.
@inline(__always) public func halfToFloat(_ bits: UInt16) -> Float {
    #if !(os(macOS) && arch(x86_64))
    return Float(Float16(bitPattern: bits))
    #else
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = Int(bits >> 10) & 0x1F
    let mantissa = UInt32(bits & 0x3FF)
    if exponent == 0 {
        let value = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -value : value
    }
    if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
    #endif
}

/// `Float` to IEEE half bits, rounding to nearest even.
@inline(__always) public func floatToHalf(_ value: Float) -> UInt16 {
    #if !(os(macOS) && arch(x86_64))
    return Float16(value).bitPattern
    #else
    let bits = value.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    let exponent = Int((bits >> 23) & 0xFF) - 127 + 15
    var mantissa = bits & 0x7F_FFFF
    if exponent >= 31 { return sign | 0x7C00 | (value.isNaN ? 0x200 : 0) }
    if exponent <= 0 {
        if exponent < -10 { return sign }
        mantissa |= 0x80_0000
        let shift = UInt32(14 - exponent)
        let half = UInt32(1) << (shift - 1)
        let rounded = (mantissa + half - 1 + ((mantissa >> shift) & 1)) >> shift
        return sign | UInt16(rounded)
    }
    let rounded = UInt32(exponent) << 10 | (mantissa >> 13)
    let rest = mantissa & 0x1FFF
    let up: UInt32 = rest > 0x1000 || (rest == 0x1000 && (rounded & 1) == 1) ? 1 : 0
    return sign | UInt16(rounded + up)
    #endif
}

/// bfloat16 bits to `Float` (the upper half of a binary32).
@inline(__always) public func bfloat16ToFloat(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// Reads an f16 scale at `offset` bytes from `p`.
@inline(__always) func loadHalf(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// The 6-bit scale and min of sub-block `j` of Q4_K/Q5_K (`get_scale_min_k4` in ggml).
@inline(__always) func scaleMinK4(_ j: Int, _ q: UnsafePointer<UInt8>) -> (scale: UInt8, min: UInt8) {
    if j < 4 {
        return (q[j] & 63, q[j + 4] & 63)
    }
    return ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
}
