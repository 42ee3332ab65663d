// Adafactor (Shazeer & Stern 2018) as T5 and FLAN train with it, matching transformers'
// `Adafactor`: factored second moments for rank >= 2, update clipping (clip_threshold),
// relative step sizes (min(1e-2, 1/sqrt(t)), or 1e-6*t with warmup_init), parameter scaling by
// RMS, decay rate -0.8, optional beta1 and weight decay.

import Foundation
import Tensor

/// Adafactor with transformers' semantics and defaults (Float32 parameters; pointer loops, no per-step arrays).
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
            guard let g = gradientBuffer(p), p.dtype == .float32 else { continue }
            slots[i].step += 1
            let t = slots[i].step
            let n = p.count
            let update = Tensor.zeros([n])                                   // (n)
            p.withUnsafeMutableFloats { w in g.withUnsafeMutableFloats { gr in update.withUnsafeMutableFloats { u in
                guard let wp = w.baseAddress, let gp = gr.baseAddress, let up = u.baseAddress else { return }
                slots[i].rms = rms(wp, n)
                let lr = stepSize(step: t, rms: slots[i].rms)
                let beta2t = 1 - Foundation.pow(Float(t), decayRate)
                if let rowT = slots[i].row, let colT = slots[i].col {
                    let c = p.shape[p.rank - 1], r = p.shape[p.rank - 2]
                    rowT.withUnsafeMutableFloats { row in colT.withUnsafeMutableFloats { col in
                        guard let rowp = row.baseAddress, let colp = col.baseAddress else { return }
                        factoredUpdate(gp, up, rowp, colp, batches: n / Swift.max(r * c, 1), r: r, c: c, beta2t: beta2t)
                    } }
                } else if let fullT = slots[i].full {
                    fullT.withUnsafeMutableFloats { v in
                        guard let vp = v.baseAddress else { return }
                        for k in 0..<n {
                            vp[k] = beta2t * vp[k] + (1 - beta2t) * (gp[k] * gp[k] + eps1)
                            up[k] = (1 / vp[k].squareRoot()) * gp[k]
                        }
                    }
                }
                let scale = lr / Swift.max(1, rms(up, n) / clipThreshold)
                for k in 0..<n { up[k] *= scale }
                if let b1 = beta1, let avgT = slots[i].avg {
                    avgT.withUnsafeMutableFloats { avg in
                        guard let ap = avg.baseAddress else { return }
                        for k in 0..<n { ap[k] = b1 * ap[k] + (1 - b1) * up[k]; up[k] = ap[k] }
                    }
                }
                let decay = -weightDecay * lr
                if weightDecay != 0 { for k in 0..<n { wp[k] += wp[k] * decay } }
                for k in 0..<n { wp[k] -= up[k] }
            } } }
        }
    }

    /// Factored second moments over (batches, r, c): row/column running means of g^2 + eps1,
    /// then update = g / sqrt(row / mean(row) * col) (transformers' _approx_sq_grad).
    private func factoredUpdate(_ g: UnsafeMutablePointer<Float>, _ u: UnsafeMutablePointer<Float>,
                                _ row: UnsafeMutablePointer<Float>, _ col: UnsafeMutablePointer<Float>,
                                batches: Int, r: Int, c: Int, beta2t: Float) {
        let colSums = Tensor.zeros([c])
        colSums.withUnsafeMutableFloats { sums in
            guard let cs = sums.baseAddress else { return }
            for b in 0..<batches {
                let base = g + b * r * c, rowb = row + b * r, colb = col + b * c
                for k in 0..<c { cs[k] = 0 }
                for ri in 0..<r {
                    let gr = base + ri * c
                    var s: Float = 0
                    for k in 0..<c {
                        let q = gr[k] * gr[k] + eps1
                        s += q
                        cs[k] += q
                    }
                    rowb[ri] = beta2t * rowb[ri] + (1 - beta2t) * (s / Float(c))
                }
                for k in 0..<c { colb[k] = beta2t * colb[k] + (1 - beta2t) * (cs[k] / Float(r)) }
                var rowMean: Float = 0
                for ri in 0..<r { rowMean += rowb[ri] }
                rowMean /= Float(r)
                for k in 0..<c { cs[k] = 1 / colb[k].squareRoot() }           // column factors
                for ri in 0..<r {
                    let rFactor = 1 / (rowb[ri] / rowMean).squareRoot()
                    let gr = base + ri * c, ur = u + b * r * c + ri * c
                    for k in 0..<c { ur[k] = rFactor * cs[k] * gr[k] }
                }
            }
        }
    }

    private func rms(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        var s: Float = 0
        for k in 0..<n { s += x[k] * x[k] }
        return s.squareRoot() / Float(Swift.max(n, 1)).squareRoot()
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
