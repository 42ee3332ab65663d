// Fused layer norm and RMS norm over the last axis (llm.c's layernorm_forward/backward).
// Weight/bias gradients are summed in fixed 32-row blocks, then the blocks in order, so they
// do not depend on the thread count.

import Foundation

enum NormKernels {
    static let blockRows = 32

    /// y = (x - mean) * rstd * w + b per row; saves mean and rstd (rms: mean unused, no b).
    static func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                        _ y: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>,
                        _ rstd: UnsafeMutablePointer<Float>, _ rows: Range<Int>, _ c: Int, _ eps: Float, rms: Bool) {
        for r in rows {
            let xp = x + r * c, yp = y + r * c
            var m: Float = 0
            if !rms {
                var acc = Vec(), i = 0
                while i + 16 <= c { acc += VMath.load(xp + i); i += 16 }
                m = acc.sum()
                while i < c { m += xp[i]; i += 1 }
                m /= Float(c)
            }
            var acc = Vec(), i = 0
            let mv = Vec(repeating: m)
            while i + 16 <= c { let d = VMath.load(xp + i) - mv; acc += d * d; i += 16 }
            var v = acc.sum()
            while i < c { let d = xp[i] - m; v += d * d; i += 1 }
            let s = 1 / (v / Float(c) + eps).squareRoot()
            mean[r] = m
            rstd[r] = s
            i = 0
            let sv = Vec(repeating: s)
            if let b {
                while i + 16 <= c { VMath.store((VMath.load(xp + i) - mv) * sv * VMath.load(w + i) + VMath.load(b + i), yp + i); i += 16 }
                while i < c { yp[i] = (xp[i] - m) * s * w[i] + b[i]; i += 1 }
            } else {
                while i + 16 <= c { VMath.store((VMath.load(xp + i) - mv) * sv * VMath.load(w + i), yp + i); i += 16 }
                while i < c { yp[i] = (xp[i] - m) * s * w[i]; i += 1 }
            }
        }
    }

    /// dx per row; dw (and db) partial sums of this block of rows into dwPart/dbPart.
    static func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                         _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                         _ dwPart: UnsafeMutablePointer<Float>, _ dbPart: UnsafeMutablePointer<Float>?,
                         _ rows: Range<Int>, _ c: Int, rms: Bool) {
        dwPart.update(repeating: 0, count: c)
        dbPart?.update(repeating: 0, count: c)
        for r in rows {
            let xp = x + r * c, gp = g + r * c, dp = dx + r * c
            let m = rms ? 0 : mean[r], s = rstd[r]
            var accMean = Vec(), accNorm = Vec(), i = 0
            let mv = Vec(repeating: m), sv = Vec(repeating: s)
            while i + 16 <= c {
                let xhat = (VMath.load(xp + i) - mv) * sv, gv = VMath.load(gp + i)
                let dnorm = gv * VMath.load(w + i)
                accMean += dnorm
                accNorm += dnorm * xhat
                VMath.store(VMath.load(dwPart + i) + gv * xhat, dwPart + i)
                i += 16
            }
            var dnormMean = accMean.sum(), dnormNormMean = accNorm.sum()
            while i < c {
                let xhat = (xp[i] - m) * s
                let dnorm = gp[i] * w[i]
                dnormMean += dnorm
                dnormNormMean += dnorm * xhat
                dwPart[i] += gp[i] * xhat
                i += 1
            }
            if let db = dbPart { for i in 0..<c { db[i] += gp[i] } }
            dnormMean /= Float(c)
            dnormNormMean /= Float(c)
            if rms { dnormMean = 0 }
            for i in 0..<c {
                let xhat = (xp[i] - m) * s
                dp[i] = (gp[i] * w[i] - dnormMean - xhat * dnormNormMean) * s
            }
        }
    }
}

extension Tensor {
    func normForward(weight: Tensor, bias: Tensor?, eps: Float, rms: Bool) -> Tensor {
        let c = shape.last ?? 1
        precondition(weight.shape == [c] && (bias == nil || bias?.shape == [c]),
                     "norm: weight/bias must be [\(c)], got \(weight.shape) \(bias?.shape ?? [])")
        let x = (dtype == .float32 ? self : cast(to: .float32)).contiguous()
        let w = weight.cast(to: .float32).contiguous(), b = bias?.cast(to: .float32).contiguous()
        let rows = count / Swift.max(c, 1)
        let y = Tensor(empty: shape), mean = Tensor(empty: [rows]), rstd = Tensor(empty: [rows])
        let px = SendablePointer(x.ptr), pw = SendablePointer(w.ptr), pb = b.map { SendablePointer($0.ptr) }
        let py = SendablePointer(y.ptr), pm = SendablePointer(mean.ptr), ps = SendablePointer(rstd.ptr)
        Parallel.forChunks(rows, grain: Swift.max(1, 4096 / Swift.max(c, 1))) { r in
            NormKernels.forward(px.p, pw.p, pb?.p, py.p, pm.p, ps.p, r, c, eps, rms: rms)
        }
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        return y.recorded(rms ? .rmsNorm : .layerNorm, inputs, saved: [x, mean, rstd])
    }

    /// Layer norm over the last axis: (x - mean) / sqrt(var + eps) * weight + bias.
    public func layerNorm(weight: Tensor, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        normForward(weight: weight, bias: bias, eps: eps, rms: false)
    }

    /// RMS norm over the last axis (T5, Llama): x / sqrt(mean(x^2) + eps) * weight.
    public func rmsNorm(weight: Tensor, eps: Float = 1e-6) -> Tensor {
        normForward(weight: weight, bias: nil, eps: eps, rms: true)
    }
}

enum NormBackward {
    /// Gradients (dx, dw, db?) for a norm recorded with saved [x, mean, rstd].
    static func run(_ g: Tensor, x: Tensor, weight: Tensor, hasBias: Bool, mean: Tensor, rstd: Tensor, rms: Bool)
        -> (Tensor, Tensor, Tensor?) {
        let c = x.shape.last ?? 1, rows = x.count / Swift.max(c, 1)
        let gc = g.contiguous(), w = weight.cast(to: .float32).contiguous()
        let dx = Tensor(empty: x.shape)
        let blocks = (rows + NormKernels.blockRows - 1) / NormKernels.blockRows
        let dwParts = Tensor(empty: [Swift.max(blocks, 1), c]), dbParts = Tensor(empty: [Swift.max(blocks, 1), c])
        let px = SendablePointer(x.ptr), pw = SendablePointer(w.ptr), pg = SendablePointer(gc.ptr)
        let pm = SendablePointer(mean.ptr), ps = SendablePointer(rstd.ptr), pd = SendablePointer(dx.ptr)
        let pdw = SendablePointer(dwParts.ptr), pdb = SendablePointer(dbParts.ptr)
        Parallel.forChunks(blocks, grain: 1) { bs in
            for blk in bs {
                let lo = blk * NormKernels.blockRows, hi = Swift.min(rows, lo + NormKernels.blockRows)
                NormKernels.backward(px.p, pw.p, pg.p, pm.p, ps.p, pd.p, pdw.p + blk * c,
                                     hasBias ? pdb.p + blk * c : nil, lo..<hi, c, rms: rms)
            }
        }
        let dw = Tensor(empty: [c], zeroed: true), db = Tensor(empty: [c], zeroed: true)
        for blk in 0..<blocks {
            for i in 0..<c { dw.ptr[i] += pdw.p[blk * c + i] }
            if hasBias { for i in 0..<c { db.ptr[i] += pdb.p[blk * c + i] } }
        }
        return (dx, dw, hasBias ? db : nil)
    }
}
