// Shape arithmetic: element counts, strides, axis normalisation, broadcasting and the dimension
// collapsing that lets kernels walk strided views with long contiguous inner loops.

/// Helpers over shape and stride arrays.
public enum Shape {
    /// Product of the dimensions (1 for a scalar).
    @inline(__always) public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major strides for `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc *= shape[i]
        }
        return strides
    }

    /// True when `strides` are row-major for `shape` (size-1 dimensions may have any stride).
    public static func isContiguous(_ shape: [Int], _ strides: [Int]) -> Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// `axis` in `0..<rank` (negative counts from the end).
    @inline(__always) public static func axis(_ axis: Int, rank: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < max(rank, 1), "axis \(axis) out of range for rank \(rank)")
        return a
    }

    /// The broadcast of two shapes (NumPy rules), or nil when they do not broadcast.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Strides that read a tensor of `shape`/`strides` broadcast to `target` (0 on new dims).
    static func broadcastStrides(_ shape: [Int], _ strides: [Int], to target: [Int]) -> [Int] {
        let pad = target.count - shape.count
        precondition(pad >= 0, "cannot broadcast \(shape) to \(target)")
        var out = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count {
            if shape[i] == target[i + pad] { out[i + pad] = shape[i] == 1 ? 0 : strides[i] }
            else { precondition(shape[i] == 1, "cannot broadcast \(shape) to \(target)") }
        }
        return out
    }

    /// Merges adjacent dimensions that every operand steps through contiguously. Returns the
    /// collapsed shape and one stride array per operand; the last entry is the inner loop.
    static func collapse(_ shape: [Int], _ strides: [[Int]]) -> ([Int], [[Int]]) {
        var dims: [Int] = []
        var outStrides = [[Int]](repeating: [], count: strides.count)
        for i in 0..<shape.count where shape[i] != 1 {
            if let last = dims.last,
               strides.indices.allSatisfy({ outStrides[$0].last == strides[$0][i] * shape[i] }) {
                dims[dims.count - 1] = last * shape[i]
                for k in strides.indices { outStrides[k][outStrides[k].count - 1] = strides[k][i] }
            } else {
                dims.append(shape[i])
                for k in strides.indices { outStrides[k].append(strides[k][i]) }
            }
        }
        if dims.isEmpty { return ([1], strides.map { _ in [0] }) }
        return (dims, outStrides)
    }
}

/// Walks the outer dimensions of a collapsed shape, giving each operand's offset per row.
struct RowWalker {
    let outer: [Int]
    let strides: [[Int]]

    init(shape: [Int], strides: [[Int]]) {
        outer = Array(shape.dropLast())
        self.strides = strides.map { Array($0.dropLast()) }
    }

    var rows: Int { Shape.count(outer) }

    /// Offsets of row `r` for each operand.
    @inline(__always) func offsets(_ r: Int, into result: inout [Int]) {
        for k in result.indices { result[k] = 0 }
        var rem = r
        for d in stride(from: outer.count - 1, through: 0, by: -1) {
            let i = rem % outer[d]
            rem /= outer[d]
            for k in result.indices { result[k] += i * strides[k][d] }
        }
    }
}
