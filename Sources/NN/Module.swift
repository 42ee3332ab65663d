// Module: a tree of named parameters, like torch.nn.Module. Names are the stored property names
// joined with dots (arrays add the index), e.g. `encoder.block.0.layer.0.SelfAttention.q.weight`,
// so checkpoints map onto Hugging Face names. Override `namedChildren`/`ownParameters` to rename.

import Foundation
import Tensor

/// Errors from loading parameters and optimizer state.
public enum NNError: Error, CustomStringConvertible, Equatable {
    case missingKey(String)
    case unexpectedKeys([String])
    case shapeMismatch(name: String, expected: [Int], got: [Int])

    public var description: String {
        switch self {
        case .missingKey(let k): return "no value for '\(k)' in the loaded state"
        case .unexpectedKeys(let ks): return "loaded state has keys the model does not: \(ks.prefix(5).joined(separator: ", "))"
        case let .shapeMismatch(name, e, g): return "'\(name)': model expects shape \(e), state has \(g)"
        }
    }
}

/// A layer or model: owns parameters and sub-modules, has a train/eval mode.
open class Module {
    /// Whether layers like Dropout are in training mode.
    public private(set) var isTraining = true

    public init() {}

    /// Direct sub-modules with their names. Default: stored properties holding a Module,
    /// an optional Module or an array of Modules (named `name.index`).
    open func namedChildren() -> [(String, Module)] {
        var out: [(String, Module)] = []
        for (label, value) in reflectedProperties() {
            if let m = value as? Module { out.append((label, m)) }
            else if let ms = value as? [Module] { for (i, m) in ms.enumerated() { out.append(("\(label).\(i)", m)) } }
        }
        return out
    }

    /// Tensors this module owns directly. Default: stored `Tensor` and `Tensor?` properties.
    open func ownParameters() -> [(String, Tensor)] {
        reflectedProperties().compactMap { label, value in (value as? Tensor).map { (label, $0) } }
    }

    private func reflectedProperties() -> [(String, Any)] {
        var out: [(String, Any)] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror {
            for child in m.children {
                guard var label = child.label else { continue }
                if label.hasPrefix("_") { label.removeFirst() }
                out.append((label, child.value))
            }
            mirror = m.superclassMirror
        }
        return out
    }

    /// Every tensor in the tree with its dotted name, depth first in declaration order.
    public func namedParameters(prefix: String = "") -> [(String, Tensor)] {
        var out = ownParameters().map { (prefix + $0.0, $0.1) }
        for (name, child) in namedChildren() { out += child.namedParameters(prefix: prefix + name + ".") }
        return out
    }

    /// Tensors that take gradients (requiresGrad), with names: what an optimizer updates.
    public func trainableParameters() -> [(String, Tensor)] { namedParameters().filter { $0.1.requiresGrad } }

    /// Every tensor in the tree.
    public func parameters() -> [Tensor] { namedParameters().map(\.1) }

    /// Sets training mode on this module and all descendants.
    public func train(_ on: Bool = true) {
        isTraining = on
        for (_, c) in namedChildren() { c.train(on) }
    }

    /// Sets evaluation mode (Dropout off).
    public func eval() { train(false) }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters() { p.grad = nil } }

    /// Number of scalars in all parameters.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Parameters by name (a view of the weights, for checkpoints).
    public func stateDict() -> [String: Tensor] {
        Dictionary(namedParameters().map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
    }

    /// Copies values from `state` into the parameters (converting dtype to each parameter's).
    /// - Parameter strict: also fail on keys the model does not have.
    public func loadStateDict(_ state: [String: Tensor], strict: Bool = true) throws {
        let named = namedParameters()
        for (name, p) in named {
            guard let src = state[name] else { throw NNError.missingKey(name) }
            guard src.shape == p.shape else { throw NNError.shapeMismatch(name: name, expected: p.shape, got: src.shape) }
            p.assign(src)
        }
        if strict {
            let known = Set(named.map(\.0))
            let extra = state.keys.filter { !known.contains($0) }.sorted()
            if !extra.isEmpty { throw NNError.unexpectedKeys(extra) }
        }
    }

    /// A short text report: parameters, their bytes, and gradient bytes right now.
    public func memoryReport() -> String {
        let ps = parameters()
        let bytes = ps.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
        let gradBytes = ps.reduce(0) { $0 + ($1.grad?.count ?? 0) * 4 }
        let trainable = ps.filter(\.requiresGrad).reduce(0) { $0 + $1.count }
        func mb(_ b: Int) -> String { String(format: "%.2f MB", Double(b) / 1_048_576) }
        return "parameters: \(parameterCount) (\(trainable) trainable), weights \(mb(bytes)), gradients \(mb(gradBytes))"
    }
}
