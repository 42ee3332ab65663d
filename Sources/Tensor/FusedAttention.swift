// Fused scaled-dot-product attention with causal and padding masks, an additive (trainable)
// position bias for T5, a free scale (T5 uses 1), and grouped-query heads (Llama GQA).
// Per (batch, head): S = scale * Q K^T + bias, masked, softmax -> P (saved), O = P V.

import Foundation

/// Where attention is computed when a batch row holds several sequences (packed rows): per batch
/// row, blocks of queries and the keys they may see. Queries outside every block get zeros;
/// keys outside a query's block get probability 0 without being scored, so a packed row costs
/// the sum of its sequences' squared lengths instead of the row's. Each query belongs to at
/// most one block.
public final class AttentionBlocks: @unchecked Sendable {
    /// One block: queries `queries` see keys `keys` (further limited by `causal` and any mask).
    public struct Block: Hashable, Sendable {
        public var queries: Range<Int>
        public var keys: Range<Int>
        public init(queries: Range<Int>, keys: Range<Int>) {
            self.queries = queries
            self.keys = keys
        }
    }

    /// The blocks of each batch row.
    public let rows: [[Block]]

    /// Blocks per batch row.
    public init(_ rows: [[Block]]) { self.rows = rows }

    /// Blocks where every sequence attends to itself: one block per (start, end) range.
    public static func diagonal(_ segments: [[Range<Int>]]) -> AttentionBlocks {
        AttentionBlocks(segments.map { $0.map { Block(queries: $0, keys: $0) } })
    }
}

extension Tensor {
    /// Scaled-dot-product attention.
    /// - Parameters:
    ///   - query: (B, H, Tq, D); key, value: (B, Hkv, Tk, D) with H a multiple of Hkv.
    ///   - mask: optional, broadcastable to (B, H, Tq, Tk); 0 hides a key (e.g. padding: (B, 1, 1, Tk)).
    ///   - bias: optional additive scores broadcastable to (B, H, Tq, Tk), differentiable (T5's
    ///     relative position bias).
    ///   - causal: query i sees keys up to i + Tk - Tq (works with a KV cache).
    ///   - scale: multiplies Q K^T; pass 1 for T5, 1/sqrt(D) otherwise (the default when nil).
    ///   - blocks: computes only these (query, key) blocks of each batch row (packed rows); the
    ///     result equals masking everything outside them, at a fraction of the cost.
    /// - Returns: (B, H, Tq, D), stored as (B, Tq, H, D) so `transposed(1, 2).reshaped([B, Tq, H*D])` is free.
    public static func attention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil, bias: Tensor? = nil,
                                 causal: Bool = false, scale: Float? = nil, blocks: AttentionBlocks? = nil) -> Tensor {
        precondition(query.rank == 4 && key.rank == 4 && value.rank == 4, "attention: q, k, v must be rank 4")
        let (b, h, tq, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        let hkv = key.shape[1], tk = key.shape[2]
        precondition(key.shape == [b, hkv, tk, d] && value.shape == key.shape && hkv > 0 && h % hkv == 0,
                     "attention: q \(query.shape), k \(key.shape), v \(value.shape) do not fit (B, H, T, D)")
        let groups = h / hkv
        let s = scale ?? 1 / Float(d).squareRoot()
        if let blocks {
            precondition(blocks.rows.count == b, "attention: \(blocks.rows.count) block rows for a batch of \(b)")
            for block in blocks.rows.joined() {
                precondition(block.queries.lowerBound >= 0 && block.queries.upperBound <= tq && block.keys.lowerBound >= 0
                             && block.keys.upperBound <= tk, "attention: block \(block) outside (\(tq), \(tk))")
            }
        }
        let q = query.lastDimUnit(), k = key.lastDimUnit(), v = value.lastDimUnit()
        let full = [b, h, tq, tk]
        let maskView = mask.map { $0.cast(to: .float32).detached().expanded(to: full) }
        let biasView = bias.map { $0.cast(to: .float32).detached().expanded(to: full) }
        let probs = Tensor(empty: full)                                   // (B, H, Tq, Tk)
        let outPhys = Tensor(empty: [b, tq, h, d])                        // (B, Tq, H, D)
        let pq = SendablePointer(q.ptr), pk = SendablePointer(k.ptr), pv = SendablePointer(v.ptr)
        let pp = SendablePointer(probs.ptr), po = SendablePointer(outPhys.ptr)
        let pmask = maskView.map { SendablePointer($0.ptr) }, pbias = biasView.map { SendablePointer($0.ptr) }
        let rowBlocks: [[AttentionBlocks.Block]] = blocks?.rows
            ?? Array(repeating: [AttentionBlocks.Block(queries: 0..<tq, keys: 0..<tk)], count: b)
        if blocks != nil {
            probs.ptr.update(repeating: 0, count: probs.count)
            outPhys.ptr.update(repeating: 0, count: outPhys.count)
        }
        let work = blocks.map { $0.rows.joined().reduce(0) { $0 + $1.queries.count * $1.keys.count } / Swift.max(b, 1) } ?? tq * tk
        Gemm.batched(b * h, flopsEach: 4 * work * d) { i in
            let bi = i / h, hi = i % h, kvh = hi / groups
            let qp = pq.p + bi * q.strides[0] + hi * q.strides[1]
            let kp = pk.p + bi * k.strides[0] + kvh * k.strides[1]
            let vp = pv.p + bi * v.strides[0] + kvh * v.strides[1]
            let p = pp.p + i * tq * tk
            for block in rowBlocks[bi] where !block.queries.isEmpty && !block.keys.isEmpty {
                let (q0, k0, nq, nk) = (block.queries.lowerBound, block.keys.lowerBound, block.queries.count, block.keys.count)
                let pb0 = p + q0 * tk + k0
                Gemm.sgemm(false, true, nq, nk, d, s, qp + q0 * q.strides[2], q.strides[2], kp + k0 * k.strides[2], k.strides[2], 0, pb0, tk)
                for r in block.queries {
                    let row = p + r * tk + k0
                    if let bv = biasView, let pb = pbias {
                        let st = bv.strides, base = pb.p + bi * st[0] + hi * st[1] + r * st[2] + k0 * st[3]
                        for j in 0..<nk { row[j] += base[j * st[3]] }
                    }
                    if let mv = maskView, let pm = pmask {
                        let st = mv.strides, base = pm.p + bi * st[0] + hi * st[1] + r * st[2] + k0 * st[3]
                        for j in 0..<nk where base[j * st[3]] == 0 { row[j] = -.infinity }
                    }
                    if causal {
                        // Absolute positions: query r sees keys up to r + Tk - Tq.
                        let last = r + tk - tq
                        let from = Swift.min(Swift.max(last + 1 - k0, 0), nk)
                        if from < nk { (row + from).update(repeating: -.infinity, count: nk - from) }
                    }
                    SoftmaxKernels.forward(row, row, 0..<1, nk, log: false)
                }
                Gemm.sgemm(false, false, nq, d, nk, 1, pb0, tk, vp + k0 * v.strides[2], v.strides[2], 0,
                           po.p + bi * tq * h * d + q0 * h * d + hi * d, h * d)
            }
        }
        let out = Tensor(storage: outPhys.storage, shape: [b, h, tq, d], strides: [tq * h * d, d, h * d, 1])
        let inputs = [query, key, value] + (bias.map { [$0] } ?? [])
        return out.recorded(.attention(scale: s, causal: causal, kvGroups: groups, blocks: blocks), inputs, saved: [probs])
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
                    groups: Int, needScores: Bool, blocks: AttentionBlocks? = nil) -> (Tensor, Tensor, Tensor, Tensor?) {
        let (b, h, tq, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        let hkv = key.shape[1], tk = key.shape[2]
        let q = query.lastDimUnit(), k = key.lastDimUnit(), v = value.lastDimUnit(), dout = g.lastDimUnit()
        // With blocks, rows and columns outside every block get no gradient: start from zeros and
        // add block by block.
        let dq = blocks == nil ? Tensor(empty: query.shape) : Tensor.zeros(query.shape)
        let dk = blocks == nil ? Tensor(empty: key.shape) : Tensor.zeros(key.shape)
        let dv = blocks == nil ? Tensor(empty: value.shape) : Tensor.zeros(value.shape)
        let dScores = needScores ? (blocks == nil ? Tensor(empty: [b, h, tq, tk]) : Tensor.zeros([b, h, tq, tk])) : nil
        let pq = SendablePointer(q.ptr), pk = SendablePointer(k.ptr), pv = SendablePointer(v.ptr)
        let pg = SendablePointer(dout.ptr), pp = SendablePointer(probs.ptr)
        let pdq = SendablePointer(dq.ptr), pdk = SendablePointer(dk.ptr), pdv = SendablePointer(dv.ptr)
        let pds = dScores.map { SendablePointer($0.ptr) }
        let rowBlocks: [[AttentionBlocks.Block]] = blocks?.rows
            ?? Array(repeating: [AttentionBlocks.Block(queries: 0..<tq, keys: 0..<tk)], count: b)
        let work = blocks.map { $0.rows.joined().reduce(0) { $0 + $1.queries.count * $1.keys.count } / Swift.max(b, 1) } ?? tq * tk
        Gemm.batched(b * hkv, flopsEach: 8 * work * d * groups) { i in
            let bi = i / hkv, kvh = i % hkv
            let scratch = Tensor(empty: [tq, tk])
            let ds = scratch.ptr
            let kp = pk.p + bi * k.strides[0] + kvh * k.strides[1], ldk = k.strides[2]
            let vp = pv.p + bi * v.strides[0] + kvh * v.strides[1], ldv = v.strides[2]
            let dkp = pdk.p + (bi * hkv + kvh) * tk * d, dvp = pdv.p + (bi * hkv + kvh) * tk * d
            for hi in (kvh * groups)..<((kvh + 1) * groups) {
                let p = pp.p + (bi * h + hi) * tq * tk
                let gp = pg.p + bi * dout.strides[0] + hi * dout.strides[1], ldg = dout.strides[2]
                let qp = pq.p + bi * q.strides[0] + hi * q.strides[1], ldq = q.strides[2]
                for block in rowBlocks[bi] where !block.queries.isEmpty && !block.keys.isEmpty {
                    let (q0, k0, nq, nk) = (block.queries.lowerBound, block.keys.lowerBound, block.queries.count, block.keys.count)
                    // Without blocks the first head of a group overwrites dK and dV; with blocks
                    // they start at zero and every block adds.
                    let first: Float = blocks == nil && hi == kvh * groups ? 0 : 1
                    let pb0 = p + q0 * tk + k0, db0 = ds + q0 * tk + k0
                    let gq = gp + q0 * ldg
                    Gemm.sgemm(true, false, nk, d, nq, 1, pb0, tk, gq, ldg, first, dvp + k0 * d, d)          // dV += P^T dO
                    Gemm.sgemm(false, true, nq, nk, d, 1, gq, ldg, vp + k0 * ldv, ldv, 0, db0, tk)           // dP = dO V^T
                    for r in 0..<nq {
                        let pr = pb0 + r * tk, dr = db0 + r * tk
                        let dot = VMath.dot(pr, dr, nk)
                        for j in 0..<nk { dr[j] = pr[j] * (dr[j] - dot) }                                 // dS
                    }
                    if let pds {
                        let out = pds.p + (bi * h + hi) * tq * tk
                        for r in block.queries { (out + r * tk + k0).update(from: ds + r * tk + k0, count: nk) }
                    }
                    Gemm.sgemm(false, false, nq, d, nk, scale, db0, tk, kp + k0 * ldk, ldk, blocks == nil ? 0 : 1,
                               pdq.p + (bi * h + hi) * tq * d + q0 * d, d)
                    Gemm.sgemm(true, false, nk, d, nq, scale, db0, tk, qp + q0 * ldq, ldq, first, dkp + k0 * d, d)
                }
            }
        }
        return (dq, dk, dv, dScores)
    }
}
