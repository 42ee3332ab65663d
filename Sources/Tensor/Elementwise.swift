// Elementwise ops: binary ops with NumPy broadcasting (add, sub, mul, div, pow) and unary maps
// (neg, exp, log, sqrt, rsqrt, tanh, relu, gelu, silu). SIMD inner loops, rows split over cores.

import Foundation

enum BinaryKind { case add, sub, mul, div, pow }

enum UnaryKind { case neg, exp, log, sqrt, rsqrt, tanh, relu, gelu(GeluApproximation), silu }

// MARK: - Kernels

enum ElementwiseKernels {
    /// out[i] = f(a[i * sa], b[i * sb]) for one row of n elements; SIMD when strides are 0 or 1.
    @inline(__always)
    static func row(_ n: Int, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                    _ o: UnsafeMutablePointer<Float>, _ fv: (Vec, Vec) -> Vec, _ fs: (Float, Float) -> Float) {
        var i = 0
        if sa == 1 && sb == 1 {
            while i + 16 <= n { VMath.store(fv(VMath.load(a + i), VMath.load(b + i)), o + i); i += 16 }
        } else if sa == 1 && sb == 0 {
            let bv = Vec(repeating: b[0])
            while i + 16 <= n { VMath.store(fv(VMath.load(a + i), bv), o + i); i += 16 }
        } else if sa == 0 && sb == 1 {
            let av = Vec(repeating: a[0])
            while i + 16 <= n { VMath.store(fv(av, VMath.load(b + i)), o + i); i += 16 }
        }
        while i < n { o[i] = fs(a[i * sa], b[i * sb]); i += 1 }
    }

    static func binary(_ kind: BinaryKind, _ n: Int, _ a: UnsafePointer<Float>, _ sa: Int,
                       _ b: UnsafePointer<Float>, _ sb: Int, _ o: UnsafeMutablePointer<Float>) {
        switch kind {
        case .add: row(n, a, sa, b, sb, o, { $0 + $1 }, { $0 + $1 })
        case .sub: row(n, a, sa, b, sb, o, { $0 - $1 }, { $0 - $1 })
        case .mul: row(n, a, sa, b, sb, o, { $0 * $1 }, { $0 * $1 })
        case .div: row(n, a, sa, b, sb, o, { $0 / $1 }, { $0 / $1 })
        case .pow: for i in 0..<n { o[i] = Foundation.pow(a[i * sa], b[i * sb]) }
        }
    }

    /// out = f(x) over n contiguous elements, SIMD body and scalar tail.
    @inline(__always)
    static func map(_ n: Int, _ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>,
                    _ fv: (Vec) -> Vec, _ fs: (Float) -> Float) {
        var i = 0
        while i + 16 <= n { VMath.store(fv(VMath.load(x + i)), o + i); i += 16 }
        while i < n { o[i] = fs(x[i]); i += 1 }
    }

    static func unary(_ kind: UnaryKind, _ n: Int, _ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>) {
        switch kind {
        case .neg: map(n, x, o, { -$0 }, { -$0 })
        case .exp: map(n, x, o, VMath.exp, VMath.exp)
        case .log: for i in 0..<n { o[i] = Foundation.log(x[i]) }
        case .sqrt: map(n, x, o, { $0.squareRoot() }, { $0.squareRoot() })
        case .rsqrt: map(n, x, o, { 1 / $0.squareRoot() }, { 1 / $0.squareRoot() })
        case .tanh: map(n, x, o, VMath.tanh, VMath.tanh)
        case .relu: map(n, x, o, { VMath.max($0, Vec()) }, { Swift.max($0, 0) })
        case .gelu(let a): map(n, x, o, { VMath.gelu($0, a) }, { VMath.gelu($0, a) })
        case .silu: map(n, x, o, { $0 * VMath.sigmoid($0) }, { $0 * VMath.sigmoid($0) })
        }
    }

    /// Scalar reference of `unary`, used by the tests through `Tensor.referenceUnary`.
    static func unaryReference(_ kind: UnaryKind, _ x: Float) -> Float {
        switch kind {
        case .neg: return -x
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .rsqrt: return 1 / x.squareRoot()
        case .tanh: return Foundation.tanh(x)
        case .relu: return Swift.max(x, 0)
        case .gelu(let a): return VMath.gelu(x, a)
        case .silu: return x / (1 + Foundation.exp(-x))
        }
    }
}

// MARK: - Tensor entry points

extension Tensor {
    func binaryOp(_ other: Tensor, _ kind: BinaryKind) -> Tensor {
        guard let outShape = Shape.broadcast(shape, other.shape) else {
            preconditionFailure("shapes \(shape) and \(other.shape) do not broadcast")
        }
        let a = dtype == .float32 ? self : cast(to: .float32)
        let b = other.dtype == .float32 ? other : other.cast(to: .float32)
        let out = Tensor(empty: outShape)
        let sa = Shape.broadcastStrides(a.shape, a.strides, to: outShape)
        let sb = Shape.broadcastStrides(b.shape, b.strides, to: outShape)
        let (dims, s) = Shape.collapse(outShape, [sa, sb, Shape.contiguousStrides(outShape)])
        let walker = RowWalker(shape: dims, strides: s)
        let inner = dims[dims.count - 1]
        let ia = s[0][dims.count - 1], ib = s[1][dims.count - 1]
        let pa = SendablePointer(a.ptr), pb = SendablePointer(b.ptr), po = SendablePointer(out.ptr)
        if walker.rows == 1 {
            // One long row: split the row itself.
            Parallel.forChunks(inner, grain: 16384) { r in
                ElementwiseKernels.binary(kind, r.count, pa.p + r.lowerBound * ia, ia, pb.p + r.lowerBound * ib, ib,
                                          po.p + r.lowerBound)
            }
        } else {
            Parallel.forChunks(walker.rows, grain: Swift.max(1, 16384 / Swift.max(inner, 1))) { rows in
                var offs = [0, 0, 0]
                for r in rows {
                    walker.offsets(r, into: &offs)
                    ElementwiseKernels.binary(kind, inner, pa.p + offs[0], ia, pb.p + offs[1], ib, po.p + offs[2])
                }
            }
        }
        let op: Op
        switch kind {
        case .add: op = .add
        case .sub: op = .sub
        case .mul: op = .mul
        case .div: op = .div
        case .pow: op = .pow
        }
        return out.recorded(op, [self, other])
    }

    func unaryOp(_ kind: UnaryKind) -> Tensor {
        let x = contiguous()
        let out = Tensor(empty: shape)
        let px = SendablePointer(x.ptr), po = SendablePointer(out.ptr)
        Parallel.forChunks(count, grain: 8192) { r in
            ElementwiseKernels.unary(kind, r.count, px.p + r.lowerBound, po.p + r.lowerBound)
        }
        let op: Op
        switch kind {
        case .neg: op = .neg
        case .exp: op = .exp
        case .log: op = .log
        case .sqrt: op = .sqrt
        case .rsqrt: op = .rsqrt
        case .tanh: op = .tanh
        case .relu: op = .relu
        case .gelu(let a): op = .gelu(a)
        case .silu: op = .silu
        }
        return out.recorded(op, [self])
    }

    // MARK: Public elementwise API

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.binaryOp(b, .add) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.binaryOp(b, .sub) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.binaryOp(b, .mul) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.binaryOp(b, .div) }
    public static prefix func - (a: Tensor) -> Tensor { a.unaryOp(.neg) }
    public static func + (a: Tensor, b: Float) -> Tensor { a.binaryOp(Tensor(scalar: b), .add) }
    public static func - (a: Tensor, b: Float) -> Tensor { a.binaryOp(Tensor(scalar: b), .sub) }
    public static func * (a: Tensor, b: Float) -> Tensor { a.binaryOp(Tensor(scalar: b), .mul) }
    public static func / (a: Tensor, b: Float) -> Tensor { a.binaryOp(Tensor(scalar: b), .div) }
    public static func + (a: Float, b: Tensor) -> Tensor { Tensor(scalar: a).binaryOp(b, .add) }
    public static func - (a: Float, b: Tensor) -> Tensor { Tensor(scalar: a).binaryOp(b, .sub) }
    public static func * (a: Float, b: Tensor) -> Tensor { Tensor(scalar: a).binaryOp(b, .mul) }
    public static func / (a: Float, b: Tensor) -> Tensor { Tensor(scalar: a).binaryOp(b, .div) }

    /// self ^ exponent, elementwise with broadcasting.
    public func pow(_ exponent: Tensor) -> Tensor { binaryOp(exponent, .pow) }
    /// self ^ exponent.
    public func pow(_ exponent: Float) -> Tensor { binaryOp(Tensor(scalar: exponent), .pow) }
    /// e^x.
    public func exp() -> Tensor { unaryOp(.exp) }
    /// Natural logarithm.
    public func log() -> Tensor { unaryOp(.log) }
    /// Square root.
    public func sqrt() -> Tensor { unaryOp(.sqrt) }
    /// 1 / sqrt(x).
    public func rsqrt() -> Tensor { unaryOp(.rsqrt) }
    /// Hyperbolic tangent.
    public func tanh() -> Tensor { unaryOp(.tanh) }
    /// Swift.max(x, 0).
    public func relu() -> Tensor { unaryOp(.relu) }
    /// Gaussian error linear unit; `.tanh` is T5's gelu_new and GPT-2's approximation.
    public func gelu(_ approximation: GeluApproximation = .exact) -> Tensor { unaryOp(.gelu(approximation)) }
    /// x * sigmoid(x) (Llama's SwiGLU gate).
    public func silu() -> Tensor { unaryOp(.silu) }

    /// Applies the scalar reference of a unary op (test hook for the SIMD kernels).
    public func referenceUnary(_ name: String) -> Tensor {
        let kinds: [String: UnaryKind] = ["neg": .neg, "exp": .exp, "log": .log, "sqrt": .sqrt, "rsqrt": .rsqrt,
                                          "tanh": .tanh, "relu": .relu, "gelu": .gelu(.exact),
                                          "gelu_tanh": .gelu(.tanh), "silu": .silu]
        guard let kind = kinds[name] else { preconditionFailure("referenceUnary: unknown op \(name)") }
        return Tensor(scalars.map { ElementwiseKernels.unaryReference(kind, $0) }, shape: shape)
    }
}
