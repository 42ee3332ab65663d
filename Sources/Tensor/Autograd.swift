// Reverse-mode autograd: topological walk of the tape from a scalar, gradient accumulation into
// leaves' `grad`, and the helper kernels the rules in Gradient.swift need (sumTo, copyIn,
// activation derivatives, embedding scatter-add).

import Foundation

extension Tensor {
    /// Back-propagates from this tensor, adding into every leaf's `grad` that requires one.
    /// - Parameters:
    ///   - gradient: d(objective)/d(self); ones when nil (a scalar loss).
    ///   - retainGraph: keep the tape to call `backward` again through the same graph.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) {
        precondition(requiresGrad, "backward: tensor does not require grad")
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (t, i) = stack.popLast() {
            let inputs = t.node?.inputs ?? []
            if i < inputs.count {
                stack.append((t, i + 1))
                let child = inputs[i]
                if child.requiresGrad && visited.insert(ObjectIdentifier(child)).inserted { stack.append((child, 0)) }
            } else {
                order.append(t)
            }
        }
        Tensor.withoutGrad {
            var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): gradient ?? Tensor.ones(shape)]
            // Gradients this walk allocated itself (sums, embedding tables): nothing else holds
            // them, so an embedding's rows can be scatter-added into them in place instead of
            // into a fresh zeroed (V, C) table that is then added (a T5's table is shared by the
            // encoder, the decoder and the tied head).
            var owned = Set<ObjectIdentifier>()
            for t in order.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
                guard let node = t.node else {
                    let gc = (g.shape == t.shape ? g : g.reshaped(t.shape)).contiguous()
                    t.grad = t.grad.map { $0 + gc } ?? gc
                    continue
                }
                if case .embedding = node.op, let table = node.inputs.first {
                    if table.requiresGrad {
                        let key = ObjectIdentifier(table)
                        let into: Tensor
                        if let existing = grads[key], owned.contains(key), existing.isContiguous, existing.dtype == .float32 {
                            into = existing
                        } else if let existing = grads[key] {
                            into = existing.contiguous().cast(to: .float32) + Tensor.zeros(table.shape)
                        } else {
                            into = Tensor.zeros(table.shape)
                        }
                        EmbeddingBackward.scatterAdd(g, ids: node.saved[0], into: into)
                        grads[key] = into
                        owned.insert(key)
                    }
                    if !retainGraph { t.node = nil }
                    continue
                }
                let inputGrads = Gradient.backward(node, output: t, g)
                for (input, ig) in zip(node.inputs, inputGrads) where input.requiresGrad {
                    guard let ig else { continue }
                    let key = ObjectIdentifier(input)
                    if let existing = grads[key] {
                        grads[key] = existing + ig
                        owned.insert(key)
                    } else {
                        grads[key] = ig
                    }
                }
                if !retainGraph { t.node = nil }
            }
        }
    }

    /// Sums a broadcast gradient back to `target` shape.
    func sumTo(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let pad = rank - target.count
        var axes = Array(0..<pad)
        for (i, d) in target.enumerated() where d == 1 && shape[i + pad] != 1 { axes.append(i + pad) }
        let s = axes.isEmpty ? self : sum(axes: axes, keepDims: true)
        return s.reshaped(target)
    }

    /// Copies `src` (same shape) into this view's elements in place.
    func copyIn(_ src: Tensor) {
        precondition(src.shape == shape, "copyIn: \(src.shape) into \(shape)")
        let s = src.cast(to: .float32)
        let (dims, st) = Shape.collapse(shape, [s.strides, strides])
        let walker = RowWalker(shape: dims, strides: st)
        let inner = dims[dims.count - 1], si = st[0][dims.count - 1], di = st[1][dims.count - 1]
        let ps = SendablePointer(s.ptr), pd = SendablePointer(ptr)
        Parallel.forChunks(walker.rows, grain: Swift.max(1, 16384 / Swift.max(inner, 1))) { rows in
            var offs = [0, 0]
            for r in rows {
                walker.offsets(r, into: &offs)
                let a = ps.p + offs[0], b = pd.p + offs[1]
                for i in 0..<inner { b[i * di] = a[i * si] }
            }
        }
    }
}

enum ActivationBackward {
    /// g * f'(x) for relu, gelu and silu.
    static func run(_ kind: UnaryKind, x: Tensor, g: Tensor) -> Tensor {
        let xc = x.cast(to: .float32).contiguous(), gc = g.contiguous()
        let out = Tensor(empty: x.shape)
        let px = SendablePointer(xc.ptr), pg = SendablePointer(gc.ptr), po = SendablePointer(out.ptr)
        Parallel.forChunks(x.count, grain: 8192) { r in
            ElementwiseKernels.row(r.count, px.p + r.lowerBound, 1, pg.p + r.lowerBound, 1, po.p + r.lowerBound, { xv, gv in
                switch kind {
                case .relu: return gv.replacing(with: 0, where: xv .<= 0)
                case .gelu(let a): return gv * VMath.geluGrad(xv, a)
                default:
                    let s = VMath.sigmoid(xv)
                    return gv * s * (1 + xv * (1 - s))
                }
            }, { xs, gs in
                switch kind {
                case .relu: return xs > 0 ? gs : 0
                case .gelu(let a): return gs * VMath.geluGrad(xs, a)
                default:
                    let s = VMath.sigmoid(xs)
                    return gs * s * (1 + xs * (1 - s))
                }
            })
        }
        return out
    }
}

enum EmbeddingBackward {
    /// Scatter-adds rows of g (N, C) into a zero (V, C) table; columns split over cores, rows in order.
    static func run(_ g: Tensor, ids: Tensor, table: [Int]) -> Tensor {
        let dw = Tensor.zeros(table)
        scatterAdd(g, ids: ids, into: dw)
        return dw
    }

    /// `into[ids[r], :] += g[r, :]` for every row r, into a contiguous float32 (V, C) tensor;
    /// columns split over cores, rows in order (the same sums at any thread count).
    static func scatterAdd(_ g: Tensor, ids: Tensor, into dw: Tensor) {
        let c = dw.shape[1], n = ids.count
        let gc = g.contiguous()
        let pg = SendablePointer(gc.ptr), pi = SendablePointer(ids.storage.int32s + ids.offset), pd = SendablePointer(dw.ptr)
        Parallel.forChunks(c, grain: 64) { cols in
            for r in 0..<n {
                let src = pg.p + r * c, dst = pd.p + Int(pi.p[r]) * c
                for j in cols { dst[j] += src[j] }
            }
        }
    }
}
