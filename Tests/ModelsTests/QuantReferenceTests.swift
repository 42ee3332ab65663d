// Known blocks, written by hand with chosen scales and nibbles, against what each format
// defines; the traits table against ggml's block sizes; the reference quantisers' round trips.
import Foundation
import Models
import XCTest

final class QuantReferenceTests: XCTestCase {
    func dequantize(_ type: GGMLType, _ bytes: [UInt8]) -> [Float] {
        let traits = type.traits
        let n = bytes.count / traits.bytesPerBlock * traits.blockSize
        var out = [Float](repeating: .nan, count: n)
        bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer { dst in
                if let s = src.baseAddress, let d = dst.baseAddress { traits.dequantizeRow(s, d, n) }
            }
        }
        return out
    }

    func testTraitsTableMatchesGGML() {
        let expected: [GGMLType: (Int, Int)] = [
            .f32: (1, 4), .f16: (1, 2), .bf16: (1, 2), .q8_0: (32, 34), .q4_0: (32, 18), .q4_1: (32, 20),
            .q5_0: (32, 22), .q5_1: (32, 24), .q4_K: (256, 144), .q5_K: (256, 176), .q6_K: (256, 210),
        ]
        XCTAssertEqual(quantTraitsTable.count, GGMLType.allCases.count)
        for type in GGMLType.allCases {
            let t = type.traits
            XCTAssertEqual(t.type, type)
            XCTAssertEqual(t.blockSize, expected[type]?.0, "\(type)")
            XCTAssertEqual(t.bytesPerBlock, expected[type]?.1, "\(type)")
        }
        XCTAssertEqual(GGMLType.q4_1.traits.rowBytes(576), 360)
    }

    func testFloatTypes() {
        XCTAssertEqual(dequantize(.f32, floatBytes([1.5, -2, 0])), [1.5, -2, 0])
        XCTAssertEqual(dequantize(.f16, [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38, 0x01, 0x00]),
                       [1, -2, 0.5, Float(sign: .plus, exponent: -24, significand: 1)])
        XCTAssertEqual(dequantize(.bf16, [0x80, 0x3F, 0x40, 0xC0]), [1, -3])
        XCTAssertEqual(halfToFloat(floatToHalf(0.1)), 0.0999755859375)
    }

    func testQ4_0() {
        // d = 2; byte j holds j (low) and 15 - j (high): x[j] = 2 (j - 8), x[j+16] = 2 (7 - j).
        let block = halfBytes(2) + (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }
        let x = dequantize(.q4_0, block)
        for j in 0..<16 {
            XCTAssertEqual(x[j], Float(2 * (j - 8)))
            XCTAssertEqual(x[j + 16], Float(2 * (7 - j)))
        }
    }

    func testQ4_1() {
        // d = 0.5, m = -1: x[j] = 0.5 j - 1, x[j+16] = 0.5 (15 - j) - 1.
        let block = halfBytes(0.5) + halfBytes(-1) + (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }
        let x = dequantize(.q4_1, block)
        for j in 0..<16 {
            XCTAssertEqual(x[j], 0.5 * Float(j) - 1)
            XCTAssertEqual(x[j + 16], 0.5 * Float(15 - j) - 1)
        }
    }

    func testQ5_0AndQ5_1() {
        // qh = 0xFFFF0000: only elements 16..31 get the fifth bit; nibbles 1 (low) and 2 (high).
        let qh: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]
        let x0 = dequantize(.q5_0, halfBytes(1) + qh + [UInt8](repeating: 0x21, count: 16))
        XCTAssertEqual(Array(x0[0..<16]), [Float](repeating: -15, count: 16))
        XCTAssertEqual(Array(x0[16..<32]), [Float](repeating: 2, count: 16))
        // qh = 0x00000001: only element 0 gets it; d = 1, m = 0.5.
        let x1 = dequantize(.q5_1, halfBytes(1) + halfBytes(0.5) + [1, 0, 0, 0] + [UInt8](repeating: 0x21, count: 16))
        XCTAssertEqual(x1[0], 17.5)
        XCTAssertEqual(x1[1], 1.5)
        XCTAssertEqual(x1[16], 2.5)
    }

    func testQ8_0() {
        let block = halfBytes(0.25) + (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        XCTAssertEqual(dequantize(.q8_0, block), (0..<32).map { Float($0 - 16) * 0.25 })
    }

    func testQ4_K() {
        // Scales 1,2,3,4 and mins 5,6,7,8 for sub-blocks 0-3 (6-bit, bytes 0-7); sub-blocks 4-7
        // take their low 4 bits from bytes 8-11: 0x21 → scale 1, min 2; 0x43 → 3, 4; ...
        let scales: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 0x21, 0x43, 0x65, 0x87]
        let block = halfBytes(1) + halfBytes(0.5) + scales + [UInt8](repeating: 0x53, count: 128)
        let x = dequantize(.q4_K, block)
        let sc: [Float] = [1, 2, 3, 4, 1, 3, 5, 7], mins: [Float] = [5, 6, 7, 8, 2, 4, 6, 8]
        for s in 0..<8 {
            let q: Float = s % 2 == 0 ? 3 : 5  // even sub-blocks use low nibbles
            for l in 0..<32 { XCTAssertEqual(x[32 * s + l], sc[s] * q - 0.5 * mins[s], "sub-block \(s)") }
        }
        // The high two bits of bytes 0-7 extend sub-blocks 4-7 to 6 bits: byte 0 bit 6 → scale 4 += 16.
        var high = block
        high[4] |= 0x40
        XCTAssertEqual(dequantize(.q4_K, high)[128], (1 + 16) * 3 - 0.5 * 2)
    }

    func testQ5_K() {
        // Every scale 1, min 0; qs zero; qh bit 0 set: only sub-block 0 (low nibbles of the first
        // 64) gets the fifth bit, worth 16.
        let scales: [UInt8] = [1, 1, 1, 1, 0, 0, 0, 0, 0x01, 0x01, 0x01, 0x01]
        let x = dequantize(.q5_K, halfBytes(1) + halfBytes(0) + scales + [UInt8](repeating: 1, count: 32)
                                  + [UInt8](repeating: 0, count: 128))
        XCTAssertEqual(Array(x[0..<32]), [Float](repeating: 16, count: 32))
        XCTAssertEqual(Array(x[32..<256]), [Float](repeating: 0, count: 224))
        let all = dequantize(.q5_K, halfBytes(1) + halfBytes(0) + scales + [UInt8](repeating: 0xFF, count: 32)
                                    + [UInt8](repeating: 0x21, count: 128))
        for s in 0..<8 { XCTAssertEqual(all[32 * s], s % 2 == 0 ? 17 : 18) }
    }

    func testQ6_K() {
        // ql = 0x21 (low 1, high 2); qh = 0b11_10_01_00 gives the four 2-bit fields 0,1,2,3.
        // q1 = 1 - 32, q2 = (1 | 16) - 32, q3 = (2 | 32) - 32, q4 = (2 | 48) - 32. Scales i - 8, d = 0.5.
        let block = [UInt8](repeating: 0x21, count: 128) + [UInt8](repeating: 0xE4, count: 64)
            + (0..<16).map { UInt8(bitPattern: Int8($0 - 8)) } + halfBytes(0.5)
        let x = dequantize(.q6_K, block)
        let q: [Float] = [-31, -15, 2, 18]
        for half in 0..<2 {
            for l in 0..<32 {
                for k in 0..<4 {
                    let scale = Float(8 * half + l / 16 + 2 * k - 8)
                    XCTAssertEqual(x[128 * half + 32 * k + l], 0.5 * scale * q[k], "half \(half) l \(l) k \(k)")
                }
            }
        }
    }

    func testQuantiserRoundTrips() {
        var rng = SeededRNG(seed: 11)
        let values = rng.floats(256, -2...2)
        for (type, bytes, bound) in [(GGMLType.q8_0, QuantReference.quantizeQ8_0(values), Float(2) / 127),
                                     (.q4_0, QuantReference.quantizeQ4_0(values), Float(2) / 8 + 0.01),
                                     (.q4_1, QuantReference.quantizeQ4_1(values), Float(4) / 15 + 0.01)] {
            let back = dequantize(type, bytes)
            for (a, b) in zip(values, back) { XCTAssertLessThanOrEqual(abs(a - b), bound, "\(type)") }
        }
    }
}
