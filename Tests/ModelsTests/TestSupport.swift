// Shared test helpers: a seeded RNG and the paths of the real model (fetched by
// scripts/fetch-models.sh) and of the fixtures. The GGUF writer comes from TestSupport, which
// the Distill tests share.
@_exported import TestSupport
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

func halfBytes(_ v: Float) -> [UInt8] {
    let bits = floatToHalf(v)
    return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
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
