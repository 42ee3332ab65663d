// Benchmark of the quantised matrix-vector product at SmolLM2-135M's shapes, at 1 and 2 threads.
// Built by bench/quant_matvec.sh together with Sources/Models/Quant (no package target needed).
// Prints one line per case and a JSON line per case (prefixed "json ") for the comparison script.
import Foundation

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random rows of `type` whose f16 scales are small and finite.
func randomMatrix(_ type: GGMLType, rows: Int, columns: Int, rng: inout SplitMix) -> [UInt8] {
    let values = (0..<columns).map { _ in Float.random(in: -0.1...0.1, using: &rng) }
    let row: [UInt8]
    switch type {
    case .q4_1: row = QuantReference.quantizeQ4_1(values)
    case .q8_0: row = QuantReference.quantizeQ8_0(values)
    default: fatalError("bench covers Q4_1 and Q8_0")
    }
    var out: [UInt8] = []
    out.reserveCapacity(row.count * rows)
    for _ in 0..<rows {
        var r = row
        // Vary the quants so rows differ, keep each block's scales.
        let stride = type == .q4_1 ? 20 : 34, first = type == .q4_1 ? 4 : 2
        for b in 0..<r.count / stride { for j in first..<stride { r[b * stride + j] = UInt8.random(in: 0...255, using: &rng) } }
        out += r
    }
    return out
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

let shapes: [(name: String, type: GGMLType, rows: Int, columns: Int)] = [
    ("attn_q/attn_output 576x576", .q4_1, 576, 576),
    ("ffn_up/ffn_gate 1536x576", .q4_1, 1536, 576),
    ("ffn_down 576x1536", .q4_1, 576, 1536),
    ("output head 49152x576 (as Q4_1)", .q4_1, 49152, 576),
    ("output head 49152x576 (Q8_0, the file's type)", .q8_0, 49152, 576),
]
let minSeconds = Double(CommandLine.arguments.dropFirst().first ?? "") ?? 0.5

var rng = SplitMix(state: 42)
for shape in shapes {
    let data = randomMatrix(shape.type, rows: shape.rows, columns: shape.columns, rng: &rng)
    var x = (0..<shape.columns).map { _ in Float.random(in: -1...1, using: &rng) }
    var y = [Float](repeating: 0, count: shape.rows)
    for threads in [1, 2] {
        data.withUnsafeBytes { raw in
            let w = QuantizedMatrix(type: shape.type, rows: shape.rows, columns: shape.columns,
                                    data: raw.baseAddress!, owner: nil)
            var iterations = 0
            let start = now()
            var elapsed = 0.0
            repeat {
                QuantMatmul.matvec(w, x, &y, threads: threads)
                x[iterations % shape.columns] += y[iterations % shape.rows] * 1e-30  // depend on the result
                iterations += 1
                elapsed = now() - start
            } while elapsed < minSeconds || iterations < 3
            let seconds = elapsed / Double(iterations)
            let gbps = Double(data.count) / seconds / 1e9
            let gflops = 2 * Double(shape.rows * shape.columns) / seconds / 1e9
            print(String(format: "%-48@ %@ threads=%d  %8.1f us  %6.1f GB/s  %6.1f GFLOP/s",
                         shape.name as NSString, "\(shape.type)" as NSString, threads, seconds * 1e6, gbps, gflops))
            print("json {\"name\":\"\(shape.name)\",\"type\":\"\(shape.type)\",\"rows\":\(shape.rows),\"columns\":\(shape.columns),"
                  + "\"threads\":\(threads),\"seconds\":\(seconds),\"gflops\":\(gflops),\"gbps\":\(gbps)}")
        }
    }
}

// Prompt processing: a batch of 64 activation rows through ffn_up's shape (matmul, not matvec).
do {
    let rows = 1536, columns = 576, batch = 64
    let data = randomMatrix(.q4_1, rows: rows, columns: columns, rng: &rng)
    var x = (0..<batch * columns).map { _ in Float.random(in: -1...1, using: &rng) }
    var y = [Float](repeating: 0, count: batch * rows)
    for threads in [1, 2] {
        data.withUnsafeBytes { raw in
            let w = QuantizedMatrix(type: .q4_1, rows: rows, columns: columns, data: raw.baseAddress!, owner: nil)
            var iterations = 0
            let start = now()
            var elapsed = 0.0
            repeat {
                QuantMatmul.matmul(w, x, batch: batch, &y, threads: threads)
                x[iterations % x.count] += y[iterations % y.count] * 1e-30
                iterations += 1
                elapsed = now() - start
            } while elapsed < minSeconds || iterations < 3
            let seconds = elapsed / Double(iterations)
            print(String(format: "%-48@ %@ threads=%d  %8.1f us  %6.1f GFLOP/s",
                         "matmul batch 64 x ffn_up 1536x576" as NSString, "Q4_1" as NSString, threads, seconds * 1e6,
                         2 * Double(rows * columns * batch) / seconds / 1e9))
        }
    }
}
