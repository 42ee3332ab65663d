// The closed set of primitive and fused ops the tape records, and the recording machinery.
// Every op's forward lives in its kernel file; every backward rule lives in Gradient.swift.
import Foundation

/// GELU variants: `exact` uses erf, `tanh` is the approximation GPT-2 and T5 (gelu_new) use.
public enum GeluApproximation: Sendable { case exact, tanh }

/// One recorded operation. Parameters needed by the backward rule ride along.
public enum Op {
    // Views and layout.
    case reshape, permute([Int]), expand, slice(axis: Int, start: Int), contiguous, cast
    // Elementwise, with broadcasting for the binary ones.
    case add, sub, mul, div, pow
    case neg, exp, log, sqrt, rsqrt, tanh, relu, gelu(GeluApproximation), silu
    // Reductions over a set of axes (kept as size-1 dimensions in the saved shape).
    case sum([Int]), mean([Int]), max([Int])
    // Products and indexing.
    case matmul, linear, embedding, concat(axis: Int), whereSelect
    // Fused kernels with explicit backward rules.
    case softmax, logSoftmax
    case crossEntropy(ignoreIndex: Int32, labelSmoothing: Float, validCount: Int)
    case tokenCrossEntropy(ignoreIndex: Int32)
    case layerNorm, rmsNorm
    case attention(scale: Float, causal: Bool, kvGroups: Int)
}

/// A tape entry: the op, its inputs, and tensors saved for the backward rule.
final class Node {
    let op: Op
    let inputs: [Tensor]
    let saved: [Tensor]
    init(op: Op, inputs: [Tensor], saved: [Tensor]) {
        self.op = op
        self.inputs = inputs
        self.saved = saved
    }
}

/// Whether ops record themselves on the tape, per thread: `withoutGrad` on one thread (a cell
/// evaluating, a test left running) must not switch recording off for another thread's training.
public enum GradMode {
    /// The thread's flag; unset (nil) means enabled, so every new thread records.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// True unless inside `Tensor.withoutGrad` on this thread.
    public internal(set) static var isEnabled: Bool {
        get { pthread_getspecific(key) == nil }
        set { pthread_setspecific(key, newValue ? nil : UnsafeRawPointer(bitPattern: 1)) }
    }
}

extension Tensor {
    /// Runs `body` without recording ops (inference, optimizer updates).
    public static func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
        let previous = GradMode.isEnabled
        GradMode.isEnabled = false
        defer { GradMode.isEnabled = previous }
        return try body()
    }

    /// Attaches `op` to `self` (a fresh op result) when a tape should record it.
    @discardableResult
    func recorded(_ op: @autoclosure () -> Op, _ inputs: [Tensor], saved: @autoclosure () -> [Tensor] = []) -> Tensor {
        if GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad }) {
            requiresGrad = true
            node = Node(op: op(), inputs: inputs, saved: saved())
        }
        return self
    }
}
