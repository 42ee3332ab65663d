// safetensors: round trips of every dtype with metadata, atomic writes, and a seeded fuzz loop of
// hostile files (random bytes, truncations, bad offsets, huge lengths, wrong dtypes, overlaps).

import Foundation
import XCTest
import Tensor

final class SafetensorsTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testRoundTripEveryDType() throws {
        let f = Tensor([1, -2, 3.5, 4, 5, 6], shape: [2, 3])
        let tensors: [String: Tensor] = [
            "a.f32": f, "b.f16": f.cast(to: .float16), "c.bf16": f.cast(to: .bfloat16),
            "d.i32": Tensor(indices: [1, -2, 3], shape: [3]), "e.i64": Tensor(indices: [7, 8], shape: [2, 1]).cast(to: .int64),
            "f.transposed": f.transposed(), "g.empty": Tensor.zeros([0, 4]), "h.scalar": Tensor(scalar: 2),
        ]
        let url = folder.appendingPathComponent("model.safetensors")
        try SafetensorsFile.write(tensors, metadata: ["format": "pt", "step": "3"], to: url)
        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata, ["format": "pt", "step": "3"])
        XCTAssertEqual(file.names, tensors.keys.sorted())
        for (name, t) in tensors {
            let back = try file.tensor(name)
            XCTAssertEqual(back.dtype, t.dtype, name)
            XCTAssertEqual(back.shape, t.shape, name)
            XCTAssertEqual(back.scalars, t.scalars, name)
        }
        XCTAssertEqual(try file.tensor("e.i64").indexScalars, [7, 8])
        // No temporary file is left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["model.safetensors"])
        XCTAssertThrowsError(try file.tensor("missing")) { XCTAssertEqual($0 as? SafetensorsError, .missingTensor("missing")) }
    }

    /// Builds a file from a header object and a data section.
    func file(_ header: String, data: [UInt8] = [UInt8](repeating: 0, count: 64), length: UInt64? = nil) -> Data {
        var d = Data()
        var n = (length ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: data)
        return d
    }

    func testSpecificHostileHeaders() {
        func rejects(_ data: Data, _ check: (SafetensorsError) -> Bool, line: UInt = #line) {
            XCTAssertThrowsError(try SafetensorsFile(data: data), line: line) { error in
                guard let e = error as? SafetensorsError else { return XCTFail("untyped error \(error)", line: line) }
                XCTAssertTrue(check(e), "unexpected \(e)", line: line)
            }
        }
        rejects(Data([1, 2, 3])) { if case .fileTooSmall = $0 { return true }; return false }
        rejects(file("{}", length: 1 << 40)) { if case .headerLengthInvalid = $0 { return true }; return false }
        rejects(file("{}", length: 1000)) { if case .headerLengthInvalid = $0 { return true }; return false }
        rejects(file("[1, 2]")) { if case .headerNotJSON = $0 { return true }; return false }
        rejects(file("{\"a\": ")) { if case .headerNotJSON = $0 { return true }; return false }
        rejects(file(#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#)) {
            if case .unsupportedDType = $0 { return true }; return false
        }
        rejects(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}}"#)) {
            if case .sizeMismatch = $0 { return true }; return false
        }
        rejects(file(#"{"a":{"dtype":"F32","shape":[32],"data_offsets":[0,128]}}"#)) {
            if case .offsetsOutOfBounds = $0 { return true }; return false
        }
        rejects(file(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#)) {
            if case .overlapping = $0 { return true }; return false
        }
        rejects(file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#)) {
            if case .entryInvalid = $0 { return true }; return false
        }
        rejects(file(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#)) {
            if case .entryInvalid = $0 { return true }; return false
        }
        rejects(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#)) {
            if case .offsetsOutOfBounds = $0 { return true }; return false
        }
        rejects(file(#"{"__metadata__":{"k":1}}"#)) { if case .entryInvalid = $0 { return true }; return false }
        XCTAssertNoThrow(try SafetensorsFile(data: file(#"{"a":{"dtype":"I64","shape":[2,4],"data_offsets":[0,64]}}"#)))
    }

    func testDataSectionMustBeTiled() {
        // A hole before, between or after the tensors means the offsets do not describe the data.
        XCTAssertThrowsError(try SafetensorsFile(data: file(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}"#, data: [UInt8](repeating: 0, count: 32)))) {
            XCTAssertEqual($0 as? SafetensorsError, .dataNotCovered(begin: 0, end: 16, dataBytes: 32))
        }
        XCTAssertThrowsError(try SafetensorsFile(data: file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}"#, data: [UInt8](repeating: 0, count: 20)))) {
            XCTAssertEqual($0 as? SafetensorsError, .dataNotCovered(begin: 8, end: 12, dataBytes: 20))
        }
        XCTAssertThrowsError(try SafetensorsFile(data: file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 9)))) {
            XCTAssertEqual($0 as? SafetensorsError, .dataNotCovered(begin: 8, end: 9, dataBytes: 9))
            XCTAssertTrue("\($0)".contains("belong to no tensor"))
        }
        XCTAssertNoThrow(try SafetensorsFile(data: file(#"{"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))))
    }

    func testFiniteTensorRejectsNaNAndInfinity() throws {
        func bytes(_ values: [Float]) -> [UInt8] { values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } } }
        let header = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#
        XCTAssertEqual(try SafetensorsFile(data: file(header, data: bytes([1, 2, 3]))).finiteTensor("w").scalars, [1, 2, 3])
        for (values, index) in [([1, .nan, 3], 1), ([1, 2, -.infinity], 2)] as [([Float], Int)] {
            let f = try SafetensorsFile(data: file(header, data: bytes(values)))
            XCTAssertThrowsError(try f.finiteTensor("w")) { XCTAssertEqual($0 as? SafetensorsError, .nonFinite(name: "w", index: index)) }
            XCTAssertNoThrow(try f.tensor("w"), "plain reads still return what the file holds")
        }
        // F16 and BF16: an all-ones exponent.
        let half = #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}"#
        let f = try SafetensorsFile(data: file(half, data: [0x00, 0x3C, 0x00, 0x7E, 0x80, 0x7F, 0x80, 0x3F]))
        XCTAssertThrowsError(try f.finiteTensor("h")) { XCTAssertEqual($0 as? SafetensorsError, .nonFinite(name: "h", index: 1)) }
        XCTAssertThrowsError(try f.finiteTensor("b")) { XCTAssertEqual($0 as? SafetensorsError, .nonFinite(name: "b", index: 0)) }
    }

    func testFuzzedFilesNeverCrash() throws {
        let url = folder.appendingPathComponent("good.safetensors")
        var rng = RNG(seed: 2024)
        try SafetensorsFile.write(["w": rng.normal([3, 5]), "b": Tensor.zeros([5]).cast(to: .bfloat16),
                                   "ids": Tensor(indices: [1, 2, 3], shape: [3])], metadata: ["m": "x"], to: url)
        let good = [UInt8](try Data(contentsOf: url))
        var accepted = 0, rejected = 0
        for round in 0..<3000 {
            var bytes = good
            switch round % 6 {
            case 0: bytes = bytes.prefix(Int(rng.next() % UInt64(bytes.count))).map { $0 }  // truncation
            case 1:  // random byte flips, inside the header mostly
                for _ in 0..<(1 + Int(rng.next() % 4)) { bytes[Int(rng.next() % UInt64(min(bytes.count, 200)))] = UInt8(rng.next() & 0xFF) }
            case 2: bytes = (0..<Int(rng.next() % 300)).map { _ in UInt8(rng.next() & 0xFF) }  // noise
            case 3:  // huge or odd header lengths
                let n = [UInt64.max, 1 << 62, UInt64(bytes.count), UInt64(rng.next() % 1000)][Int(rng.next() % 4)]
                for i in 0..<8 { bytes[i] = UInt8((n >> (8 * UInt64(i))) & 0xFF) }
            case 4:  // corrupt digits (offsets, shapes) in the JSON
                let digits = bytes.indices.filter { $0 >= 8 && $0 < 200 && bytes[$0] >= 48 && bytes[$0] <= 57 }
                if let i = digits.randomElement(using: &rng) { bytes[i] = [48, 57, 45, 46, 101][Int(rng.next() % 5)] }
            default:  // corrupt dtype strings and quotes
                let letters = bytes.indices.filter { $0 >= 8 && $0 < 200 && (bytes[$0] == 34 || (bytes[$0] >= 65 && bytes[$0] <= 90)) }
                if let i = letters.randomElement(using: &rng) { bytes[i] = UInt8(65 + rng.next() % 26) }
            }
            do {
                let f = try SafetensorsFile(data: Data(bytes))
                for name in f.names { _ = try f.tensor(name) }
                accepted += 1
            } catch is SafetensorsError {
                rejected += 1
            }
        }
        XCTAssertEqual(accepted + rejected, 3000)
        XCTAssertGreaterThan(rejected, 1500)
    }
}
