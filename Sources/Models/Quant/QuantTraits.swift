// The one table that drives behaviour per tensor type (ggml's `type_traits`): block size,
// bytes per block, the scalar dequantiser and the SIMD dot kernel.
import Foundation

/// Dequantises `count` elements (whole blocks) from encoded bytes into floats.
public typealias DequantizeRow = (UnsafeRawPointer, UnsafeMutablePointer<Float>, Int) -> Void
/// Dot product of an encoded row of `count` elements with a float vector `x`, given the sums of
/// `x` over each 32 elements (`QuantDot.blockSums`).
public typealias DotRow = (UnsafeRawPointer, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float

/// What the engine needs to know about one tensor type.
public struct QuantTraits: @unchecked Sendable {
    /// The type described.
    public let type: GGMLType
    /// Elements per block (1 for the float types).
    public let blockSize: Int
    /// Bytes per block.
    public let bytesPerBlock: Int
    /// The scalar reference dequantiser.
    public let dequantizeRow: DequantizeRow
    /// The SIMD row·vector kernel.
    public let dotRow: DotRow
    /// Byte offsets, inside a block, of its f16 scales (`d`, and `m` or `dmin`): a non-finite
    /// one makes the whole block non-finite. Empty for the float types, checked element-wise.
    public let scaleOffsets: [Int]

    /// Bytes taken by a row of `elements` elements (a whole number of blocks).
    public func rowBytes(_ elements: Int) -> Int { elements / blockSize * bytesPerBlock }

    /// Index of the first non-finite value in `count` elements (whole blocks) at `data`: an
    /// element for the float types, a block whose scale is NaN or infinite for the quantised
    /// ones. Nil when every value is finite.
    public func firstNonFinite(_ data: UnsafeRawPointer, count: Int) -> Int? {
        // Exponent bits all ones is infinity or NaN, in every IEEE width.
        @inline(__always) func half(_ offset: Int) -> Bool {
            data.loadUnaligned(fromByteOffset: offset, as: UInt16.self) & 0x7C00 != 0x7C00
        }
        switch type {
        case .f32:
            for i in 0..<count where data.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) & 0x7F80_0000 == 0x7F80_0000 {
                return i
            }
        case .f16:
            for i in 0..<count where !half(2 * i) { return i }
        case .bf16:
            for i in 0..<count where data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7F80 == 0x7F80 { return i }
        default:
            for block in 0..<(count / blockSize) {
                for offset in scaleOffsets where !half(block * bytesPerBlock + offset) { return block }
            }
        }
        return nil
    }

    /// The SIMD dot of one row with `x`, computing `x`'s block sums itself (for one-off use;
    /// `QuantMatmul.matvec` computes them once for all rows).
    public func dot(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: (n + 31) / 32 + 1) { sums in
            guard let base = sums.baseAddress else { return 0 }
            QuantDot.blockSums(x, n, into: base)
            return dotRow(row, x, base, n)
        }
    }

    /// The reference dot: dequantise the row, then a plain scalar sum in `Double`.
    public func referenceDot(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var values = [Float](repeating: 0, count: n)
        values.withUnsafeMutableBufferPointer { if let b = $0.baseAddress { dequantizeRow(row, b, n) } }
        var sum: Double = 0
        for i in 0..<n { sum += Double(values[i]) * Double(x[i]) }
        return sum
    }
}

extension GGMLType {
    /// This type's entry in the traits table.
    public var traits: QuantTraits {
        switch self {
        case .f32: return QuantTraits.f32
        case .f16: return QuantTraits.f16
        case .bf16: return QuantTraits.bf16
        case .q4_0: return QuantTraits.q4_0
        case .q4_1: return QuantTraits.q4_1
        case .q5_0: return QuantTraits.q5_0
        case .q5_1: return QuantTraits.q5_1
        case .q8_0: return QuantTraits.q8_0
        case .q4_K: return QuantTraits.q4_K
        case .q5_K: return QuantTraits.q5_K
        case .q6_K: return QuantTraits.q6_K
        }
    }
}

/// The traits table: one row per supported type.
extension QuantTraits {
    static let f32 = QuantTraits(type: .f32, blockSize: 1, bytesPerBlock: 4,
                                 dequantizeRow: QuantReference.dequantizeF32, dotRow: QuantDot.dotF32, scaleOffsets: [])
    static let f16 = QuantTraits(type: .f16, blockSize: 1, bytesPerBlock: 2,
                                 dequantizeRow: QuantReference.dequantizeF16, dotRow: QuantDot.dotF16, scaleOffsets: [])
    static let bf16 = QuantTraits(type: .bf16, blockSize: 1, bytesPerBlock: 2,
                                  dequantizeRow: QuantReference.dequantizeBF16, dotRow: QuantDot.dotBF16, scaleOffsets: [])
    static let q4_0 = QuantTraits(type: .q4_0, blockSize: qkSimple, bytesPerBlock: BlockQ4_0.bytes,
                                  dequantizeRow: QuantReference.dequantizeQ4_0, dotRow: QuantDot.dotQ4_0,
                                  scaleOffsets: [BlockQ4_0.d])
    static let q4_1 = QuantTraits(type: .q4_1, blockSize: qkSimple, bytesPerBlock: BlockQ4_1.bytes,
                                  dequantizeRow: QuantReference.dequantizeQ4_1, dotRow: QuantDot.dotQ4_1,
                                  scaleOffsets: [BlockQ4_1.d, BlockQ4_1.m])
    static let q5_0 = QuantTraits(type: .q5_0, blockSize: qkSimple, bytesPerBlock: BlockQ5_0.bytes,
                                  dequantizeRow: QuantReference.dequantizeQ5_0, dotRow: QuantDot.dotQ5_0,
                                  scaleOffsets: [BlockQ5_0.d])
    static let q5_1 = QuantTraits(type: .q5_1, blockSize: qkSimple, bytesPerBlock: BlockQ5_1.bytes,
                                  dequantizeRow: QuantReference.dequantizeQ5_1, dotRow: QuantDot.dotQ5_1,
                                  scaleOffsets: [BlockQ5_1.d, BlockQ5_1.m])
    static let q8_0 = QuantTraits(type: .q8_0, blockSize: qkSimple, bytesPerBlock: BlockQ8_0.bytes,
                                  dequantizeRow: QuantReference.dequantizeQ8_0, dotRow: QuantDot.dotQ8_0,
                                  scaleOffsets: [BlockQ8_0.d])
    static let q4_K = QuantTraits(type: .q4_K, blockSize: qkK, bytesPerBlock: BlockQ4_K.bytes,
                                  dequantizeRow: QuantReference.dequantizeQ4_K, dotRow: QuantDot.dotQ4_K,
                                  scaleOffsets: [BlockQ4_K.d, BlockQ4_K.dmin])
    static let q5_K = QuantTraits(type: .q5_K, blockSize: qkK, bytesPerBlock: BlockQ5_K.bytes,
                                  dequantizeRow: QuantReference.dequantizeQ5_K, dotRow: QuantDot.dotQ5_K,
                                  scaleOffsets: [BlockQ5_K.d, BlockQ5_K.dmin])
    static let q6_K = QuantTraits(type: .q6_K, blockSize: qkK, bytesPerBlock: BlockQ6_K.bytes,
                                  dequantizeRow: QuantReference.dequantizeQ6_K, dotRow: QuantDot.dotQ6_K,
                                  scaleOffsets: [BlockQ6_K.d])
}

/// Every supported type's traits, for enumeration.
public let quantTraitsTable: [GGMLType: QuantTraits] =
    Dictionary(uniqueKeysWithValues: GGMLType.allCases.map { ($0, $0.traits) })
