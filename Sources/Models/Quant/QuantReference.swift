// Scalar reference dequantisers, one per type, written to follow ggml's `dequantize_row_*`
// line for line; and reference quantisers for Q8_0, Q4_0 and Q4_1 (activations and tests).
// The SIMD kernels in QuantKernels.swift are tested against these.
import Foundation

/// Scalar dequantisers: `(blocks, output, element count)`; the count is a whole number of blocks.
public enum QuantReference {
    public static func dequantizeF32(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = Float(bitPattern: UInt32(littleEndian: x.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
    }

    public static func dequantizeF16(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = loadHalf(x, 2 * i) }
    }

    public static func dequantizeBF16(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = bfloat16ToFloat(UInt16(littleEndian: x.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
    }

    public static func dequantizeQ4_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for b in 0..<n / qkSimple {
            let block = x + b * BlockQ4_0.bytes, out = y + b * qkSimple
            let d = loadHalf(block, BlockQ4_0.d)
            let qs = (block + BlockQ4_0.qs).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                out[j] = Float(Int(qs[j] & 0xF) - 8) * d
                out[j + 16] = Float(Int(qs[j] >> 4) - 8) * d
            }
        }
    }

    public static func dequantizeQ4_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for b in 0..<n / qkSimple {
            let block = x + b * BlockQ4_1.bytes, out = y + b * qkSimple
            let d = loadHalf(block, BlockQ4_1.d), m = loadHalf(block, BlockQ4_1.m)
            let qs = (block + BlockQ4_1.qs).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                out[j] = Float(qs[j] & 0xF) * d + m
                out[j + 16] = Float(qs[j] >> 4) * d + m
            }
        }
    }

    public static func dequantizeQ5_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for b in 0..<n / qkSimple {
            let block = x + b * BlockQ5_0.bytes, out = y + b * qkSimple
            let d = loadHalf(block, BlockQ5_0.d)
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: BlockQ5_0.qh, as: UInt32.self))
            let qs = (block + BlockQ5_0.qs).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                let high0 = UInt8(((qh >> UInt32(j)) << 4) & 0x10)
                let high1 = UInt8((qh >> UInt32(j + 12)) & 0x10)
                out[j] = Float(Int((qs[j] & 0xF) | high0) - 16) * d
                out[j + 16] = Float(Int((qs[j] >> 4) | high1) - 16) * d
            }
        }
    }

    public static func dequantizeQ5_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for b in 0..<n / qkSimple {
            let block = x + b * BlockQ5_1.bytes, out = y + b * qkSimple
            let d = loadHalf(block, BlockQ5_1.d), m = loadHalf(block, BlockQ5_1.m)
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: BlockQ5_1.qh, as: UInt32.self))
            let qs = (block + BlockQ5_1.qs).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                let high0 = UInt8(((qh >> UInt32(j)) << 4) & 0x10)
                let high1 = UInt8((qh >> UInt32(j + 12)) & 0x10)
                out[j] = Float((qs[j] & 0xF) | high0) * d + m
                out[j + 16] = Float((qs[j] >> 4) | high1) * d + m
            }
        }
    }

    public static func dequantizeQ8_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for b in 0..<n / qkSimple {
            let block = x + b * BlockQ8_0.bytes, out = y + b * qkSimple
            let d = loadHalf(block, BlockQ8_0.d)
            let qs = (block + BlockQ8_0.qs).assumingMemoryBound(to: Int8.self)
            for j in 0..<32 { out[j] = Float(qs[j]) * d }
        }
    }

    public static func dequantizeQ4_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for b in 0..<n / qkK {
            let block = x + b * BlockQ4_K.bytes
            var out = y + b * qkK
            let d = loadHalf(block, BlockQ4_K.d), dmin = loadHalf(block, BlockQ4_K.dmin)
            let scales = (block + BlockQ4_K.scales).assumingMemoryBound(to: UInt8.self)
            var q = (block + BlockQ4_K.qs).assumingMemoryBound(to: UInt8.self)
            var sub = 0
            for _ in stride(from: 0, to: qkK, by: 64) {
                let (sc1, m1) = scaleMinK4(sub, scales), (sc2, m2) = scaleMinK4(sub + 1, scales)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                let d2 = d * Float(sc2), min2 = dmin * Float(m2)
                for l in 0..<32 { out[l] = d1 * Float(q[l] & 0xF) - min1 }
                for l in 0..<32 { out[l + 32] = d2 * Float(q[l] >> 4) - min2 }
                out += 64; q += 32; sub += 2
            }
        }
    }

    public static func dequantizeQ5_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for b in 0..<n / qkK {
            let block = x + b * BlockQ5_K.bytes
            var out = y + b * qkK
            let d = loadHalf(block, BlockQ5_K.d), dmin = loadHalf(block, BlockQ5_K.dmin)
            let scales = (block + BlockQ5_K.scales).assumingMemoryBound(to: UInt8.self)
            let qh = (block + BlockQ5_K.qh).assumingMemoryBound(to: UInt8.self)
            var ql = (block + BlockQ5_K.qs).assumingMemoryBound(to: UInt8.self)
            var sub = 0
            var u1: UInt8 = 1, u2: UInt8 = 2
            for _ in stride(from: 0, to: qkK, by: 64) {
                let (sc1, m1) = scaleMinK4(sub, scales), (sc2, m2) = scaleMinK4(sub + 1, scales)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                let d2 = d * Float(sc2), min2 = dmin * Float(m2)
                for l in 0..<32 { out[l] = d1 * Float(Int(ql[l] & 0xF) + (qh[l] & u1 != 0 ? 16 : 0)) - min1 }
                for l in 0..<32 { out[l + 32] = d2 * Float(Int(ql[l] >> 4) + (qh[l] & u2 != 0 ? 16 : 0)) - min2 }
                out += 64; ql += 32; sub += 2
                u1 <<= 2; u2 <<= 2
            }
        }
    }

    public static func dequantizeQ6_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for b in 0..<n / qkK {
            let block = x + b * BlockQ6_K.bytes
            var out = y + b * qkK
            let d = loadHalf(block, BlockQ6_K.d)
            var ql = (block + BlockQ6_K.ql).assumingMemoryBound(to: UInt8.self)
            var qh = (block + BlockQ6_K.qh).assumingMemoryBound(to: UInt8.self)
            var sc = (block + BlockQ6_K.scales).assumingMemoryBound(to: Int8.self)
            for _ in stride(from: 0, to: qkK, by: 128) {
                for l in 0..<32 {
                    let s = l / 16
                    let q1 = Int((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32
                    let q2 = Int((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32
                    let q3 = Int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                    let q4 = Int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                    out[l] = d * Float(sc[s]) * Float(q1)
                    out[l + 32] = d * Float(sc[s + 2]) * Float(q2)
                    out[l + 64] = d * Float(sc[s + 4]) * Float(q3)
                    out[l + 96] = d * Float(sc[s + 6]) * Float(q4)
                }
                out += 128; ql += 64; qh += 32; sc += 8
            }
        }
    }

    // MARK: - Reference quantisers

    /// Quantises `values` (a multiple of 32 long) to Q8_0 blocks, as ggml's `quantize_row_q8_0_ref`.
    public static func quantizeQ8_0(_ values: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count / qkSimple * BlockQ8_0.bytes)
        for b in 0..<values.count / qkSimple {
            let block = values[b * qkSimple..<(b + 1) * qkSimple]
            let amax = block.reduce(0) { max($0, abs($1)) }
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            appendHalf(&out, d)
            for v in block { out.append(UInt8(bitPattern: Int8((v * id).rounded()))) }
        }
        return out
    }

    /// Quantises to Q4_0 (`quantize_row_q4_0_ref`): the value of largest magnitude maps to -8.
    public static func quantizeQ4_0(_ values: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        for b in 0..<values.count / qkSimple {
            let block = Array(values[b * qkSimple..<(b + 1) * qkSimple])
            var amax: Float = 0, extreme: Float = 0
            for v in block where abs(v) > amax { amax = abs(v); extreme = v }
            let d = extreme / -8
            let id: Float = d != 0 ? 1 / d : 0
            appendHalf(&out, d)
            for j in 0..<16 {
                let q0 = UInt8(min(15, Int8(block[j] * id + 8.5)))
                let q1 = UInt8(min(15, Int8(block[j + 16] * id + 8.5)))
                out.append(q0 | (q1 << 4))
            }
        }
        return out
    }

    /// Quantises to Q4_1 (`quantize_row_q4_1_ref`): min and range per block.
    public static func quantizeQ4_1(_ values: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        for b in 0..<values.count / qkSimple {
            let block = Array(values[b * qkSimple..<(b + 1) * qkSimple])
            let lo = block.min() ?? 0, hi = block.max() ?? 0
            let d = (hi - lo) / 15
            let id: Float = d != 0 ? 1 / d : 0
            appendHalf(&out, d)
            appendHalf(&out, lo)
            for j in 0..<16 {
                let q0 = UInt8(min(15, Int8((block[j] - lo) * id + 0.5)))
                let q1 = UInt8(min(15, Int8((block[j + 16] - lo) * id + 0.5)))
                out.append(q0 | (q1 << 4))
            }
        }
        return out
    }

    private static func appendHalf(_ out: inout [UInt8], _ value: Float) {
        let bits = floatToHalf(value)
        out.append(UInt8(bits & 0xFF))
        out.append(UInt8(bits >> 8))
    }
}
