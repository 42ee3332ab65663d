// Indexing ops: embedding (row gather by Int32 ids, and the scatter-add its backward rule
// uses), concat/stack, where (select by mask).

import Foundation

extension Tensor {
    /// Rows of this (V, C) table picked by Int32 `ids` of any shape: result (ids..., C).
    /// Ids must lie in 0..<V (check untrusted ids with `validateIndices(below:)`).
    public func embedding(_ ids: Tensor) -> Tensor {
        precondition(rank == 2, "embedding: table must be (V, C), got \(shape)")
        precondition(ids.dtype == .int32, "embedding: ids must be int32, got \(ids.dtype)")
        let table = (dtype == .float32 ? self : cast(to: .float32)).contiguous()
        let idx = ids.contiguous()
        let v = shape[0], c = shape[1], n = ids.count
        let out = Tensor(empty: ids.shape + [c])
        let pt = SendablePointer(table.ptr), pi = SendablePointer(idx.storage.int32s + idx.offset), po = SendablePointer(out.ptr)
        Parallel.forChunks(n, grain: Swift.max(1, 8192 / Swift.max(c, 1))) { rows in
            for r in rows {
                let id = Int(pi.p[r])
                precondition(id >= 0 && id < v, "embedding: id \(id) out of range 0..<\(v)")
                (po.p + r * c).update(from: pt.p + id * c, count: c)
            }
        }
        return out.recorded(.embedding, [self], saved: [idx])
    }

    /// Throws when an Int32/Int64 tensor holds a value outside `0..<bound`.
    public func validateIndices(below bound: Int) throws {
        for (i, v) in indexScalars.enumerated() where v < 0 || v >= bound {
            throw TensorError.indexOutOfRange(position: i, value: v, bound: bound)
        }
    }

    /// Joins tensors along `axis`; all other dimensions must match.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat: no tensors")
        let first = tensors[0]
        let a = Shape.axis(axis, rank: first.rank)
        for t in tensors {
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                         "concat: shape \(t.shape) does not match \(first.shape) outside axis \(a)")
        }
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let out = Tensor(empty: outShape)
        let outer = Shape.count(Array(outShape[..<a])), inner = Shape.count(Array(outShape[(a + 1)...]))
        var start = 0
        for t in tensors {
            let src = (t.dtype == .float32 ? t : t.cast(to: .float32)).contiguous()
            let width = t.shape[a] * inner
            for o in 0..<outer {
                (out.ptr + o * outShape[a] * inner + start * inner).update(from: src.ptr + o * width, count: width)
            }
            start += t.shape[a]
        }
        return out.recorded(.concat(axis: a), tensors)
    }

    /// Stacks equal-shaped tensors along a new dimension `axis`.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        concat(tensors.map { $0.unsqueezed(axis) }, axis: axis)
    }

    /// Elementwise `condition != 0 ? a : b`, broadcasting all three.
    public static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let ab = Shape.broadcast(a.shape, b.shape), let outShape = Shape.broadcast(condition.shape, ab) else {
            preconditionFailure("where: shapes \(condition.shape), \(a.shape), \(b.shape) do not broadcast")
        }
        let c = condition.cast(to: .float32).expanded(to: outShape).detached().contiguous()
        let x = a.cast(to: .float32).detached().expanded(to: outShape).contiguous()
        let y = b.cast(to: .float32).detached().expanded(to: outShape).contiguous()
        let out = Tensor(empty: outShape)
        let pc = SendablePointer(c.ptr), px = SendablePointer(x.ptr), py = SendablePointer(y.ptr), po = SendablePointer(out.ptr)
        Parallel.forChunks(out.count, grain: 16384) { r in
            for i in r { po.p[i] = pc.p[i] != 0 ? px.p[i] : py.p[i] }
        }
        return out.recorded(.whereSelect, [a, b], saved: [c])
    }

    /// This tensor with `value` wherever `mask` is non-zero.
    public func maskedFill(_ mask: Tensor, _ value: Float) -> Tensor {
        Tensor.select(mask, Tensor(scalar: value), self)
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

/// Errors from tensor-level input validation.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    case indexOutOfRange(position: Int, value: Int, bound: Int)
    case shapeMismatch(expected: [Int], got: [Int], context: String)

    public var description: String {
        switch self {
        case let .indexOutOfRange(position, value, bound):
            return "index \(value) at position \(position) is outside 0..<\(bound)"
        case let .shapeMismatch(expected, got, context):
            return "\(context): expected shape \(expected), got \(got)"
        }
    }
}
