// Shared test helpers: a GGUF writer for hand-made files, a seeded RNG, and the paths of the
// real model (fetched by scripts/fetch-models.sh) and of the fixtures.
import Foundation
import Models
import XCTest

/// SplitMix64: small, seeded, the same on every platform.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func float(_ range: ClosedRange<Float>) -> Float { Float.random(in: range, using: &self) }
    mutating func floats(_ n: Int, _ range: ClosedRange<Float> = -1...1) -> [Float] { (0..<n).map { _ in float(range) } }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &self) } }
}

/// Writes GGUF files byte by byte, the inverse of the reader.
struct GGUFWriter {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }

    mutating func value(_ v: GGUFValue) {
        switch v {
        case .uint8(let x): bytes.append(x)
        case .int8(let x): bytes.append(UInt8(bitPattern: x))
        case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { bytes += $0 }
        case .int16(let x): withUnsafeBytes(of: x.littleEndian) { bytes += $0 }
        case .uint32(let x): u32(x)
        case .int32(let x): u32(UInt32(bitPattern: x))
        case .uint64(let x): u64(x)
        case .int64(let x): u64(UInt64(bitPattern: x))
        case .float32(let x): u32(x.bitPattern)
        case .float64(let x): u64(x.bitPattern)
        case .bool(let x): bytes.append(x ? 1 : 0)
        case .string(let s): string(s)
        case .array(let type, let elements):
            u32(type.rawValue)
            u64(UInt64(elements.count))
            for e in elements { value(e) }
        }
    }

    /// A complete file. Tensor offsets are laid out in order, each aligned.
    static func file(version: UInt32 = 3, metadata: [(String, GGUFValue)],
                     tensors: [(name: String, dims: [Int], type: GGMLType, data: [UInt8])],
                     alignment: Int = 32) -> [UInt8] {
        var w = GGUFWriter()
        w.bytes += Array("GGUF".utf8)
        w.u32(version)
        w.u64(UInt64(tensors.count))
        w.u64(UInt64(metadata.count))
        for (key, v) in metadata {
            w.string(key)
            w.u32(v.type.rawValue)
            w.value(v)
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, off) in zip(tensors, offsets) {
            w.string(t.name)
            w.u32(UInt32(t.dims.count))
            for d in t.dims { w.u64(UInt64(d)) }
            w.u32(t.type.rawValue)
            w.u64(UInt64(off))
        }
        while w.bytes.count % alignment != 0 { w.bytes.append(0) }
        for (i, t) in tensors.enumerated() {
            w.bytes += t.data
            if i < tensors.count - 1 { while w.bytes.count % alignment != 0 { w.bytes.append(0) } }
        }
        return w.bytes
    }
}

func halfBytes(_ v: Float) -> [UInt8] {
    let bits = floatToHalf(v)
    return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
}

func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

enum TestPaths {
    /// The package root, found from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let model = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")

    /// A fixture file from the test bundle.
    static func fixture(_ name: String) -> URL? {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")
    }
}

/// The real model, opened once; fails the calling test (never skips) when it is absent.
enum RealModel {
    static let file: GGUFFile? = try? GGUFFile(path: TestPaths.model.path)

    static func require(file: StaticString = #filePath, line: UInt = #line) -> GGUFFile? {
        if let f = Self.file { return f }
        XCTFail("\(TestPaths.model.path) is missing: run scripts/fetch-models.sh (make test does it first)",
                file: file, line: line)
        return nil
    }
}
