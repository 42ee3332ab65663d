// Seeded random numbers: xoshiro256** seeded through SplitMix64. One serial stream, so the same
// seed gives the same bits at any thread count. Also a RandomNumberGenerator for shuffling.

import Foundation

/// A seeded, reproducible generator (xoshiro256**). Value type: copying it forks the stream.
public struct RNG: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    /// A generator whose whole stream is fixed by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(&x); s1 = splitMix(&x); s2 = splitMix(&x); s3 = splitMix(&x)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A float uniform in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A tensor of uniform values in [low, high).
    public mutating func uniform(_ shape: [Int], low: Float = 0, high: Float = 1) -> Tensor {
        let t = Tensor(empty: shape)
        let p = t.ptr
        for i in 0..<t.count { p[i] = low + (high - low) * nextFloat() }
        return t
    }

    /// A tensor of normal values (Box-Muller, pairs of uniforms).
    public mutating func normal(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        let t = Tensor(empty: shape)
        let p = t.ptr, n = t.count
        var i = 0
        while i < n {
            let u1 = Double(next() >> 11) * 0x1p-53, u2 = Double(next() >> 11) * 0x1p-53
            let r = (-2 * Foundation.log(1 - u1)).squareRoot(), a = 2 * Double.pi * u2
            p[i] = mean + std * Float(r * Foundation.cos(a))
            if i + 1 < n { p[i + 1] = mean + std * Float(r * Foundation.sin(a)) }
            i += 2
        }
        return t
    }

    /// A tensor of 1s with probability `p` and 0s otherwise.
    public mutating func bernoulli(_ shape: [Int], p: Float) -> Tensor {
        let t = Tensor(empty: shape)
        let q = t.ptr
        for i in 0..<t.count { q[i] = nextFloat() < p ? 1 : 0 }
        return t
    }

    /// A random permutation of 0..<n (Fisher-Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var a = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { a.swapAt(i, Int(next() % UInt64(i + 1))) } }
        return a
    }
}
