// Every backward rule, in one place (like tinygrad's gradient.py). Given a tape node, its
// output and the upstream gradient, return one gradient per input (nil where none flows).
// Rules run with recording off and are written with ordinary tensor ops where that is enough;
// the fused ops' backward kernels live beside their forward kernels.

import Foundation

enum Gradient {
    /// Adds the gradients of `node`'s inputs (those that require one) into `sums`. Every rule is
    /// `backward`'s; the embedding's alone runs in place here: its rows are scatter-added straight
    /// into the table's running gradient, so a table used several times (a T5's is shared by the
    /// encoder, the decoder and the tied head) costs no zeroed (V, C) temporary per use.
    static func propagate(_ node: Node, output: Tensor, _ g: Tensor, into sums: inout GradientSums) {
        if case .embedding = node.op {
            let table = node.inputs[0]
            if table.requiresGrad { EmbeddingBackward.scatterAdd(g, ids: node.saved[0], into: sums.accumulator(for: table)) }
            return
        }
        for (input, inputGradient) in zip(node.inputs, backward(node, output: output, g)) where input.requiresGrad {
            if let inputGradient { sums.add(inputGradient, to: input) }
        }
    }

    /// The gradient of each input of `node` given `g` = d(objective)/d(output).
    static func backward(_ node: Node, output out: Tensor, _ g: Tensor) -> [Tensor?] {
        let x = node.inputs[0]
        switch node.op {
        // MARK: views
        case .reshape: return [g.reshaped(x.shape)]
        case .permute(let order):
            var inverse = order
            for (i, o) in order.enumerated() { inverse[o] = i }
            return [g.permuted(inverse)]
        case .expand: return [g.sumTo(x.shape)]
        case .slice(let axis, let start):
            let full = Tensor.zeros(x.shape)
            full.slice(axis: axis, start..<(start + g.shape[axis])).copyIn(g)
            return [full]
        case .contiguous, .cast: return [g]

        // MARK: binary (broadcast gradients are summed back to each input's shape)
        case .add: return [g.sumTo(x.shape), g.sumTo(node.inputs[1].shape)]
        case .sub: return [g.sumTo(x.shape), (-g).sumTo(node.inputs[1].shape)]
        case .mul:
            let y = node.inputs[1]
            return [x.requiresGrad ? (g * y).sumTo(x.shape) : nil, y.requiresGrad ? (g * x).sumTo(y.shape) : nil]
        case .div:
            let y = node.inputs[1]
            return [x.requiresGrad ? (g / y).sumTo(x.shape) : nil, y.requiresGrad ? (-(g * out) / y).sumTo(y.shape) : nil]
        case .pow:
            let y = node.inputs[1]
            let dx = x.requiresGrad ? (g * y * x.pow(y - 1)).sumTo(x.shape) : nil
            let dy = y.requiresGrad ? (g * out * x.log()).sumTo(y.shape) : nil
            return [dx, dy]

        // MARK: unary
        case .neg: return [-g]
        case .exp: return [g * out]
        case .log: return [g / x]
        case .sqrt: return [g * 0.5 / out]
        case .rsqrt: return [g * -0.5 * out * out * out]
        case .tanh: return [g * (1 - out * out)]
        case .relu: return [ActivationBackward.run(.relu, x: x, g: g)]
        case .gelu(let a): return [ActivationBackward.run(.gelu(a), x: x, g: g)]
        case .silu: return [ActivationBackward.run(.silu, x: x, g: g)]

        // MARK: reductions
        case .sum(let axes):
            return [g.reshaped(keptShape(x.shape, axes)).expanded(to: x.shape)]
        case .mean(let axes):
            let n = axes.reduce(1) { $0 * x.shape[$1] }
            return [(g * (1 / Float(Swift.max(n, 1)))).reshaped(keptShape(x.shape, axes)).expanded(to: x.shape)]
        case .max(let axes):
            let kept = keptShape(x.shape, axes)
            let isMax = Tensor.select(x - out.reshaped(kept), Tensor(scalar: 0), Tensor(scalar: 1))
            let ties = isMax.sum(axes: axes, keepDims: true)
            return [g.reshaped(kept) * isMax / ties]

        // MARK: products and indexing
        case .matmul:
            let y = node.inputs[1]
            let dx = x.requiresGrad ? g.matmul(y.transposed()).sumTo(x.shape) : nil
            var dy: Tensor?
            if y.requiresGrad {
                if y.rank == 2 && x.rank > 2 {
                    let k = x.shape[x.rank - 1], n = y.shape[1]
                    dy = x.reshaped([-1, k]).transposed().matmul(g.reshaped([-1, n]))
                } else {
                    dy = x.transposed().matmul(g).sumTo(y.shape)
                }
            }
            return [dx, dy]
        case .linear:
            let w = node.inputs[1], outFeatures = w.shape[0]
            let g2 = g.contiguous().reshaped([-1, outFeatures])                   // (N, out)
            let dx = x.requiresGrad ? g.matmul(w) : nil                          // (..., in)
            let dw = w.requiresGrad ? g2.transposed().matmul(x.reshaped([-1, w.shape[1]])) : nil  // (out, in)
            let db = node.inputs.count > 2 ? g2.sum(axis: 0) : nil               // (out)
            return [dx, dw] + (node.inputs.count > 2 ? [db] : [])
        case .embedding:                                                 // `propagate` does this in place
            return [EmbeddingBackward.run(g, ids: node.saved[0], table: x.shape)]
        case .concat(let axis):
            var start = 0
            return node.inputs.map { t in
                defer { start += t.shape[axis] }
                return g.slice(axis: axis, start..<(start + t.shape[axis]))
            }
        case .whereSelect:
            let c = node.saved[0], zero = Tensor(scalar: 0)
            return [Tensor.select(c, g, zero).sumTo(x.shape), Tensor.select(c, zero, g).sumTo(node.inputs[1].shape)]

        // MARK: fused kernels
        case .softmax, .logSoftmax:
            let isLog: Bool = { if case .logSoftmax = node.op { return true }; return false }()
            let y = node.saved[0], gc = g.contiguous(), dx = Tensor(empty: y.shape)
            let n = y.shape.last ?? 1, rows = y.count / Swift.max(n, 1)
            let py = SendablePointer(y.ptr), pg = SendablePointer(gc.ptr), pd = SendablePointer(dx.ptr)
            Parallel.forChunks(rows, grain: Swift.max(1, 4096 / Swift.max(n, 1))) { r in
                SoftmaxKernels.backward(py.p, pg.p, pd.p, r, n, log: isLog)
            }
            return [dx]
        case let .crossEntropy(ignoreIndex, smoothing, valid):
            let scale = valid == 0 ? 0 : g.item() / Float(valid)          // the mean: every row g / valid
            return [CrossEntropyKernels.backward(x, node.saved[0], node.saved[1], ignoreIndex: ignoreIndex,
                                                 eps: smoothing, rowScale: { _ in scale })]
        case let .tokenCrossEntropy(ignoreIndex):
            let gc = g.cast(to: .float32).contiguous()                    // (N): row r scaled by g[r]
            return [CrossEntropyKernels.backward(x, node.saved[0], node.saved[1], ignoreIndex: ignoreIndex,
                                                 eps: 0, rowScale: { gc.ptr[$0] })]
        case .layerNorm, .rmsNorm:
            let rms: Bool = { if case .rmsNorm = node.op { return true }; return false }()
            let (dx, dw, db) = NormBackward.run(g, x: node.saved[0], weight: node.inputs[1], hasBias: node.inputs.count > 2,
                                                mean: node.saved[1], rstd: node.saved[2], rms: rms)
            return [dx, dw] + (node.inputs.count > 2 ? [db] : [])
        case let .attention(scale, _, groups):
            let hasBias = node.inputs.count > 3
            let (dq, dk, dv, ds) = AttentionBackward.run(g, query: x, key: node.inputs[1], value: node.inputs[2],
                                                         probs: node.saved[0], scale: scale, groups: groups,
                                                         needScores: hasBias && node.inputs[3].requiresGrad)
            return [dq, dk, dv] + (hasBias ? [ds?.sumTo(node.inputs[3].shape)] : [])
        }
    }

    static func keptShape(_ shape: [Int], _ axes: [Int]) -> [Int] {
        var s = shape
        for a in axes { s[a] = 1 }
        return s
    }
}

// MARK: - Activation derivatives

/// The activations whose derivative `ActivationBackward` computes from the saved input.
enum Activation { case relu, gelu(GeluApproximation), silu }

enum ActivationBackward {
    /// g * f'(x), SIMD body and scalar tail; one explicit rule per activation.
    static func run(_ kind: Activation, x: Tensor, g: Tensor) -> Tensor {
        let xc = x.cast(to: .float32).contiguous(), gc = g.contiguous()
        let out = Tensor(empty: x.shape)
        let px = SendablePointer(xc.ptr), pg = SendablePointer(gc.ptr), po = SendablePointer(out.ptr)
        Parallel.forChunks(x.count, grain: 8192) { r in
            ElementwiseKernels.row(r.count, px.p + r.lowerBound, 1, pg.p + r.lowerBound, 1, po.p + r.lowerBound, { xv, gv in
                switch kind {
                case .relu: return gv.replacing(with: 0, where: xv .<= 0)
                case .gelu(let a): return gv * VMath.geluGrad(xv, a)
                case .silu:                                              // s (1 + x (1 - s)), s = sigmoid(x)
                    let s = VMath.sigmoid(xv)
                    return gv * s * (1 + xv * (1 - s))
                }
            }, { xs, gs in
                switch kind {
                case .relu: return xs > 0 ? gs : 0
                case .gelu(let a): return gs * VMath.geluGrad(xs, a)
                case .silu:
                    let s = VMath.sigmoid(xs)
                    return gs * s * (1 + xs * (1 - s))
                }
            })
        }
        return out
    }
}
