// Vector math for the kernels: exp, tanh, erf, sigmoid on SIMD16<Float>, each with the scalar
// reference it is tested against (Foundation's libm). Cephes-style polynomials, ~1-2 ulp for exp.

import Foundation

/// 16-lane Float vector used by every kernel.
public typealias Vec = SIMD16<Float>

/// SIMD math and their scalar references.
public enum VMath {
    // MARK: exp
    /// e^x for 16 lanes (Cephes expf: range reduction by ln2 and a degree-6 polynomial).
    @_transparent public static func exp(_ v: Vec) -> Vec {
        let x0 = max(min(v, Vec(repeating: 88.3)), Vec(repeating: -87.3))
        let fx = (x0 * 1.44269504088896341 + 0.5).rounded(.down)
        var x = x0 - fx * 0.693359375
        x = x + fx * 2.12194440e-4
        let z = x * x
        var y = Vec(repeating: 1.9875691500e-4)
        y = y * x + 1.3981999507e-3
        y = y * x + 8.3334519073e-3
        y = y * x + 4.1665795894e-2
        y = y * x + 1.6666665459e-1
        y = y * x + 5.0000001201e-1
        y = y * z + x + 1
        // 2^fx via the exponent bits: fx + 1.5*2^23 leaves the integer in the low mantissa bits.
        let magic = unsafeBitCast(fx + 12582912.0, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let pow2 = unsafeBitCast((magic &+ 127) &<< 23, to: Vec.self)
        let r = y * pow2
        return r.replacing(with: 0, where: v .< -87.3)
    }

    @inline(__always) public static func exp(_ x: Float) -> Float { Foundation.exp(x) }

    // MARK: tanh, sigmoid
    /// tanh(x) as a 13/6 rational approximation on [-7.9, 7.9] (Eigen's ptanh_float), a few ulp;
    /// one division and no exp.
    @_transparent public static func tanh(_ v: Vec) -> Vec {
        let x = max(min(v, Vec(repeating: 7.90531110763549805)), Vec(repeating: -7.90531110763549805))
        let x2 = x * x
        var p = Vec(repeating: -2.76076847742355e-16)
        p = p * x2 + 2.00018790482477e-13
        p = p * x2 - 8.60467152213735e-11
        p = p * x2 + 5.12229709037114e-08
        p = p * x2 + 1.48572235717979e-05
        p = p * x2 + 6.37261928875436e-04
        p = p * x2 + 4.89352455891786e-03
        p = p * x
        var q = Vec(repeating: 1.19825839466702e-06)
        q = q * x2 + 1.18534705686654e-04
        q = q * x2 + 2.26843463243900e-03
        q = q * x2 + 4.89352518554385e-03
        let r = p / q
        let magnitude = unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: Vec.self)
        return r.replacing(with: v, where: magnitude .< 0.0004)
    }
    @inline(__always) public static func tanh(_ x: Float) -> Float { Foundation.tanh(x) }

    /// 1 / (1 + e^{-x}) = (1 + tanh(x/2)) / 2.
    @_transparent public static func sigmoid(_ v: Vec) -> Vec { 0.5 + 0.5 * tanh(0.5 * v) }
    @inline(__always) public static func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

    // MARK: erf
    /// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
    @_transparent public static func erf(_ v: Vec) -> Vec {
        let a = v.replacing(with: -v, where: v .< 0)
        let t = 1 / (1 + 0.3275911 * a)
        var p = Vec(repeating: 1.061405429)
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let r = 1 - p * t * exp(-(a * a))
        return r.replacing(with: -r, where: v .< 0)
    }
    @inline(__always) public static func erf(_ x: Float) -> Float { Foundation.erf(x) }

    // MARK: GELU and SiLU with their derivatives
    static let sqrt2OverPi: Float = 0.7978845608028654
    static let invSqrt2: Float = 0.7071067811865476
    static let invSqrt2Pi: Float = 0.3989422804014327

    @_transparent static func gelu(_ x: Vec, _ approx: GeluApproximation) -> Vec {
        switch approx {
        case .exact: return 0.5 * x * (1 + erf(x * invSqrt2))
        case .tanh:
            let u = sqrt2OverPi * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1 + tanh(u))
        }
    }
    static func gelu(_ x: Float, _ approx: GeluApproximation) -> Float {
        switch approx {
        case .exact: return 0.5 * x * (1 + Foundation.erf(x * invSqrt2))
        case .tanh: return 0.5 * x * (1 + Foundation.tanh(sqrt2OverPi * (x + 0.044715 * x * x * x)))
        }
    }
    /// d gelu / dx.
    @_transparent static func geluGrad(_ x: Vec, _ approx: GeluApproximation) -> Vec {
        switch approx {
        case .exact:
            let cdf = 0.5 * (1 + erf(x * invSqrt2))
            let pdf = invSqrt2Pi * exp(-0.5 * x * x)
            return cdf + x * pdf
        case .tanh:
            let x2 = x * x
            let u = sqrt2OverPi * (x + 0.044715 * x2 * x)
            let th = tanh(u)
            let left = 0.5 * (1 + th)
            let du = sqrt2OverPi * (1 + 0.134145 * x2)
            let right = 0.5 * x * (1 - th * th) * du
            return left + right
        }
    }
    static func geluGrad(_ x: Float, _ approx: GeluApproximation) -> Float {
        switch approx {
        case .exact:
            return 0.5 * (1 + Foundation.erf(x * invSqrt2)) + x * invSqrt2Pi * Foundation.exp(-0.5 * x * x)
        case .tanh:
            let u = sqrt2OverPi * (x + 0.044715 * x * x * x)
            let th = Foundation.tanh(u)
            return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * sqrt2OverPi * (1 + 3 * 0.044715 * x * x)
        }
    }

    // MARK: row helpers
    /// sum(a[i] * b[i]) over n elements, two SIMD accumulators then the tail.
    @inline(__always) static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = Vec(), acc1 = Vec(), i = 0
        while i + 32 <= n {
            acc0 += load(a + i) * load(b + i)
            acc1 += load(a + i + 16) * load(b + i + 16)
            i += 32
        }
        while i + 16 <= n { acc0 += load(a + i) * load(b + i); i += 16 }
        var s = (acc0 + acc1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// sum(a[i]) over n elements.
    @inline(__always) static func sum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vec(), i = 0
        while i + 16 <= n { acc += load(a + i); i += 16 }
        var s = acc.sum()
        while i < n { s += a[i]; i += 1 }
        return s
    }

    // MARK: lane helpers
    /// Lane-wise maximum as compare + blend (the stdlib's pointwiseMax may stay an outlined call).
    @_transparent public static func max(_ a: Vec, _ b: Vec) -> Vec { a.replacing(with: b, where: b .> a) }
    /// Lane-wise minimum as compare + blend.
    @_transparent public static func min(_ a: Vec, _ b: Vec) -> Vec { a.replacing(with: b, where: b .< a) }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Vec {
        UnsafeRawPointer(p).loadUnaligned(as: Vec.self)
    }
    @inline(__always) static func store(_ v: Vec, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self)
    }
}
