// SIMD dot products of one encoded row with a Float vector, one per type. They work block by
// block in registers (SIMD16<Float>, FMA through `addingProduct`) and never dequantise a row to
// memory. Each is tested against QuantReference's dequantise-then-dot in QuantKernelTests.
import Foundation

/// Row-times-vector kernels: `(encoded row, x, xBlockSums, n) -> Σ w[i] * x[i]`, `n` a whole
/// number of blocks. `xBlockSums[b]` is the sum of `x[32b ..< 32b + 32]` (see `blockSums`); the
/// types with a per-block offset (`d q + m`) use it so that the offset costs one scalar FMA per
/// block instead of a vector add and FMA, which measured 1.9× faster for Q4_1. The float and
/// symmetric types ignore the sums.
public enum QuantDot {
    /// Sums of `x` over each run of 32 elements (the last run may be shorter).
    public static func blockSums(_ x: UnsafePointer<Float>, _ n: Int, into sums: UnsafeMutablePointer<Float>) {
        var b = 0
        while b * 32 < n {
            var s = SIMD16<Float>()
            var i = b * 32
            let end = min(n, i + 32)
            while i + 16 <= end { s += x16(x, i); i += 16 }
            var total = s.sum()
            while i < end { total += x[i]; i += 1 }
            sums[b] = total
            b += 1
        }
    }

    // Lane conversions are written as lane loops on purpose: the standard library's generic
    // `SIMD16<Float>(_:)` and `init(truncatingIfNeeded:)` stay out-of-line calls, while these
    // loops compile to vpmovzxbd/vpmovsxbd + vcvtdq2ps.
    @inline(__always) static func floats(_ v: SIMD16<UInt8>) -> SIMD16<Float> {
        var r = SIMD16<Float>()
        for i in 0..<16 { r[i] = Float(v[i]) }
        return r
    }

    @inline(__always) static func floats(_ v: SIMD16<Int8>) -> SIMD16<Float> {
        var r = SIMD16<Float>()
        for i in 0..<16 { r[i] = Float(v[i]) }
        return r
    }

    @inline(__always) static func floats(_ v: SIMD16<UInt32>) -> SIMD16<Float> {
        var r = SIMD16<Float>()
        for i in 0..<16 { r[i] = Float(v[i]) }
        return r
    }

    @inline(__always) static func widen(_ v: SIMD16<UInt8>) -> SIMD16<UInt32> {
        var r = SIMD16<UInt32>()
        for i in 0..<16 { r[i] = UInt32(v[i]) }
        return r
    }

    @inline(__always) static func widen(_ v: SIMD16<UInt16>) -> SIMD16<UInt32> {
        var r = SIMD16<UInt32>()
        for i in 0..<16 { r[i] = UInt32(v[i]) }
        return r
    }

    @inline(__always) static func bytes16(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD16<UInt8> {
        p.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self)
    }

    @inline(__always) static func x16(_ x: UnsafePointer<Float>, _ offset: Int) -> SIMD16<Float> {
        UnsafeRawPointer(x + offset).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Plain scalar dot, used for the tails of the float types.
    @inline(__always) static func tail(_ a: (Int) -> Float, _ x: UnsafePointer<Float>, from: Int, to n: Int) -> Float {
        var s: Float = 0
        for i in from..<n { s += a(i) * x[i] }
        return s
    }

    public static func dotF32(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= n {
            acc0 = acc0.addingProduct(w.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self), x16(x, i))
            acc1 = acc1.addingProduct(w.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD16<Float>.self), x16(x, i + 16))
            i += 32
        }
        let body = (acc0 + acc1).sum()
        return body + tail({ w.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }, x, from: i, to: n)
    }

    public static func dotF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        #if !(os(macOS) && arch(x86_64))
        while i + 16 <= n {
            let bits = w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self)
            let halves = unsafeBitCast(bits, to: SIMD16<Float16>.self)
            var values = SIMD16<Float>()
            for lane in 0..<16 { values[lane] = Float(halves[lane]) }
            acc = acc.addingProduct(values, x16(x, i))
            i += 16
        }
        #endif
        return acc.sum() + tail({ loadHalf(w, 2 * $0) }, x, from: i, to: n)
    }

    public static func dotBF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            let bits = widen(w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self))
            acc = acc.addingProduct(unsafeBitCast(bits &<< 16, to: SIMD16<Float>.self), x16(x, i))
            i += 16
        }
        return acc.sum() + tail({ bfloat16ToFloat(w.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }, x, from: i, to: n)
    }

    public static func dotQ4_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        for b in 0..<n / qkSimple {
            let block = w + b * BlockQ4_0.bytes
            let q = bytes16(block, BlockQ4_0.qs)
            let x0 = x16(x, b * 32), x1 = x16(x, b * 32 + 16)
            var t = (floats(q & 0xF) - 8) * x0
            t = t.addingProduct(floats(q &>> 4) - 8, x1)
            acc = acc.addingProduct(t, loadHalf(block, BlockQ4_0.d))
        }
        return acc.sum()
    }

    public static func dotQ4_1(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int) -> Float {
        // Σ (d q + m) x = d Σ q x + m Σ x, with Σ x per block precomputed.
        var acc = SIMD16<Float>()
        var offset: Float = 0
        for b in 0..<n / qkSimple {
            let block = w + b * BlockQ4_1.bytes
            let q = bytes16(block, BlockQ4_1.qs)
            var t = floats(q & 0xF) * x16(x, b * 32)
            t = t.addingProduct(floats(q &>> 4), x16(x, b * 32 + 16))
            acc = acc.addingProduct(t, loadHalf(block, BlockQ4_1.d))
            offset += loadHalf(block, BlockQ4_1.m) * sums[b]
        }
        return acc.sum() + offset
    }

    static let laneShifts = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

    /// The 5-bit quants of a Q5_0/Q5_1 block as floats: elements 0..<16 and 16..<32.
    @inline(__always) static func fiveBit(_ block: UnsafeRawPointer, qh: Int, qs: Int) -> (SIMD16<Float>, SIMD16<Float>) {
        let high = SIMD16<UInt32>(repeating: UInt32(littleEndian: block.loadUnaligned(fromByteOffset: qh, as: UInt32.self)))
        let h0 = ((high &>> laneShifts) & 1) &<< 4
        let h1 = ((high &>> (laneShifts &+ 16)) & 1) &<< 4
        let q = bytes16(block, qs)
        return (floats(widen(q & 0xF) | h0), floats(widen(q &>> 4) | h1))
    }

    public static func dotQ5_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        for b in 0..<n / qkSimple {
            let block = w + b * BlockQ5_0.bytes
            let (q0, q1) = fiveBit(block, qh: BlockQ5_0.qh, qs: BlockQ5_0.qs)
            var t = (q0 - 16) * x16(x, b * 32)
            t = t.addingProduct(q1 - 16, x16(x, b * 32 + 16))
            acc = acc.addingProduct(t, loadHalf(block, BlockQ5_0.d))
        }
        return acc.sum()
    }

    public static func dotQ5_1(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var offset: Float = 0
        for b in 0..<n / qkSimple {
            let block = w + b * BlockQ5_1.bytes
            let (q0, q1) = fiveBit(block, qh: BlockQ5_1.qh, qs: BlockQ5_1.qs)
            var t = q0 * x16(x, b * 32)
            t = t.addingProduct(q1, x16(x, b * 32 + 16))
            acc = acc.addingProduct(t, loadHalf(block, BlockQ5_1.d))
            offset += loadHalf(block, BlockQ5_1.m) * sums[b]
        }
        return acc.sum() + offset
    }

    public static func dotQ8_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        for b in 0..<n / qkSimple {
            let block = w + b * BlockQ8_0.bytes
            let q0 = block.loadUnaligned(fromByteOffset: BlockQ8_0.qs, as: SIMD16<Int8>.self)
            let q1 = block.loadUnaligned(fromByteOffset: BlockQ8_0.qs + 16, as: SIMD16<Int8>.self)
            var t = floats(q0) * x16(x, b * 32)
            t = t.addingProduct(floats(q1), x16(x, b * 32 + 16))
            acc = acc.addingProduct(t, loadHalf(block, BlockQ8_0.d))
        }
        return acc.sum()
    }

    public static func dotQ4_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var mins: Float = 0
        for b in 0..<n / qkK {
            let block = w + b * BlockQ4_K.bytes
            let d = loadHalf(block, BlockQ4_K.d), dmin = loadHalf(block, BlockQ4_K.dmin)
            let scales = (block + BlockQ4_K.scales).assumingMemoryBound(to: UInt8.self)
            for j in 0..<4 {
                let (sc1, m1) = scaleMinK4(2 * j, scales), (sc2, m2) = scaleMinK4(2 * j + 1, scales)
                let qa = bytes16(block, BlockQ4_K.qs + 32 * j), qb = bytes16(block, BlockQ4_K.qs + 32 * j + 16)
                let base = b * qkK + 64 * j
                let x0 = x16(x, base), x1 = x16(x, base + 16), x2 = x16(x, base + 32), x3 = x16(x, base + 48)
                let t1 = (floats(qa & 0xF) * x0).addingProduct(floats(qb & 0xF), x1)
                let t2 = (floats(qa &>> 4) * x2).addingProduct(floats(qb &>> 4), x3)
                acc = acc.addingProduct(t1, d * Float(sc1)).addingProduct(t2, d * Float(sc2))
                mins += dmin * (Float(m1) * sums[b * 8 + 2 * j] + Float(m2) * sums[b * 8 + 2 * j + 1])
            }
        }
        return acc.sum() - mins
    }

    public static func dotQ5_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var mins: Float = 0
        for b in 0..<n / qkK {
            let block = w + b * BlockQ5_K.bytes
            let d = loadHalf(block, BlockQ5_K.d), dmin = loadHalf(block, BlockQ5_K.dmin)
            let scales = (block + BlockQ5_K.scales).assumingMemoryBound(to: UInt8.self)
            let ha = bytes16(block, BlockQ5_K.qh), hb = bytes16(block, BlockQ5_K.qh + 16)
            for j in 0..<4 {
                let (sc1, m1) = scaleMinK4(2 * j, scales), (sc2, m2) = scaleMinK4(2 * j + 1, scales)
                let qa = bytes16(block, BlockQ5_K.qs + 32 * j), qb = bytes16(block, BlockQ5_K.qs + 32 * j + 16)
                let s1 = UInt8(2 * j), s2 = UInt8(2 * j + 1)
                let base = b * qkK + 64 * j
                let x0 = x16(x, base), x1 = x16(x, base + 16), x2 = x16(x, base + 32), x3 = x16(x, base + 48)
                let lo0 = floats((qa & 0xF) | (((ha &>> s1) & 1) &<< 4))
                let lo1 = floats((qb & 0xF) | (((hb &>> s1) & 1) &<< 4))
                let hi0 = floats((qa &>> 4) | (((ha &>> s2) & 1) &<< 4))
                let hi1 = floats((qb &>> 4) | (((hb &>> s2) & 1) &<< 4))
                let t1 = (lo0 * x0).addingProduct(lo1, x1)
                let t2 = (hi0 * x2).addingProduct(hi1, x3)
                acc = acc.addingProduct(t1, d * Float(sc1)).addingProduct(t2, d * Float(sc2))
                mins += dmin * (Float(m1) * sums[b * 8 + 2 * j] + Float(m2) * sums[b * 8 + 2 * j + 1])
            }
        }
        return acc.sum() - mins
    }

    public static func dotQ6_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        for b in 0..<n / qkK {
            let block = w + b * BlockQ6_K.bytes
            let d = loadHalf(block, BlockQ6_K.d)
            let sc = (block + BlockQ6_K.scales).assumingMemoryBound(to: Int8.self)
            for half in 0..<2 {
                let ql = BlockQ6_K.ql + 64 * half, qh = BlockQ6_K.qh + 32 * half
                let s = sc + 8 * half
                let base = b * qkK + 128 * half
                for part in 0..<2 {
                    let o = 16 * part
                    let a = bytes16(block, ql + o), c = bytes16(block, ql + 32 + o), h = bytes16(block, qh + o)
                    let q1 = floats((a & 0xF) | ((h & 3) &<< 4)) - 32
                    let q2 = floats((c & 0xF) | (((h &>> 2) & 3) &<< 4)) - 32
                    let q3 = floats((a &>> 4) | (((h &>> 4) & 3) &<< 4)) - 32
                    let q4 = floats((c &>> 4) | ((h &>> 6) &<< 4)) - 32
                    acc = acc.addingProduct(q1 * x16(x, base + o), d * Float(s[part]))
                    acc = acc.addingProduct(q2 * x16(x, base + 32 + o), d * Float(s[part + 2]))
                    acc = acc.addingProduct(q3 * x16(x, base + 64 + o), d * Float(s[part + 4]))
                    acc = acc.addingProduct(q4 * x16(x, base + 96 + o), d * Float(s[part + 6]))
                }
            }
        }
        return acc.sum()
    }
}
