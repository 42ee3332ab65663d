// AdamW (Loshchilov & Hutter): Adam with weight decay decoupled from the gradient, exactly as
// torch.optim.AdamW: p -= lr*wd*p; m, v moments; bias-corrected step. SIMD over both cores.

import Foundation
import Tensor

/// Adam with decoupled weight decay.
public final class AdamW: Optimizer {
    public let parameters: [(String, Tensor)]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// Steps taken so far.
    public private(set) var stepCount = 0
    private var m: [Tensor], v: [Tensor]

    public init(_ parameters: [(String, Tensor)], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        m = parameters.map { Tensor.zeros($0.1.shape) }
        v = parameters.map { Tensor.zeros($0.1.shape) }
    }

    public func step() {
        stepCount += 1
        let t = Float(stepCount)
        let c1 = 1 - Foundation.pow(beta1, t), c2 = 1 - Foundation.pow(beta2, t)
        let stepSize = learningRate / c1, c2Sqrt = c2.squareRoot()
        let decay = 1 - learningRate * weightDecay
        let (b1, b2, e) = (beta1, beta2, eps)
        for (i, (_, p)) in parameters.enumerated() {
            guard let g = gradientBuffer(p) else { continue }
            p.withUnsafeMutableFloats { w in g.withUnsafeMutableFloats { gr in
                m[i].withUnsafeMutableFloats { mm in v[i].withUnsafeMutableFloats { vv in
                    chunked(w.count) { r in
                        AdamWKernel.update(w.baseAddress! + r.lowerBound, gr.baseAddress! + r.lowerBound,
                                           mm.baseAddress! + r.lowerBound, vv.baseAddress! + r.lowerBound, r.count,
                                           decay: decay, b1: b1, b2: b2, eps: e, stepSize: stepSize, c2Sqrt: c2Sqrt)
                    }
                } }
            } }
        }
    }

    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = ["step": Tensor(scalar: Float(stepCount))]
        for (i, (name, _)) in parameters.enumerated() {
            out[name + ".exp_avg"] = m[i]
            out[name + ".exp_avg_sq"] = v[i]
        }
        return out
    }

    public func loadStateDict(_ state: [String: Tensor]) throws {
        stepCount = Int(try loadScalar(state, "step"))
        for (i, (name, _)) in parameters.enumerated() {
            try loadSlot(state, name + ".exp_avg", into: m[i])
            try loadSlot(state, name + ".exp_avg_sq", into: v[i])
        }
    }
}

enum AdamWKernel {
    /// One AdamW update of n elements: SIMD body, scalar tail (the scalar reference).
    @inline(__always)
    static func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                       _ v: UnsafeMutablePointer<Float>, _ n: Int, decay: Float, b1: Float, b2: Float, eps: Float,
                       stepSize: Float, c2Sqrt: Float) {
        typealias V = SIMD16<Float>
        var i = 0
        while i + 16 <= n {
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
            var mv = UnsafeRawPointer(m + i).loadUnaligned(as: V.self)
            var vv = UnsafeRawPointer(v + i).loadUnaligned(as: V.self)
            var wv = UnsafeRawPointer(w + i).loadUnaligned(as: V.self)
            mv = b1 * mv + (1 - b1) * gv
            vv = b2 * vv + (1 - b2) * gv * gv
            wv = wv * decay - stepSize * mv / (vv.squareRoot() / c2Sqrt + eps)
            UnsafeMutableRawPointer(m + i).storeBytes(of: mv, as: V.self)
            UnsafeMutableRawPointer(v + i).storeBytes(of: vv, as: V.self)
            UnsafeMutableRawPointer(w + i).storeBytes(of: wv, as: V.self)
            i += 16
        }
        while i < n {
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            w[i] = w[i] * decay - stepSize * m[i] / (v[i].squareRoot() / c2Sqrt + eps)
            i += 1
        }
    }
}
