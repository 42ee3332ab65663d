// The SIMD kernels and the threaded matvec/matmul against the scalar reference, on random
// blocks of every type (random bytes with sane f16 scales), and on the real model's tensors.
import Foundation
import Models
import XCTest

final class QuantKernelTests: XCTestCase {
    /// Random rows of `type`: random quants, scales drawn from a sane range.
    static func randomRows(_ type: GGMLType, rows: Int, columns: Int, rng: inout SeededRNG) -> [UInt8] {
        let n = rows * columns
        switch type {
        case .f32: return floatBytes(rng.floats(n))
        case .f16: return rng.floats(n).flatMap(halfBytes)
        case .bf16: return rng.floats(n).flatMap { v -> [UInt8] in let b = v.bitPattern >> 16; return [UInt8(b & 0xFF), UInt8(b >> 8)] }
        default: break
        }
        let traits = type.traits
        var bytes: [UInt8] = []
        for _ in 0..<n / traits.blockSize {
            var block = rng.bytes(traits.bytesPerBlock)
            // Offsets of the f16 scales, per ggml-common.h.
            let halves: [Int]
            switch type {
            case .q4_0, .q5_0, .q8_0: halves = [0]
            case .q4_1, .q5_1, .q4_K, .q5_K: halves = [0, 2]
            case .q6_K: halves = [208]
            default: halves = []
            }
            for h in halves { block.replaceSubrange(h..<h + 2, with: halfBytes(rng.float(-0.05...0.05))) }
            bytes += block
        }
        return bytes
    }

    func checkMatvec(_ type: GGMLType, rows: Int, columns: Int, threads: Int, seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        let data = Self.randomRows(type, rows: rows, columns: columns, rng: &rng)
        let x = rng.floats(columns)
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return XCTFail("empty") }
            let w = QuantizedMatrix(type: type, rows: rows, columns: columns, data: base, owner: nil)
            let fast = QuantMatmul.matvec(w, x, threads: threads)
            let reference = QuantMatmul.referenceMatvec(w, x)
            let traits = type.traits
            for r in 0..<rows {
                // Bound the error by the magnitude of the terms: Σ |w_i x_i|.
                var values = [Float](repeating: 0, count: columns)
                values.withUnsafeMutableBufferPointer { if let b = $0.baseAddress { traits.dequantizeRow(w.row(r), b, columns) } }
                let magnitude = zip(values, x).reduce(0.0) { $0 + Double(abs($1.0 * $1.1)) }
                XCTAssertEqual(Double(fast[r]), reference[r], accuracy: 2e-6 * magnitude + 1e-6, "\(type) row \(r)")
            }
        }
    }

    func testEveryTypeAgainstReference() {
        for (i, type) in GGMLType.allCases.enumerated() {
            let columns = type.traits.blockSize == 256 ? 512 : 96
            checkMatvec(type, rows: 130, columns: columns, threads: 2, seed: UInt64(100 + i))
        }
        // Float types with a tail that is not a multiple of 16.
        for type in [GGMLType.f32, .f16, .bf16] { checkMatvec(type, rows: 5, columns: 37, threads: 1, seed: 9) }
    }

    func testThreadCountDoesNotChangeResults() {
        var rng = SeededRNG(seed: 5)
        let rows = 300, columns = 576
        let data = Self.randomRows(.q4_1, rows: rows, columns: columns, rng: &rng)
        let x = rng.floats(columns)
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            let w = QuantizedMatrix(type: .q4_1, rows: rows, columns: columns, data: base, owner: nil)
            let one = QuantMatmul.matvec(w, x, threads: 1)
            XCTAssertEqual(one, QuantMatmul.matvec(w, x, threads: 2))
            XCTAssertEqual(one, QuantMatmul.matvec(w, x, threads: 3))
        }
    }

    func testMatmulMatchesMatvecPerRow() {
        for type in [GGMLType.q4_1, .q8_0, .q6_K, .f16] {
            var rng = SeededRNG(seed: 21)
            let rows = 70, columns = 512, batch = 5
            let data = Self.randomRows(type, rows: rows, columns: columns, rng: &rng)
            let x = rng.floats(batch * columns)
            data.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                let w = QuantizedMatrix(type: type, rows: rows, columns: columns, data: base, owner: nil)
                let y = QuantMatmul.matmul(w, x, batch: batch, threads: 2)
                for b in 0..<batch {
                    let xb = Array(x[b * columns..<(b + 1) * columns])
                    let reference = QuantMatmul.referenceMatvec(w, xb)
                    for r in 0..<rows {
                        XCTAssertEqual(Double(y[b * rows + r]), reference[r], accuracy: 1e-4 * max(1, abs(reference[r])), "\(type)")
                    }
                }
            }
        }
    }

    func testRealTensorsMatvec() throws {
        guard let file = RealModel.require() else { return }
        var rng = SeededRNG(seed: 3)
        for name in ["blk.0.ffn_up.weight", "blk.29.ffn_down.weight", "blk.5.attn_k.weight", "token_embd.weight"] {
            let w = try file.requireTensor(name).matrix
            let x = rng.floats(w.columns)
            let fast = QuantMatmul.matvec(w, x, threads: 2)
            let rowsToCheck = stride(from: 0, to: w.rows, by: max(1, w.rows / 200))
            for r in rowsToCheck {
                let ref = w.type.traits.referenceDot(w.row(r), x, w.columns)
                XCTAssertEqual(Double(fast[r]), ref, accuracy: 1e-4 * max(1, abs(ref)), "\(name) row \(r)")
            }
        }
    }
}
