// Reductions over any set of axes: sum, mean, max (differentiable) and argmax (indices).
// One axis at a time over a contiguous (outer, R, inner) view; each output element is computed
// by one thread in a fixed order, so results do not depend on the thread count.

import Foundation

enum ReduceKind { case sum, max }

enum ReduceKernels {
    /// Sum or max of each contiguous row of length r: out[o] = reduce(x[o*r ..< (o+1)*r]).
    static func rows(_ kind: ReduceKind, _ x: UnsafePointer<Float>, _ rows: Range<Int>, _ r: Int,
                     _ out: UnsafeMutablePointer<Float>) {
        for o in rows {
            let p = x + o * r
            var i = 0
            switch kind {
            case .sum:
                var acc0 = Vec(), acc1 = Vec()
                while i + 32 <= r { acc0 += VMath.load(p + i); acc1 += VMath.load(p + i + 16); i += 32 }
                var s = (acc0 + acc1).sum()
                while i < r { s += p[i]; i += 1 }
                out[o] = s
            case .max:
                var acc = Vec(repeating: -.infinity)
                while i + 16 <= r { acc = VMath.max(acc, VMath.load(p + i)); i += 16 }
                var m = acc.max()
                while i < r { m = Swift.max(m, p[i]); i += 1 }
                out[o] = m
            }
        }
    }

    /// Scalar reference of `rows`.
    static func rowsReference(_ kind: ReduceKind, _ x: [Float], _ r: Int) -> [Float] {
        stride(from: 0, to: x.count, by: r).map { s in
            let row = x[s..<s + r]
            return kind == .sum ? row.reduce(0, +) : (row.max() ?? -.infinity)
        }
    }

    /// Reduces the middle axis of (outer, r, inner) into (outer, inner), SIMD across inner.
    static func middle(_ kind: ReduceKind, _ x: UnsafePointer<Float>, _ outerRange: Range<Int>,
                       _ innerRange: Range<Int>, _ r: Int, _ inner: Int, _ out: UnsafeMutablePointer<Float>) {
        for o in outerRange {
            let dst = out + o * inner
            let src = x + o * r * inner
            for i in innerRange { dst[i] = src[i] }
            for k in 1..<max(r, 1) {
                let row = src + k * inner
                var i = innerRange.lowerBound
                switch kind {
                case .sum:
                    while i + 16 <= innerRange.upperBound { VMath.store(VMath.load(dst + i) + VMath.load(row + i), dst + i); i += 16 }
                    while i < innerRange.upperBound { dst[i] += row[i]; i += 1 }
                case .max:
                    while i + 16 <= innerRange.upperBound { VMath.store(VMath.max(VMath.load(dst + i), VMath.load(row + i)), dst + i); i += 16 }
                    while i < innerRange.upperBound { dst[i] = Swift.max(dst[i], row[i]); i += 1 }
                }
            }
        }
    }
}

extension Tensor {
    /// Reduces one axis of a contiguous float tensor, keeping it as size 1.
    func reduceAxis(_ axis: Int, _ kind: ReduceKind) -> Tensor {
        let x = contiguous()
        let r = shape[axis]
        let outer = Shape.count(Array(shape[..<axis])), inner = Shape.count(Array(shape[(axis + 1)...]))
        var outShape = shape
        outShape[axis] = 1
        let out = Tensor(empty: outShape)
        let px = SendablePointer(x.ptr), po = SendablePointer(out.ptr)
        if r == 0 {
            out.ptr.update(repeating: kind == .sum ? 0 : -.infinity, count: out.count)
        } else if inner == 1 {
            if outer == 1 && r >= 1 << 16 {
                // One long row: fixed 64K blocks (independent of threads), summed in order.
                let blocks = (r + 65535) / 65536
                let partial = Tensor(empty: [blocks])
                let pp = SendablePointer(partial.ptr)
                Parallel.forChunks(blocks, grain: 1) { bs in
                    for b in bs {
                        let lo = b * 65536, n = Swift.min(65536, r - lo)
                        ReduceKernels.rows(kind, px.p + lo, 0..<1, n, pp.p + b)
                    }
                }
                ReduceKernels.rows(kind, pp.p, 0..<1, blocks, po.p)
            } else {
                Parallel.forChunks(outer, grain: Swift.max(1, 8192 / r)) { rows in
                    ReduceKernels.rows(kind, px.p, rows, r, po.p)
                }
            }
        } else if outer >= Parallel.threads {
            Parallel.forChunks(outer, grain: Swift.max(1, 8192 / (r * inner))) { os in
                ReduceKernels.middle(kind, px.p, os, 0..<inner, r, inner, po.p)
            }
        } else {
            Parallel.forChunks(inner, grain: 256) { ins in
                ReduceKernels.middle(kind, px.p, 0..<outer, ins, r, inner, po.p)
            }
        }
        return out
    }

    /// Normalised, sorted, de-duplicated axes; all axes when `axes` is nil.
    func normalizedAxes(_ axes: [Int]?) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        return Array(Set(axes.map { Shape.axis($0, rank: rank) })).sorted()
    }

    func reduce(_ axes: [Int]?, keepDims: Bool, _ kind: ReduceKind) -> Tensor {
        let ax = normalizedAxes(axes)
        var y = contiguous()
        if dtype != .float32 { y = cast(to: .float32) }
        // Merge a contiguous run of reduced axes into one, then reduce the rest one by one.
        if let first = ax.first, let last = ax.last, last - first + 1 == ax.count, ax.count > 1 {
            let merged = Array(shape[..<first]) + [Shape.count(Array(shape[first...last]))] + Array(shape[(last + 1)...])
            y = Tensor(storage: y.storage, shape: merged, strides: Shape.contiguousStrides(merged), offset: y.offset)
            y = y.reduceAxis(first, kind)
        } else {
            for a in ax.reversed() { y = y.reduceAxis(a, kind) }
        }
        var keptShape = shape
        for a in ax { keptShape[a] = 1 }
        let kept = Tensor(storage: y.storage, shape: keptShape, strides: Shape.contiguousStrides(keptShape), offset: y.offset)
        return keepDims ? kept : Tensor(storage: kept.storage, shape: shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element),
                                        strides: Shape.contiguousStrides(shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)),
                                        offset: kept.offset)
    }

    /// Sum (or max) of each last-axis row by the scalar reference kernel (test hook).
    public func referenceRowReduce(max useMax: Bool) -> Tensor {
        let n = shape.last ?? 1
        return Tensor(ReduceKernels.rowsReference(useMax ? .max : .sum, scalars, n), shape: Array(shape.dropLast()))
    }

    /// Sum over `axes` (all when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        return reduce(ax, keepDims: keepDims, .sum).recorded(.sum(ax), [self])
    }

    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        let n = ax.reduce(1) { $0 * shape[$1] }
        let s = reduce(ax, keepDims: keepDims, .sum)
        let out = Tensor.withoutGrad { s * (1 / Float(Swift.max(n, 1))) }
        return out.recorded(.mean(ax), [self])
    }

    /// Mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Maximum over `axes` (all when nil); the gradient goes to the maximal elements.
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        return reduce(ax, keepDims: keepDims, .max).recorded(.max(ax), [self])
    }

    /// Maximum over one axis.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor { max(axes: [axis], keepDims: keepDims) }

    /// Index of the maximum along `axis` as Int32 (first one on ties); not differentiable.
    public func argmax(axis: Int = -1, keepDims: Bool = false) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        let moved = (a == rank - 1 ? self : permuted(Array(0..<a) + Array((a + 1)..<rank) + [a])).detached().contiguous()
        let r = shape[a]
        let rows = count / Swift.max(r, 1)
        var outShape = shape
        outShape.remove(at: a)
        let out = Tensor(empty: outShape, dtype: .int32)
        let px = SendablePointer(moved.ptr), po = SendablePointer(out.storage.int32s)
        Parallel.forChunks(rows, grain: Swift.max(1, 8192 / Swift.max(r, 1))) { rs in
            for row in rs {
                let p = px.p + row * r
                var best = 0
                for i in 1..<Swift.max(r, 1) where p[i] > p[best] { best = i }
                po.p[row] = Int32(best)
            }
        }
        return keepDims ? out.unsqueezed(a) : out
    }
}
