// Adafactor (Shazeer & Stern 2018) as T5 and FLAN train with it, matching transformers'
// `Adafactor`: factored second moments for rank >= 2, update clipping (clip_threshold),
// relative step sizes (min(1e-2, 1/sqrt(t)), or 1e-6*t with warmup_init), parameter scaling by
// RMS, decay rate -0.8, optional beta1 and weight decay.

import Foundation
import Tensor

/// Adafactor with transformers' semantics and defaults.
public final class Adafactor: Optimizer {
    public let parameters: [(String, Tensor)]
    /// Used only when `relativeStep` is false.
    public var learningRate: Float
    public let eps1: Float, eps2: Float, clipThreshold: Float, decayRate: Float
    public let beta1: Float?, weightDecay: Float
    public let scaleParameter: Bool, relativeStep: Bool, warmupInit: Bool

    private struct Slots {
        var step = 0
        var rms: Float = 0
        var row: Tensor?, col: Tensor?, full: Tensor?, avg: Tensor?
    }
    private var slots: [Slots]

    /// Defaults as in transformers: lr None with relative steps, eps (1e-30, 1e-3), clip 1.0,
    /// decay -0.8, no beta1, no weight decay, scale_parameter and relative_step on.
    public init(_ parameters: [(String, Tensor)], learningRate: Float? = nil, eps1: Float = 1e-30, eps2: Float = 1e-3,
                clipThreshold: Float = 1.0, decayRate: Float = -0.8, beta1: Float? = nil, weightDecay: Float = 0,
                scaleParameter: Bool = true, relativeStep: Bool = true, warmupInit: Bool = false) {
        precondition(!(learningRate != nil && relativeStep), "Adafactor: a manual learningRate needs relativeStep: false")
        precondition(!(warmupInit && !relativeStep), "Adafactor: warmupInit needs relativeStep: true")
        self.parameters = parameters
        self.learningRate = learningRate ?? 0
        self.eps1 = eps1
        self.eps2 = eps2
        self.clipThreshold = clipThreshold
        self.decayRate = decayRate
        self.beta1 = beta1
        self.weightDecay = weightDecay
        self.scaleParameter = scaleParameter
        self.relativeStep = relativeStep
        self.warmupInit = warmupInit
        slots = parameters.map { _, p in
            var s = Slots()
            if p.rank >= 2 {
                s.row = Tensor.zeros(Array(p.shape.dropLast()))
                s.col = Tensor.zeros(Array(p.shape.dropLast(2)) + [p.shape[p.rank - 1]])
            } else {
                s.full = Tensor.zeros(p.shape)
            }
            if beta1 != nil { s.avg = Tensor.zeros(p.shape) }
            return s
        }
    }

    /// The step size for a parameter at `step` with parameter RMS `rms` (transformers' _get_lr).
    func stepSize(step: Int, rms: Float) -> Float {
        var size = learningRate
        if relativeStep {
            let minStep: Float = warmupInit ? 1e-6 * Float(step) : 1e-2
            size = Swift.min(minStep, 1 / Float(step).squareRoot())
        }
        return (scaleParameter ? Swift.max(eps2, rms) : 1) * size
    }

    public func step() {
        for (i, (_, p)) in parameters.enumerated() {
            guard let gt = gradientBuffer(p) else { continue }
            let g = gt.scalars
            var w = p.scalars
            let n = w.count
            slots[i].step += 1
            let t = slots[i].step
            slots[i].rms = rms(w)
            let lr = stepSize(step: t, rms: slots[i].rms)
            let beta2t = 1 - Foundation.pow(Float(t), decayRate)
            var update = [Float](repeating: 0, count: n)
            if let rowT = slots[i].row, let colT = slots[i].col {
                let c = p.shape[p.rank - 1], r = p.shape[p.rank - 2], batches = n / Swift.max(r * c, 1)
                var row = rowT.scalars, col = colT.scalars
                for b in 0..<batches {
                    let base = b * r * c
                    for ri in 0..<r {
                        var s: Float = 0
                        for ci in 0..<c { s += g[base + ri * c + ci] * g[base + ri * c + ci] + eps1 }
                        row[b * r + ri] = beta2t * row[b * r + ri] + (1 - beta2t) * (s / Float(c))
                    }
                    for ci in 0..<c {
                        var s: Float = 0
                        for ri in 0..<r { s += g[base + ri * c + ci] * g[base + ri * c + ci] + eps1 }
                        col[b * c + ci] = beta2t * col[b * c + ci] + (1 - beta2t) * (s / Float(r))
                    }
                    var rowMean: Float = 0
                    for ri in 0..<r { rowMean += row[b * r + ri] }
                    rowMean /= Float(r)
                    for ri in 0..<r {
                        let rFactor = 1 / (row[b * r + ri] / rowMean).squareRoot()
                        for ci in 0..<c {
                            let k = base + ri * c + ci
                            update[k] = rFactor * (1 / col[b * c + ci].squareRoot()) * g[k]
                        }
                    }
                }
                rowT.assign(row)
                colT.assign(col)
            } else if let fullT = slots[i].full {
                var v = fullT.scalars
                for k in 0..<n {
                    v[k] = beta2t * v[k] + (1 - beta2t) * (g[k] * g[k] + eps1)
                    update[k] = (1 / v[k].squareRoot()) * g[k]
                }
                fullT.assign(v)
            }
            let clip = Swift.max(1, rms(update) / clipThreshold)
            for k in 0..<n { update[k] = update[k] / clip * lr }
            if let b1 = beta1, let avgT = slots[i].avg {
                var avg = avgT.scalars
                for k in 0..<n { avg[k] = b1 * avg[k] + (1 - b1) * update[k]; update[k] = avg[k] }
                avgT.assign(avg)
            }
            if weightDecay != 0 { for k in 0..<n { w[k] += w[k] * (-weightDecay * lr) } }
            for k in 0..<n { w[k] -= update[k] }
            p.assign(w)
        }
    }

    private func rms(_ x: [Float]) -> Float {
        var s: Float = 0
        for v in x { s += v * v }
        return s.squareRoot() / Float(Swift.max(x.count, 1)).squareRoot()
    }

    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, (name, _)) in parameters.enumerated() {
            let s = slots[i]
            out[name + ".step"] = Tensor(scalar: Float(s.step))
            out[name + ".RMS"] = Tensor(scalar: s.rms)
            if let r = s.row { out[name + ".exp_avg_sq_row"] = r }
            if let c = s.col { out[name + ".exp_avg_sq_col"] = c }
            if let f = s.full { out[name + ".exp_avg_sq"] = f }
            if let a = s.avg { out[name + ".exp_avg"] = a }
        }
        return out
    }

    public func loadStateDict(_ state: [String: Tensor]) throws {
        for (i, (name, _)) in parameters.enumerated() {
            slots[i].step = Int(try loadScalar(state, name + ".step"))
            slots[i].rms = try loadScalar(state, name + ".RMS")
            if let r = slots[i].row { try loadSlot(state, name + ".exp_avg_sq_row", into: r) }
            if let c = slots[i].col { try loadSlot(state, name + ".exp_avg_sq_col", into: c) }
            if let f = slots[i].full { try loadSlot(state, name + ".exp_avg_sq", into: f) }
            if let a = slots[i].avg { try loadSlot(state, name + ".exp_avg", into: a) }
        }
    }
}
