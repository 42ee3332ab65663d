// Learning-rate schedules as multipliers of the base rate, with Hugging Face's formulas:
// constant, linear warm-up then linear decay, inverse square root, cosine.

import Foundation

/// A learning-rate multiplier as a function of the step (0-based, before the update).
public enum LRSchedule: Sendable, Equatable {
    /// Always 1, after an optional linear warm-up.
    case constant(warmup: Int = 0)
    /// Linear warm-up over `warmup` steps, then linear decay to 0 at `total` (get_linear_schedule_with_warmup).
    case linear(warmup: Int, total: Int)
    /// Linear warm-up, then sqrt(warmup / step) (T5's 1/sqrt(max(step, warmup)) up to a constant).
    case inverseSqrt(warmup: Int)
    /// Linear warm-up, then half a cosine down to `minRatio` at `total` (get_cosine_schedule_with_warmup).
    case cosine(warmup: Int, total: Int, minRatio: Float = 0)

    /// The multiplier at `step`.
    public func factor(step: Int) -> Float {
        switch self {
        case .constant(let w):
            return step < w ? Float(step) / Float(Swift.max(1, w)) : 1
        case let .linear(w, total):
            if step < w { return Float(step) / Float(Swift.max(1, w)) }
            return Swift.max(0, Float(total - step) / Float(Swift.max(1, total - w)))
        case .inverseSqrt(let w):
            if step < w { return Float(step) / Float(Swift.max(1, w)) }
            return (Float(Swift.max(w, 1)) / Float(Swift.max(step, 1))).squareRoot()
        case let .cosine(w, total, minRatio):
            if step < w { return Float(step) / Float(Swift.max(1, w)) }
            let progress = Float(step - w) / Float(Swift.max(1, total - w))
            let cosine = 0.5 * (1 + Foundation.cos(Float.pi * Swift.min(progress, 1)))
            return minRatio + (1 - minRatio) * cosine
        }
    }

    /// `base * factor(step)`.
    public func learningRate(base: Float, step: Int) -> Float { base * factor(step: step) }

    /// A schedule's shape by name, as settings, checkpoints and the command line write it.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Constant after warm-up.
        case constant
        /// Linear decay to 0 at the last step.
        case linear
        /// Half a cosine down to 0 at the last step.
        case cosine
        /// sqrt(warmup / step) after warm-up.
        case inverseSqrt = "inverse-sqrt"
    }

    /// The schedule of shape `kind` with `warmup` steps, for a run of `total` steps.
    public init(_ kind: Kind, warmup: Int, total: Int) {
        switch kind {
        case .constant: self = .constant(warmup: warmup)
        case .linear: self = .linear(warmup: warmup, total: total)
        case .cosine: self = .cosine(warmup: warmup, total: total)
        case .inverseSqrt: self = .inverseSqrt(warmup: warmup)
        }
    }
}
