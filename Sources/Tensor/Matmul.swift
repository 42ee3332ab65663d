// Matrix products through cblas_sgemm. Transposed views are passed to BLAS as transposes
// (no copy); batch dimensions broadcast; many small products run one per core with BLAS
// single-threaded, one large product uses BLAS's own threads.

import CBLAS
import Foundation

/// How one operand's last two dimensions map onto a BLAS matrix.
struct GemmOperand {
    let tensor: Tensor
    let transpose: Bool
    let ld: Int

    /// Views `t` (..., rows, cols) as a BLAS operand, copying only when neither layout fits.
    init(_ t: Tensor) {
        let r = t.rank, rows = t.shape[r - 2], cols = t.shape[r - 1]
        let s0 = t.strides[r - 2], s1 = t.strides[r - 1]
        if (s1 == 1 || cols == 1) && s0 >= Swift.max(cols, 1) {
            tensor = t; transpose = false; ld = Swift.max(s0, Swift.max(cols, 1))
        } else if (s0 == 1 || rows == 1) && s1 >= Swift.max(rows, 1) {
            tensor = t; transpose = true; ld = Swift.max(s1, Swift.max(rows, 1))
        } else {
            let c = t.contiguousCopy()
            tensor = c; transpose = false; ld = Swift.max(cols, 1)
        }
    }
}

enum Gemm {
    /// C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C, row-major.
    @inline(__always)
    static func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                      _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                      _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        _ = BLASRuntime.fastKernelsSelected
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Runs `count` independent small products, one core each, with BLAS single-threaded.
    static func batched(_ count: Int, flopsEach: Int, _ body: (Int) -> Void) {
        if count == 1 || flopsEach >= 1 << 24 || Parallel.threads == 1 {
            for i in 0..<count { body(i) }
            return
        }
        let saved = BLASRuntime.threads
        BLASRuntime.threads = 1
        defer { BLASRuntime.threads = saved }
        Parallel.forChunks(count, grain: 1) { r in for i in r { body(i) } }
    }
}

extension Tensor {
    /// Matrix product over the last two dimensions, broadcasting the batch dimensions:
    /// (..., M, K) x (..., K, N) -> (..., M, N).
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2, "matmul needs rank >= 2, got \(shape) and \(other.shape)")
        let m = shape[rank - 2], k = shape[rank - 1], n = other.shape[other.rank - 1]
        precondition(other.shape[other.rank - 2] == k, "matmul: \(shape) x \(other.shape): inner dimensions differ")
        let a32 = dtype == .float32 ? self : cast(to: .float32)
        let b32 = other.dtype == .float32 ? other : other.cast(to: .float32)
        let batchA = Array(shape.dropLast(2)), batchB = Array(other.shape.dropLast(2))
        guard let batch = Shape.broadcast(batchA, batchB) else {
            preconditionFailure("matmul: batch dimensions \(batchA) and \(batchB) do not broadcast")
        }
        let out = Tensor(empty: batch + [m, n])
        // (B..., M, K) x (K, N) with a row-major A: one large product.
        if batchB.isEmpty && a32.isContiguous {
            let bOp = GemmOperand(b32)
            Gemm.sgemm(false, bOp.transpose, Shape.count(batch) * m, n, k, 1, a32.ptr, Swift.max(k, 1),
                       bOp.tensor.ptr, bOp.ld, 0, out.ptr, Swift.max(n, 1))
            return out.recorded(.matmul, [self, other])
        }
        let aOp = GemmOperand(a32), bOp = GemmOperand(b32)
        let sa = Shape.broadcastStrides(batchA, Array(aOp.tensor.strides.dropLast(2)), to: batch)
        let sb = Shape.broadcastStrides(batchB, Array(bOp.tensor.strides.dropLast(2)), to: batch)
        let cs = Shape.contiguousStrides(batch)
        let pa = SendablePointer(aOp.tensor.ptr), pb = SendablePointer(bOp.tensor.ptr), po = SendablePointer(out.ptr)
        Gemm.batched(Shape.count(batch), flopsEach: 2 * m * n * k) { i in
            var oa = 0, ob = 0
            for d in 0..<batch.count {
                let idx = (i / cs[d]) % batch[d]
                oa += idx * sa[d]; ob += idx * sb[d]
            }
            Gemm.sgemm(aOp.transpose, bOp.transpose, m, n, k, 1, pa.p + oa, aOp.ld, pb.p + ob, bOp.ld,
                       0, po.p + i * m * n, Swift.max(n, 1))
        }
        return out.recorded(.matmul, [self, other])
    }
}

extension Tensor {
    /// Fused affine map x W^T + b with W (out, in) as PyTorch stores it: (..., in) -> (..., out).
    /// The bias is written first and the product accumulated onto it (one pass, no extra add),
    /// and the backward computes dW directly in (out, in) layout.
    public func linear(weight: Tensor, bias: Tensor? = nil) -> Tensor {
        precondition(weight.rank == 2 && weight.shape[1] == shape.last, "linear: x \(shape) does not fit weight \(weight.shape)")
        let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
        precondition(bias == nil || bias?.shape == [outFeatures], "linear: bias must be [\(outFeatures)]")
        let x = (dtype == .float32 ? self : cast(to: .float32)).contiguous()
        let w = (weight.dtype == .float32 ? weight : weight.cast(to: .float32))
        let wOp = GemmOperand(w)
        let rows = count / Swift.max(inFeatures, 1)
        let out = Tensor(empty: Array(shape.dropLast()) + [outFeatures])
        if let bias {
            let b = bias.cast(to: .float32).contiguous()
            let pb = SendablePointer(b.ptr), po = SendablePointer(out.ptr)
            Parallel.forChunks(rows, grain: Swift.max(1, 16384 / Swift.max(outFeatures, 1))) { r in
                for i in r { (po.p + i * outFeatures).update(from: pb.p, count: outFeatures) }
            }
        }
        Gemm.sgemm(false, !wOp.transpose, rows, outFeatures, inFeatures, 1, x.ptr, Swift.max(inFeatures, 1),
                   wOp.tensor.ptr, wOp.ld, bias == nil ? 0 : 1, out.ptr, Swift.max(outFeatures, 1))
        return out.recorded(.linear, bias.map { [self, weight, $0] } ?? [self, weight])
    }
}
