// Fused scaled-dot-product attention with causal and padding masks, an additive (trainable)
// position bias for T5, a free scale (T5 uses 1), and grouped-query heads (Llama GQA).
// Per (batch, head): S = scale * Q K^T + bias, masked, softmax -> P (saved), O = P V.

import Foundation

extension Tensor {
    /// Scaled-dot-product attention.
    /// - Parameters:
    ///   - query: (B, H, Tq, D); key, value: (B, Hkv, Tk, D) with H a multiple of Hkv.
    ///   - mask: optional, broadcastable to (B, H, Tq, Tk); 0 hides a key (e.g. padding: (B, 1, 1, Tk)).
    ///   - bias: optional additive scores broadcastable to (B, H, Tq, Tk), differentiable (T5's
    ///     relative position bias).
    ///   - causal: query i sees keys up to i + Tk - Tq (works with a KV cache).
    ///   - scale: multiplies Q K^T; pass 1 for T5, 1/sqrt(D) otherwise (the default when nil).
    /// - Returns: (B, H, Tq, D), stored as (B, Tq, H, D) so `transposed(1, 2).reshaped([B, Tq, H*D])` is free.
    public static func attention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil, bias: Tensor? = nil,
                                 causal: Bool = false, scale: Float? = nil) -> Tensor {
        precondition(query.rank == 4 && key.rank == 4 && value.rank == 4, "attention: q, k, v must be rank 4")
        let (b, h, tq, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        let hkv = key.shape[1], tk = key.shape[2]
        precondition(key.shape == [b, hkv, tk, d] && value.shape == key.shape && hkv > 0 && h % hkv == 0,
                     "attention: q \(query.shape), k \(key.shape), v \(value.shape) do not fit (B, H, T, D)")
        let groups = h / hkv
        let s = scale ?? 1 / Float(d).squareRoot()
        let q = query.lastDimUnit(), k = key.lastDimUnit(), v = value.lastDimUnit()
        let full = [b, h, tq, tk]
        let maskView = mask.map { $0.cast(to: .float32).detached().expanded(to: full) }
        let biasView = bias.map { $0.cast(to: .float32).detached().expanded(to: full) }
        let probs = Tensor(empty: full)                                   // (B, H, Tq, Tk)
        let outPhys = Tensor(empty: [b, tq, h, d])                        // (B, Tq, H, D)
        let pq = SendablePointer(q.ptr), pk = SendablePointer(k.ptr), pv = SendablePointer(v.ptr)
        let pp = SendablePointer(probs.ptr), po = SendablePointer(outPhys.ptr)
        let pmask = maskView.map { SendablePointer($0.ptr) }, pbias = biasView.map { SendablePointer($0.ptr) }
        Gemm.batched(b * h, flopsEach: 4 * tq * tk * d) { i in
            let bi = i / h, hi = i % h, kvh = hi / groups
            let qp = pq.p + bi * q.strides[0] + hi * q.strides[1]
            let kp = pk.p + bi * k.strides[0] + kvh * k.strides[1]
            let vp = pv.p + bi * v.strides[0] + kvh * v.strides[1]
            let p = pp.p + i * tq * tk
            Gemm.sgemm(false, true, tq, tk, d, s, qp, q.strides[2], kp, k.strides[2], 0, p, tk)
            for r in 0..<tq {
                let row = p + r * tk
                if let bv = biasView, let pb = pbias {
                    let st = bv.strides, base = pb.p + bi * st[0] + hi * st[1] + r * st[2]
                    for j in 0..<tk { row[j] += base[j * st[3]] }
                }
                if let mv = maskView, let pm = pmask {
                    let st = mv.strides, base = pm.p + bi * st[0] + hi * st[1] + r * st[2]
                    for j in 0..<tk where base[j * st[3]] == 0 { row[j] = -.infinity }
                }
                if causal {
                    let last = r + tk - tq
                    if last + 1 < tk { (row + Swift.max(last + 1, 0)).update(repeating: -.infinity, count: tk - Swift.max(last + 1, 0)) }
                }
                SoftmaxKernels.forward(row, row, 0..<1, tk, log: false)
            }
            Gemm.sgemm(false, false, tq, d, tk, 1, p, tk, vp, v.strides[2], 0, po.p + bi * tq * h * d + hi * d, h * d)
        }
        let out = Tensor(storage: outPhys.storage, shape: [b, h, tq, d], strides: [tq * h * d, d, h * d, 1])
        let inputs = [query, key, value] + (bias.map { [$0] } ?? [])
        return out.recorded(.attention(scale: s, causal: causal, kvGroups: groups), inputs, saved: [probs])
    }

    /// This tensor, or a contiguous copy when its last dimension is not unit-stride.
    func lastDimUnit() -> Tensor {
        let t = dtype == .float32 ? detached() : cast(to: .float32).detached()
        return (t.strides.last == 1 || t.shape.last == 1) && t.strides[t.rank - 2] >= t.shape[t.rank - 1] ? t : t.contiguousCopy()
    }
}

enum AttentionBackward {
    /// Gradients (dq, dk, dv, dScores?) given the upstream gradient g (B, H, Tq, D).
    static func run(_ g: Tensor, query: Tensor, key: Tensor, value: Tensor, probs: Tensor, scale: Float,
                    groups: Int, needScores: Bool) -> (Tensor, Tensor, Tensor, Tensor?) {
        let (b, h, tq, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        let hkv = key.shape[1], tk = key.shape[2]
        let q = query.lastDimUnit(), k = key.lastDimUnit(), v = value.lastDimUnit(), dout = g.lastDimUnit()
        let dq = Tensor(empty: query.shape), dk = Tensor(empty: key.shape), dv = Tensor(empty: value.shape)
        let dScores = needScores ? Tensor(empty: [b, h, tq, tk]) : nil
        let pq = SendablePointer(q.ptr), pk = SendablePointer(k.ptr), pv = SendablePointer(v.ptr)
        let pg = SendablePointer(dout.ptr), pp = SendablePointer(probs.ptr)
        let pdq = SendablePointer(dq.ptr), pdk = SendablePointer(dk.ptr), pdv = SendablePointer(dv.ptr)
        let pds = dScores.map { SendablePointer($0.ptr) }
        Gemm.batched(b * hkv, flopsEach: 8 * tq * tk * d * groups) { i in
            let bi = i / hkv, kvh = i % hkv
            let scratch = Tensor(empty: [tq, tk])
            let ds = scratch.ptr
            let kp = pk.p + bi * k.strides[0] + kvh * k.strides[1], ldk = k.strides[2]
            let vp = pv.p + bi * v.strides[0] + kvh * v.strides[1], ldv = v.strides[2]
            let dkp = pdk.p + (bi * hkv + kvh) * tk * d, dvp = pdv.p + (bi * hkv + kvh) * tk * d
            for hi in (kvh * groups)..<((kvh + 1) * groups) {
                let first: Float = hi == kvh * groups ? 0 : 1
                let p = pp.p + (bi * h + hi) * tq * tk
                let gp = pg.p + bi * dout.strides[0] + hi * dout.strides[1], ldg = dout.strides[2]
                let qp = pq.p + bi * q.strides[0] + hi * q.strides[1], ldq = q.strides[2]
                Gemm.sgemm(true, false, tk, d, tq, 1, p, tk, gp, ldg, first, dvp, d)      // dV += P^T dO
                Gemm.sgemm(false, true, tq, tk, d, 1, gp, ldg, vp, ldv, 0, ds, tk)       // dP = dO V^T
                for r in 0..<tq {
                    let pr = p + r * tk, dr = ds + r * tk
                    let dot = VMath.dot(pr, dr, tk)
                    for j in 0..<tk { dr[j] = pr[j] * (dr[j] - dot) }                    // dS
                }
                if let pds { (pds.p + (bi * h + hi) * tq * tk).update(from: ds, count: tq * tk) }
                Gemm.sgemm(false, false, tq, d, tk, scale, ds, tk, kp, ldk, 0, pdq.p + (bi * h + hi) * tq * d, d)
                Gemm.sgemm(true, false, tk, d, tq, scale, ds, tk, qp, ldq, first, dkp, d)
            }
        }
        return (dq, dk, dv, dScores)
    }
}
