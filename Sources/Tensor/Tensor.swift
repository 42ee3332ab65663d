// Tensor: a strided view over a Storage, plus the autograd fields. Ops never mutate their
// inputs' data; they return new tensors (views share storage). Only optimizers write in place.

import Foundation

/// An n-dimensional array of Float32 (or Float16/BFloat16/Int32/Int64 storage) with autograd.
public final class Tensor: CustomStringConvertible {
    /// The buffer this tensor views.
    public let storage: Storage
    /// Sizes of each dimension.
    public let shape: [Int]
    /// Elements to step in storage per unit of each dimension (0 for a broadcast dimension).
    public let strides: [Int]
    /// Index of element [0, 0, ...] in storage.
    public let offset: Int
    /// Whether gradients flow to this tensor.
    public var requiresGrad: Bool
    /// Accumulated gradient (same shape), set by `backward()`.
    public var grad: Tensor?
    /// The op that produced this tensor, while a tape records it.
    var node: Node?

    init(storage: Storage, shape: [Int], strides: [Int], offset: Int = 0, requiresGrad: Bool = false) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.requiresGrad = requiresGrad
    }

    /// An uninitialised contiguous tensor (kernels fill it).
    init(empty shape: [Int], dtype: DType = .float32, zeroed: Bool = false) {
        self.storage = Storage(dtype: dtype, count: Shape.count(shape), zeroed: zeroed)
        self.shape = shape
        self.strides = Shape.contiguousStrides(shape)
        self.offset = 0
        self.requiresGrad = false
    }

    /// A Float32 tensor from values in row-major order.
    /// - Parameters:
    ///   - values: `shape`'s product many floats.
    ///   - shape: dimensions; `[]` for a scalar.
    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) {
        precondition(values.count == Shape.count(shape), "Tensor: \(values.count) values for shape \(shape)")
        self.init(empty: shape)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { storage.floats.update(from: base, count: values.count) }
        }
        self.requiresGrad = requiresGrad
    }

    /// An Int32 tensor (token ids, targets) from values in row-major order.
    public convenience init(indices values: [Int32], shape: [Int]) {
        precondition(values.count == Shape.count(shape), "Tensor: \(values.count) indices for shape \(shape)")
        self.init(empty: shape, dtype: .int32)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { storage.int32s.update(from: base, count: values.count) }
        }
    }

    /// A Float32 scalar.
    public convenience init(scalar: Float) { self.init([scalar], shape: []) }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(empty: shape, dtype: dtype, zeroed: true)
        t.requiresGrad = requiresGrad
        return t
    }

    /// A Float32 tensor filled with `value`.
    public static func full(_ shape: [Int], _ value: Float, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(empty: shape)
        t.storage.floats.update(repeating: value, count: t.count)
        t.requiresGrad = requiresGrad
        return t
    }

    /// A Float32 tensor of ones.
    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, 1, requiresGrad: requiresGrad)
    }

    /// `0, 1, ..., n-1` as Float32.
    public static func arange(_ n: Int) -> Tensor { Tensor((0..<n).map(Float.init), shape: [n]) }

    /// Element type of the storage.
    public var dtype: DType { storage.dtype }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { Shape.count(shape) }
    /// Size of dimension `axis` (negative counts from the end).
    public func size(_ axis: Int) -> Int { shape[Shape.axis(axis, rank: rank)] }

    /// True when elements lie in row-major order with no gaps (offset may be non-zero).
    public var isContiguous: Bool { Shape.isContiguous(shape, strides) }

    /// Values in row-major order, converted to Float.
    public var scalars: [Float] {
        let c = contiguous()
        let n = c.count, o = c.offset
        switch dtype {
        case .float32: return Array(UnsafeBufferPointer(start: c.storage.floats + o, count: n))
        case .float16: return (0..<n).map { Float16Bits.toFloat(c.storage.uint16s[o + $0]) }
        case .bfloat16: return (0..<n).map { BFloat16Bits.toFloat(c.storage.uint16s[o + $0]) }
        case .int32: return (0..<n).map { Float(c.storage.int32s[o + $0]) }
        case .int64: return (0..<n).map { Float(c.storage.int64s[o + $0]) }
        }
    }

    /// Values of an Int32 or Int64 tensor in row-major order.
    public var indexScalars: [Int] {
        let c = contiguous()
        switch dtype {
        case .int32: return (0..<count).map { Int(c.storage.int32s[c.offset + $0]) }
        case .int64: return (0..<count).map { Int(c.storage.int64s[c.offset + $0]) }
        default: return scalars.map { Int($0) }
        }
    }

    /// The single value of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item(): tensor has \(count) elements, shape \(shape)")
        return scalars[0]
    }

    /// This tensor cut from the tape: same data, no gradient history.
    public func detached() -> Tensor { Tensor(storage: storage, shape: shape, strides: strides, offset: offset) }

    /// Pointer to element [0, ...] of a Float32 tensor (kernels only).
    var ptr: UnsafeMutablePointer<Float> {
        precondition(dtype == .float32, "this op needs float32 data, got \(dtype); use cast(to: .float32)")
        return storage.floats + offset
    }

    public var description: String {
        let vals = count <= 16 ? scalars.map { String(format: "%.4g", $0) }.joined(separator: ", ") : "..."
        return "Tensor(\(shape), \(dtype)\(requiresGrad ? ", grad" : "")) [\(vals)]"
    }

    // MARK: - In-place updates (optimizers and data loading only)

    /// Overwrites this contiguous Float32 tensor's values; the tape does not see it.
    public func assign(_ values: [Float]) {
        precondition(isContiguous && dtype == .float32 && values.count == count, "assign: shape/dtype mismatch")
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { ptr.update(from: base, count: count) }
        }
    }

    /// Copies `other`'s values into this contiguous tensor, converting to this tensor's dtype
    /// (element counts must match).
    public func assign(_ other: Tensor) {
        precondition(isContiguous && other.count == count, "assign: \(other.shape) into \(shape)")
        let src = Tensor.withoutGrad { other.cast(to: dtype).contiguous() }
        let bytes = dtype.byteSize
        (storage.raw + offset * bytes).copyMemory(from: src.storage.raw + src.offset * bytes, byteCount: count * bytes)
    }

    /// Calls `body` with mutable access to this contiguous Float32 tensor's elements.
    public func withUnsafeMutableFloats<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(isContiguous && dtype == .float32, "withUnsafeMutableFloats needs contiguous float32")
        return try body(UnsafeMutableBufferPointer(start: ptr, count: count))
    }
}
