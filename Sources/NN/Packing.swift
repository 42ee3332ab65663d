// Sequence packing: several examples per fixed-length row, so that a batch of short examples
// does not pay for padding. First fit keeps the examples' order inside each row and gives the
// same rows for the same lengths on every run.

import Foundation

/// Why a set of examples cannot be packed.
public enum PackingError: Error, CustomStringConvertible, Equatable {
    /// The row capacity is below 1.
    case invalidCapacity(Int)
    /// Example `index` does not fit in an empty row: one of its `lengths` exceeds `capacity`.
    case exampleTooLong(index: Int, lengths: [Int], capacity: Int)
    /// Example `index` has a negative length, or a different number of dimensions than example 0.
    case invalidLengths(index: Int, lengths: [Int], expectedDimensions: Int)

    public var description: String {
        switch self {
        case .invalidCapacity(let c):
            return "packing capacity must be at least 1 token, got \(c)"
        case let .exampleTooLong(index, lengths, capacity):
            let shown = lengths.count == 1 ? "\(lengths[0]) tokens" : "lengths \(lengths)"
            return "example \(index) has \(shown), more than the pack length \(capacity); raise the pack length or shorten the example"
        case let .invalidLengths(index, lengths, dimensions):
            return "example \(index) has lengths \(lengths); expected \(dimensions) non-negative length(s), like example 0"
        }
    }
}

/// Packs examples into rows of a fixed capacity.
public enum Packing {
    /// First-fit packing: each example, in the given order, goes into the first row where every
    /// dimension still fits within `capacity`; a new row opens when none fits.
    /// - Parameters:
    ///   - lengths: one entry per example: its length along each packed dimension (an
    ///     encoder-decoder: `[sourceCount, targetCount]`; a decoder-only model: `[rowCount]`).
    ///   - capacity: the length of a row, the same along every dimension.
    /// - Returns: the rows, each the indices of its examples in increasing order.
    /// - Throws: `PackingError` when `capacity` < 1, an example alone exceeds it, or an
    ///   example's lengths are negative or have another number of dimensions than example 0's.
    public static func firstFit(_ lengths: [[Int]], capacity: Int) throws -> [[Int]] {
        try firstFit(lengths, capacities: Array(repeating: capacity, count: lengths.first?.count ?? 0))
    }

    /// First-fit decreasing: the longest examples (by their summed lengths) are placed first,
    /// which fills rows more evenly than the given order; each row lists its examples in
    /// increasing index order. Deterministic: ties keep the given order.
    public static func firstFitDecreasing(_ lengths: [[Int]], capacities: [Int]) throws -> [[Int]] {
        let order = lengths.indices.sorted { (-lengths[$0].reduce(0, +), $0) < (-lengths[$1].reduce(0, +), $1) }
        do {
            let rows = try firstFit(order.map { lengths[$0] }, capacities: capacities)
            return rows.map { $0.map { order[$0] }.sorted() }
        } catch PackingError.exampleTooLong(let index, let example, let capacity) {
            // Name the example by its place in the caller's list, not in the sorted one.
            throw PackingError.exampleTooLong(index: order[index], lengths: example, capacity: capacity)
        } catch PackingError.invalidLengths(let index, let example, let dimensions) {
            throw PackingError.invalidLengths(index: order[index], lengths: example, expectedDimensions: dimensions)
        }
    }

    /// First-fit packing with a capacity per dimension (an encoder-decoder whose targets are
    /// shorter than its sources packs them into shorter decoder rows).
    /// - Throws: As `firstFit(_:capacity:)`; `capacities` must have one entry per dimension.
    public static func firstFit(_ lengths: [[Int]], capacities: [Int]) throws -> [[Int]] {
        if let bad = capacities.first(where: { $0 < 1 }) { throw PackingError.invalidCapacity(bad) }
        let dimensions = lengths.first?.count ?? 0
        var rows: [[Int]] = [], used: [[Int]] = []                     // examples and filled length per row
        for (index, example) in lengths.enumerated() {
            guard example.count == dimensions, capacities.count == dimensions, example.allSatisfy({ $0 >= 0 }) else {
                throw PackingError.invalidLengths(index: index, lengths: example, expectedDimensions: dimensions)
            }
            if let d = example.indices.first(where: { example[$0] > capacities[$0] }) {
                throw PackingError.exampleTooLong(index: index, lengths: example, capacity: capacities[d])
            }
            let fits = { (row: Int) in (0..<dimensions).allSatisfy { used[row][$0] + example[$0] <= capacities[$0] } }
            if let row = rows.indices.first(where: fits) {
                rows[row].append(index)
                for d in 0..<dimensions { used[row][d] += example[d] }
            } else {
                rows.append([index])
                used.append(example)
            }
        }
        return rows
    }
}
