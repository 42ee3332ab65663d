// The Distill layer's seeded random numbers: one small generator (SplitMix64) and the few
// draws the data code needs. Kept in one file so it can be swapped for the tensor engine's RNG.

/// A small, fast, seeded pseudo-random generator (SplitMix64, Steele et al. 2014).
///
/// The same seed gives the same sequence on every platform, so subsamples, splits and
/// synthetic data are reproducible from a seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    /// - Parameters:
    ///   - seed: Any 64-bit value; equal seeds give equal sequences.
    public init(seed: UInt64) {
        state = seed
    }

    /// Returns the next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The draws Distill makes, written out so that their results do not depend on how the
/// standard library implements `shuffle` or `random(in:)` in a given Swift version.
public extension RandomNumberGenerator {
    /// A uniform integer in `0..<bound` without modulo bias (Lemire's method).
    /// - Parameters:
    ///   - bound: The exclusive upper bound; must be positive.
    mutating func uniform(below bound: Int) -> Int {
        precondition(bound > 0, "uniform(below:) needs a positive bound")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// A uniform integer in a closed range.
    /// - Parameters:
    ///   - range: The values to draw from.
    mutating func uniform(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + uniform(below: range.upperBound - range.lowerBound + 1)
    }

    /// A uniform double in `[0, 1)`, from the top 53 bits.
    mutating func unitDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// True with the given probability.
    /// - Parameters:
    ///   - probability: Clamped to `[0, 1]`.
    mutating func chance(_ probability: Double) -> Bool {
        unitDouble() < probability
    }

    /// One element of a non-empty array, uniformly.
    /// - Parameters:
    ///   - elements: The array to pick from; must not be empty.
    mutating func pick<T>(_ elements: [T]) -> T {
        elements[uniform(below: elements.count)]
    }

    /// A Fisher–Yates shuffle with a fixed algorithm.
    /// - Parameters:
    ///   - elements: The values to permute.
    mutating func shuffled<T>(_ elements: [T]) -> [T] {
        var result = elements
        var index = result.count - 1
        while index > 0 {
            let other = uniform(below: index + 1)
            result.swapAt(index, other)
            index -= 1
        }
        return result
    }

    /// `count` distinct indices of `0..<total`, in increasing order.
    /// - Parameters:
    ///   - count: How many to choose; at most `total`.
    ///   - total: The size of the population.
    mutating func sampleIndices(_ count: Int, from total: Int) -> [Int] {
        Array(shuffled(Array(0..<total)).prefix(count)).sorted()
    }
}
