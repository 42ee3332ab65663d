// Fused softmax, log-softmax and cross-entropy (mean, or per row) over the last axis, one row
// per task. Forward kernels here; their backward kernels too, called from the rules in
// Gradient.swift.

import Foundation

enum SoftmaxKernels {
    /// Max of a row.
    @inline(__always) static func rowMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vec(repeating: -.infinity), i = 0
        while i + 16 <= n { acc = VMath.max(acc, VMath.load(p + i)); i += 16 }
        var m = acc.max()
        while i < n { m = Swift.max(m, p[i]); i += 1 }
        return m
    }

    /// out = exp(x - m), returns the sum.
    @inline(__always) static func expShifted(_ x: UnsafePointer<Float>, _ m: Float, _ out: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        var acc = Vec(), i = 0
        let mv = Vec(repeating: m)
        while i + 16 <= n { let e = VMath.exp(VMath.load(x + i) - mv); VMath.store(e, out + i); acc += e; i += 16 }
        var s = acc.sum()
        while i < n { let e = Foundation.exp(x[i] - m); out[i] = e; s += e; i += 1 }
        return s
    }

    /// sum(exp(x - m)) of a row without storing the exponentials (cross-entropy over a vocabulary).
    @inline(__always) static func expSum(_ x: UnsafePointer<Float>, _ m: Float, _ n: Int) -> Float {
        var acc = Vec(), i = 0
        let mv = Vec(repeating: m)
        while i + 16 <= n { acc += VMath.exp(VMath.load(x + i) - mv); i += 16 }
        var s = acc.sum()
        while i < n { s += Foundation.exp(x[i] - m); i += 1 }
        return s
    }

    /// softmax (log == false) or log-softmax of each row of (rows, n).
    static func forward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ rows: Range<Int>, _ n: Int, log: Bool) {
        for r in rows {
            let xp = x + r * n, op = out + r * n
            let m = rowMax(xp, n)
            if m == -.infinity { op.update(repeating: log ? -.infinity : 0, count: n); continue }
            let s = expShifted(xp, m, op, n)
            if log {
                let shift = m + Foundation.log(s)
                for i in 0..<n { op[i] = xp[i] - shift }
            } else {
                let inv = 1 / s
                for i in 0..<n { op[i] *= inv }
            }
        }
    }

    /// Scalar reference of `forward` for one row.
    static func reference(_ x: [Float], log: Bool) -> [Float] {
        let m = x.max() ?? 0
        let s = x.reduce(0) { $0 + Foundation.exp($1 - m) }
        return x.map { log ? $0 - m - Foundation.log(s) : Foundation.exp($0 - m) / s }
    }

    /// dx = y * (g - sum(g * y)) for softmax; dx = g - exp(y) * sum(g) for log-softmax.
    static func backward(_ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                         _ rows: Range<Int>, _ n: Int, log: Bool) {
        for r in rows {
            let yp = y + r * n, gp = g + r * n, dp = dx + r * n
            if log {
                let s = VMath.sum(gp, n)
                ElementwiseKernels.row(n, yp, 1, gp, 1, dp, { y, g in g - VMath.exp(y) * s }, { y, g in g - Foundation.exp(y) * s })
            } else {
                let s = VMath.dot(gp, yp, n)
                for i in 0..<n { dp[i] = yp[i] * (gp[i] - s) }
            }
        }
    }
}

extension Tensor {
    /// Moves `axis` last (a view), runs `body` on a contiguous (rows, n) tensor, moves it back.
    func alongLastAxis(_ axis: Int, _ body: (Tensor) -> Tensor) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        if a == rank - 1 { return body(self) }
        return body(transposed(a, -1)).transposed(a, -1)
    }

    func softmaxLast(log: Bool) -> Tensor {
        let x = (dtype == .float32 ? self : cast(to: .float32)).contiguous()
        let n = shape.last ?? 1, rows = count / Swift.max(n, 1)
        let out = Tensor(empty: shape)
        let px = SendablePointer(x.ptr), po = SendablePointer(out.ptr)
        Parallel.forChunks(rows, grain: Swift.max(1, 4096 / Swift.max(n, 1))) { r in
            SoftmaxKernels.forward(px.p, po.p, r, n, log: log)
        }
        return out.recorded(log ? .logSoftmax : .softmax, [self], saved: [out.detached()])
    }

    /// Softmax (or log-softmax) of each last-axis row by the scalar reference kernel (test hook).
    public func referenceSoftmax(log: Bool) -> Tensor {
        let n = shape.last ?? 1, values = scalars
        let rows = stride(from: 0, to: values.count, by: Swift.max(n, 1)).flatMap {
            SoftmaxKernels.reference(Array(values[$0..<($0 + n)]), log: log)
        }
        return Tensor(rows, shape: shape)
    }

    /// exp(x) / sum(exp(x)) along `axis`, computed stably in one pass per row.
    public func softmax(axis: Int = -1) -> Tensor { alongLastAxis(axis) { $0.softmaxLast(log: false) } }

    /// x - logsumexp(x) along `axis`.
    public func logSoftmax(axis: Int = -1) -> Tensor { alongLastAxis(axis) { $0.softmaxLast(log: true) } }

    /// Mean cross-entropy of logits (N, V) (or (..., V)) against Int32 targets (N) (or (...)).
    /// - Parameters:
    ///   - targets: class ids; rows whose target equals `ignoreIndex` add nothing.
    ///   - ignoreIndex: the padding label (PyTorch's default -100).
    ///   - labelSmoothing: mixes the one-hot target with a uniform distribution (PyTorch semantics).
    public func crossEntropy(targets: Tensor, ignoreIndex: Int32 = -100, labelSmoothing: Float = 0) -> Tensor {
        let (t, lse, losses) = crossEntropyRows(targets, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing)
        let pt = t.storage.int32s + t.offset, pr = losses.ptr
        var valid = 0, sum: Double = 0
        for r in 0..<losses.count {
            if pt[r] != ignoreIndex { valid += 1 }
            sum += Double(pr[r])
        }
        let out = Tensor(scalar: valid == 0 ? 0 : Float(sum / Double(valid)))
        return out.recorded(.crossEntropy(ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing, validCount: valid),
                            [self], saved: [t, lse])
    }

    /// The cross-entropy of each row of logits (N, V) (or (..., V)) against Int32 targets (N)
    /// (or (...)): what `crossEntropy` averages, kept per row so that a caller can weight, sum
    /// or regroup the losses of single tokens.
    /// - Parameters:
    ///   - targets: class ids, one per row.
    ///   - ignoreIndex: rows with this target get a loss of 0 and no gradient.
    /// - Returns: a 1-D tensor (N), differentiable with respect to the logits.
    public func tokenCrossEntropy(targets: Tensor, ignoreIndex: Int32 = -100) -> Tensor {
        let (t, lse, losses) = crossEntropyRows(targets, ignoreIndex: ignoreIndex, labelSmoothing: 0)
        return losses.recorded(.tokenCrossEntropy(ignoreIndex: ignoreIndex), [self], saved: [t, lse])
    }

    /// The forward pass both cross-entropies share: contiguous targets, each row's log-sum-exp
    /// and each row's (smoothed) loss, 0 on ignored rows; all (N).
    func crossEntropyRows(_ targets: Tensor, ignoreIndex: Int32, labelSmoothing eps: Float) -> (Tensor, Tensor, Tensor) {
        let v = shape.last ?? 1
        let rows = count / Swift.max(v, 1)
        precondition(targets.dtype == .int32 && targets.count == rows,
                     "crossEntropy: targets must be int32 with \(rows) entries, got \(targets.dtype) \(targets.shape)")
        let x = (dtype == .float32 ? self : cast(to: .float32)).contiguous()
        let t = targets.contiguous()
        let lse = Tensor(empty: [rows]), losses = Tensor(empty: [rows])
        let px = SendablePointer(x.ptr), pt = SendablePointer(t.storage.int32s + t.offset)
        let pl = SendablePointer(lse.ptr), pr = SendablePointer(losses.ptr)
        Parallel.forChunks(rows, grain: Swift.max(1, 4096 / Swift.max(v, 1))) { rs in
            for r in rs {
                let xp = px.p + r * v
                let target = pt.p[r]
                if target == ignoreIndex { pl.p[r] = 0; pr.p[r] = 0; continue }
                precondition(target >= 0 && Int(target) < v, "crossEntropy: target \(target) out of range 0..<\(v)")
                let m = SoftmaxKernels.rowMax(xp, v)
                let s = SoftmaxKernels.expSum(xp, m, v), total = VMath.sum(xp, v)
                let l = m + Foundation.log(s)
                pl.p[r] = l
                pr.p[r] = (1 - eps) * (l - xp[Int(target)]) + eps * (l - total / Float(v))
            }
        }
        return (t, lse, losses)
    }
}

enum CrossEntropyKernels {
    /// d loss / d logits (rows, v): (softmax - (1-eps) onehot - eps/v) * rowScale(r), 0 on ignored
    /// rows. The mean loss scales every row by g / valid; per-row losses scale row r by g[r].
    static func backward(_ x: Tensor, _ targets: Tensor, _ lse: Tensor, ignoreIndex: Int32, eps: Float,
                         rowScale: (Int) -> Float) -> Tensor {
        let v = x.shape.last ?? 1, rows = x.count / Swift.max(v, 1)
        let xc = x.cast(to: .float32).contiguous()
        let dx = Tensor(empty: x.shape)
        let px = SendablePointer(xc.ptr), pt = SendablePointer(targets.storage.int32s + targets.offset)
        let pl = SendablePointer(lse.ptr), pd = SendablePointer(dx.ptr)
        Parallel.forChunks(rows, grain: Swift.max(1, 4096 / Swift.max(v, 1))) { rs in
            for r in rs {
                let xp = px.p + r * v, dp = pd.p + r * v
                let target = pt.p[r]
                if target == ignoreIndex { dp.update(repeating: 0, count: v); continue }
                let l = pl.p[r], uniform = eps / Float(v), scale = rowScale(r)
                var i = 0
                let lv = Vec(repeating: l), sv = Vec(repeating: scale), uv = Vec(repeating: uniform)
                while i + 16 <= v { VMath.store((VMath.exp(VMath.load(xp + i) - lv) - uv) * sv, dp + i); i += 16 }
                while i < v { dp[i] = (Foundation.exp(xp[i] - l) - uniform) * scale; i += 1 }
                dp[Int(target)] -= (1 - eps) * scale
            }
        }
        return dx
    }
}
