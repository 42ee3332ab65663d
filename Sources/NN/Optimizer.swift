// The optimizer interface, SGD with momentum, gradient clipping by global norm, and the helpers
// the optimizers share (state export/import, chunked parameter loops).

import Foundation
import Tensor

/// Updates named parameters from their gradients; state can be exported for checkpoints.
public protocol Optimizer: AnyObject {
    /// The parameters this optimizer updates, with their names.
    var parameters: [(String, Tensor)] { get }
    /// The base learning rate (schedules set it each step).
    var learningRate: Float { get set }
    /// Applies one update from the current gradients. Parameters without a gradient are skipped.
    func step()
    /// Optimizer state by `<parameter name>.<slot>` plus global counters.
    func stateDict() -> [String: Tensor]
    /// Restores state exported by `stateDict()`.
    func loadStateDict(_ state: [String: Tensor]) throws
}

extension Optimizer {
    /// Clears every parameter's gradient.
    public func zeroGrad() { for (_, p) in parameters { p.grad = nil } }
}

/// Scales all gradients so that their joint L2 norm is at most `maxNorm` (PyTorch's
/// clip_grad_norm_). Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var total = 0.0
    for p in parameters {
        guard let g = gradientBuffer(p) else { continue }
        g.withUnsafeMutableFloats { values in
            var partial: Float = 0
            for (k, x) in values.enumerated() {
                partial += x * x
                if k & 4095 == 4095 { total += Double(partial); partial = 0 }   // blocks keep Float error small
            }
            total += Double(partial)
        }
    }
    let norm = Float(total.squareRoot())
    let scale = maxNorm / (norm + 1e-6)
    if scale < 1 {
        for p in parameters { if let g = p.grad { p.grad = Tensor.withoutGrad { g * scale } } }
    }
    return norm
}

/// Runs `body(range)` over `0..<count` on the engine's threads (parameter-sized loops).
@inline(__always)
func chunked(_ count: Int, _ body: (Range<Int>) -> Void) { Parallel.forChunks(count, grain: 32768, body) }

/// Base pointer of a gradient, made contiguous Float32.
func gradientBuffer(_ p: Tensor) -> Tensor? {
    guard let g = p.grad else { return nil }
    return Tensor.withoutGrad { g.cast(to: .float32).contiguous() }
}

/// Copies a named slot out of loaded state, checking its shape.
func loadSlot(_ state: [String: Tensor], _ key: String, into t: Tensor) throws {
    guard let src = state[key] else { throw NNError.missingKey(key) }
    guard src.count == t.count else { throw NNError.shapeMismatch(name: key, expected: t.shape, got: src.shape) }
    t.assign(src)
}

/// Reads a scalar counter out of loaded state.
func loadScalar(_ state: [String: Tensor], _ key: String) throws -> Float {
    guard let t = state[key], t.count == 1 else { throw NNError.missingKey(key) }
    return t.item()
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (PyTorch SGD).
public final class SGD: Optimizer {
    public let parameters: [(String, Tensor)]
    public var learningRate: Float
    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    private var buffers: [Tensor?]

    public init(_ parameters: [(String, Tensor)], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        buffers = Array(repeating: nil, count: parameters.count)
    }

    public func step() {
        for (i, (_, p)) in parameters.enumerated() {
            guard let g = gradientBuffer(p) else { continue }
            let fresh = buffers[i] == nil
            let buf = buffers[i] ?? Tensor.zeros(p.shape)
            buffers[i] = buf
            let (lr, mu, damp, wd, nest) = (learningRate, momentum, dampening, weightDecay, nesterov)
            p.withUnsafeMutableFloats { w in
                g.withUnsafeMutableFloats { gr in
                    buf.withUnsafeMutableFloats { b in
                        chunked(w.count) { r in
                            for j in r {
                                var d = gr[j] + wd * w[j]
                                if mu != 0 {
                                    b[j] = fresh ? d : mu * b[j] + (1 - damp) * d
                                    d = nest ? d + mu * b[j] : b[j]
                                }
                                w[j] -= lr * d
                            }
                        }
                    }
                }
            }
        }
    }

    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, (name, _)) in parameters.enumerated() { if let b = buffers[i] { out[name + ".momentum_buffer"] = b } }
        return out
    }

    public func loadStateDict(_ state: [String: Tensor]) throws {
        for (i, (name, p)) in parameters.enumerated() {
            guard state[name + ".momentum_buffer"] != nil else { buffers[i] = nil; continue }
            let b = Tensor.zeros(p.shape)
            try loadSlot(state, name + ".momentum_buffer", into: b)
            buffers[i] = b
        }
    }
}
