// Thousands of seeded truncations and byte flips of a small GGUF: each must load or throw a
// GGUFError, and whatever loads must be readable end to end without touching memory it does not own.
import Foundation
import Models
import XCTest

final class GGUFFuzzTests: XCTestCase {
    func smallFile() -> [UInt8] {
        var rng = SeededRNG(seed: 7)
        return GGUFWriter.file(metadata: [
            ("general.architecture", .string("llama")),
            ("general.alignment", .uint32(32)),
            ("n", .uint32(3)),
            ("f", .float32(0.5)),
            ("tokens", .array(.string, [.string("<s>"), .string("a"), .string("▁b")])),
            ("nested", .array(.array, [.array(.uint8, [.uint8(1)]), .array(.int64, [.int64(-1)])])),
        ], tensors: [
            ("a", [4, 2], .f32, floatBytes(rng.floats(8))),
            ("b", [32, 2], .q8_0, QuantReference.quantizeQ8_0(rng.floats(64))),
            ("c", [32], .q4_1, QuantReference.quantizeQ4_1(rng.floats(32))),
        ])
    }

    /// Reads everything a loaded file exposes, so a bad bound would crash here.
    func exercise(_ file: GGUFFile) {
        for key in file.metadataKeys { _ = file.metadata[key]?.intValue }
        for info in file.tensorInfos {
            guard let t = file.tensor(named: info.name) else { return XCTFail("listed tensor \(info.name) not found") }
            XCTAssertLessThanOrEqual(file.dataOffset + info.offset + info.byteCount, file.storage.count)
            if info.elementCount < 1 << 20 { _ = t.dequantized() }
        }
    }

    func testTruncationsAlwaysThrow() throws {
        let good = smallFile()
        exercise(try GGUFFile(bytes: good))
        var rng = SeededRNG(seed: 1)
        var lengths = Array(0..<good.count)
        lengths += (0..<1500).map { _ in Int.random(in: 0..<good.count, using: &rng) }
        for length in lengths {
            XCTAssertThrowsError(try GGUFFile(bytes: Array(good.prefix(length))), "prefix of \(length) bytes") { error in
                XCTAssertTrue(error is GGUFError, "\(error)")
            }
        }
    }

    func testByteFlipsNeverCrash() throws {
        let good = smallFile()
        var rng = SeededRNG(seed: 2)
        var loaded = 0, rejected = 0
        for _ in 0..<4000 {
            var bytes = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[at] = rng.bytes(1)[0]
            }
            do {
                exercise(try GGUFFile(bytes: bytes))
                loaded += 1
            } catch is GGUFError {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 100)
        XCTAssertGreaterThan(loaded, 100)
    }

    func testHeaderFieldFlipsNeverCrash() throws {
        // Flip bytes inside counts, lengths and offsets specifically: the high bytes of u64 fields.
        let good = smallFile()
        var rng = SeededRNG(seed: 3)
        for _ in 0..<2000 {
            var bytes = good
            let at = Int.random(in: 8..<min(bytes.count, 400), using: &rng)
            bytes[at] = [0xFF, 0x80, 0x7F, 0x01, 0x00][Int.random(in: 0..<5, using: &rng)]
            if let file = try? GGUFFile(bytes: bytes) { exercise(file) }
        }
    }
}
