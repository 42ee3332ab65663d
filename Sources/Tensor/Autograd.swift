// Reverse-mode autograd: topological walk of the tape from a scalar, gradient accumulation into
// leaves' `grad`, and the helpers the rules in Gradient.swift need (the running gradient sums,
// sumTo, copyIn). The walk knows no op: every rule, in place or not, is in Gradient.swift.

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
            var sums = GradientSums()
            sums.add(gradient ?? Tensor.ones(shape), to: self)
            for t in order.reversed() {
                guard let g = sums.take(t) else { continue }
                guard let node = t.node else {
                    let gc = (g.shape == t.shape ? g : g.reshaped(t.shape)).contiguous()
                    t.grad = t.grad.map { $0 + gc } ?? gc
                    continue
                }
                Gradient.propagate(node, output: t, g, into: &sums)
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

/// The gradients a backward walk is summing, by tensor. It remembers which sums it allocated
/// itself: nothing else holds those, so a rule may add into them in place (see
/// `Gradient.propagate`).
struct GradientSums {
    private var sums: [ObjectIdentifier: Tensor] = [:]
    private var owned = Set<ObjectIdentifier>()

    /// Removes and returns the gradient summed for `t` (complete once the walk reaches `t`).
    mutating func take(_ t: Tensor) -> Tensor? {
        owned.remove(ObjectIdentifier(t))
        return sums.removeValue(forKey: ObjectIdentifier(t))
    }

    /// Adds `g` to the gradient of `t`. A first gradient is kept as given (it may be a view of
    /// another gradient, so it is not owned); a sum is a fresh tensor, owned.
    mutating func add(_ g: Tensor, to t: Tensor) {
        let key = ObjectIdentifier(t)
        if let existing = sums[key] {
            sums[key] = existing + g
            owned.insert(key)
        } else {
            sums[key] = g
        }
    }

    /// The gradient of `t` so far (zeros when none) as a contiguous float32 tensor of `t`'s
    /// shape that this walk owns: the caller may add into it in place.
    mutating func accumulator(for t: Tensor) -> Tensor {
        let key = ObjectIdentifier(t)
        let into: Tensor
        if let existing = sums[key], owned.contains(key), existing.isContiguous, existing.dtype == .float32 {
            into = existing
        } else if let existing = sums[key] {
            into = existing.contiguous().cast(to: .float32) + Tensor.zeros(t.shape)   // a fresh copy
        } else {
            into = Tensor.zeros(t.shape)
        }
        sums[key] = into
        owned.insert(key)
        return into
    }
}
