// Views and layout: reshape, permute/transpose, slice, expand, squeeze/unsqueeze, contiguous
// and dtype casts. Views share storage; `contiguous()` copies with a strided kernel.

import Foundation

extension Tensor {
    /// The same elements with a new shape; a view when contiguous, a copy otherwise.
    /// One dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var dims = newShape
        if let i = dims.firstIndex(of: -1) {
            let known = dims.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshape: cannot infer -1 in \(newShape) for \(shape)")
            dims[i] = count / known
        }
        precondition(Shape.count(dims) == count, "reshape: \(shape) has \(count) elements, not \(dims)")
        let base = isContiguous ? self : contiguousCopy()
        let t = Tensor(storage: base.storage, shape: dims, strides: Shape.contiguousStrides(dims), offset: base.offset)
        return t.recorded(.reshape, [self])
    }

    /// Dimensions reordered: result dimension i is this tensor's dimension `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        let axes = order.map { Shape.axis($0, rank: rank) }
        precondition(Set(axes).count == rank && axes.count == rank, "permute: \(order) is not a permutation of rank \(rank)")
        let t = Tensor(storage: storage, shape: axes.map { shape[$0] }, strides: axes.map { strides[$0] }, offset: offset)
        return t.recorded(.permute(axes), [self])
    }

    /// Swaps two dimensions (default: the last two).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(Shape.axis(a, rank: rank), Shape.axis(b, rank: rank))
        return permuted(order)
    }

    /// Elements `start..<end` along `axis`, as a view.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a], "slice: \(range) out of 0..<\(shape[a])")
        var dims = shape
        dims[a] = range.count
        let t = Tensor(storage: storage, shape: dims, strides: strides, offset: offset + range.lowerBound * strides[a])
        return t.recorded(.slice(axis: a, start: range.lowerBound), [self])
    }

    /// A broadcast view with `target` shape (size-1 and new leading dimensions repeat).
    public func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self }
        let s = Shape.broadcastStrides(shape, strides, to: target)
        return Tensor(storage: storage, shape: target, strides: s, offset: offset).recorded(.expand, [self])
    }

    /// Inserts a size-1 dimension at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        var dims = shape
        dims.insert(1, at: a)
        return reshaped(dims)
    }

    /// Removes the size-1 dimension at `axis`.
    public func squeezed(_ axis: Int) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        precondition(shape[a] == 1, "squeeze: dimension \(axis) has size \(shape[a])")
        var dims = shape
        dims.remove(at: a)
        return reshaped(dims)
    }

    /// This tensor in row-major order with no gaps: itself when already so, else a copy.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        return contiguousCopy().recorded(.contiguous, [self])
    }

    /// A fresh row-major copy of the data (no tape entry).
    func contiguousCopy() -> Tensor {
        let out = Tensor(empty: shape, dtype: dtype)
        let (dims, s) = Shape.collapse(shape, [strides])
        let walker = RowWalker(shape: dims, strides: s)
        let inner = dims[dims.count - 1], innerStride = s[0][dims.count - 1]
        let bytes = dtype.byteSize
        let src = UncheckedBox(storage.raw + offset * bytes), dst = UncheckedBox(out.storage.raw)
        Parallel.forChunks(walker.rows, grain: Swift.max(1, 32768 / Swift.max(inner, 1))) { rows in
            var offs = [0]
            for r in rows {
                walker.offsets(r, into: &offs)
                let from = src.value + offs[0] * bytes, to = dst.value + r * inner * bytes
                if innerStride == 1 { memcpy(to, from, inner * bytes); continue }
                switch bytes {
                case 4:
                    let f = from.assumingMemoryBound(to: UInt32.self), t = to.assumingMemoryBound(to: UInt32.self)
                    for i in 0..<inner { t[i] = f[i * innerStride] }
                case 2:
                    let f = from.assumingMemoryBound(to: UInt16.self), t = to.assumingMemoryBound(to: UInt16.self)
                    for i in 0..<inner { t[i] = f[i * innerStride] }
                default:
                    let f = from.assumingMemoryBound(to: UInt64.self), t = to.assumingMemoryBound(to: UInt64.self)
                    for i in 0..<inner { t[i] = f[i * innerStride] }
                }
            }
        }
        return out
    }

    /// The values converted to `dtype` (Float32 <-> Float16/BFloat16, indices <-> floats).
    /// Differentiable between float types.
    public func cast(to target: DType) -> Tensor {
        if target == dtype { return self }
        let src = contiguous()
        let out = Tensor(empty: shape, dtype: target)
        let n = count, o = src.offset
        let s = src.storage, d = out.storage
        // Integer to integer without going through Float (ids above 2^24 stay exact).
        if dtype == .int64 && target == .int32 {
            for i in 0..<n { d.int32s[i] = Int32(clamping: s.int64s[o + i]) }
            return out
        }
        if dtype == .int32 && target == .int64 {
            for i in 0..<n { d.int64s[i] = Int64(s.int32s[o + i]) }
            return out
        }
        for i in 0..<n {
            let x: Float
            switch dtype {
            case .float32: x = s.floats[o + i]
            case .float16: x = Float16Bits.toFloat(s.uint16s[o + i])
            case .bfloat16: x = BFloat16Bits.toFloat(s.uint16s[o + i])
            case .int32: x = Float(s.int32s[o + i])
            case .int64: x = Float(s.int64s[o + i])
            }
            switch target {
            case .float32: d.floats[i] = x
            case .float16: d.uint16s[i] = Float16Bits.fromFloat(x)
            case .bfloat16: d.uint16s[i] = BFloat16Bits.fromFloat(x)
            case .int32: d.int32s[i] = Int32(clamping: Int(x.isFinite ? x.rounded(.towardZero) : 0))
            case .int64: d.int64s[i] = Int64(x.isFinite ? x.rounded(.towardZero) : 0)
            }
        }
        let floats: Set<DType> = [.float32, .float16, .bfloat16]
        if floats.contains(dtype) && floats.contains(target) { out.recorded(.cast, [self]) }
        return out
    }
}
