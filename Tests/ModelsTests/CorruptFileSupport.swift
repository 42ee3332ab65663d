// What the corrupt-file generators share: a walk of a GGUF file that records where every field
// lies (to patch it) and every structure boundary (to truncate there), the values each field
// kind is corrupted to, and the tally that sorts each case into a clear error or a correct load.
import Foundation
import Models
import XCTest

/// Where each field of a GGUF file lies: a test-side walk of the format, independent of the reader.
struct GGUFLayout {
    enum Kind: Equatable { case u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, bool }

    /// What a field is, so a generator knows which corruptions may load and what they may change.
    enum Role: Equatable {
        case header, keyLength, elementType, arrayCount, stringLength
        case valueType(key: String), value(key: String)
        case tensorNameLength, dimCount, dim, tensorType, tensorOffset
    }

    struct Field {
        let path: String
        let offset: Int
        let kind: Kind
        let role: Role
        var width: Int { GGUFLayout.width(kind) }
    }

    /// One tensor's data in the file.
    struct TensorData {
        let name: String
        let type: GGMLType
        let start: Int, count: Int
    }

    private(set) var fields: [Field] = []
    /// Every offset where a structure starts or ends.
    private(set) var boundaries: Set<Int> = [0]
    private(set) var tensors: [TensorData] = []
    /// Array elements recorded as fields: the first few and the last, the rest only walked.
    static let sampledElements = 3

    static func width(_ kind: Kind) -> Int {
        switch kind {
        case .u8, .i8, .bool: return 1
        case .u16, .i16: return 2
        case .u32, .i32, .f32: return 4
        case .u64, .i64, .f64: return 8
        }
    }

    init(_ bytes: [UInt8]) {
        var offset = 0
        func load<T: FixedWidthInteger>(_: T.Type, at o: Int) -> T {
            var v: T = 0
            for i in 0..<MemoryLayout<T>.size { v |= T(truncatingIfNeeded: bytes[o + i]) << (8 * i) }
            return v
        }
        func field(_ path: String, _ kind: Kind, _ role: Role, record: Bool = true) {
            if record { fields.append(Field(path: path, offset: offset, kind: kind, role: role)) }
            boundaries.insert(offset)
            offset += Self.width(kind)
            boundaries.insert(offset)
        }
        func string(_ path: String, _ role: Role, record: Bool = true) -> String {
            let length = Int(load(UInt64.self, at: offset))
            field(path + " length", .u64, role, record: record)
            let text = String(decoding: bytes[offset..<offset + length], as: UTF8.self)
            offset += length
            boundaries.insert(offset)
            return text
        }
        let scalarKinds: [UInt32: Kind] = [0: .u8, 1: .i8, 2: .u16, 3: .i16, 4: .u32, 5: .i32, 6: .f32,
                                           7: .bool, 10: .u64, 11: .i64, 12: .f64]
        func value(_ type: UInt32, key: String, path: String, record: Bool) {
            if let kind = scalarKinds[type] { return field(path, kind, .value(key: key), record: record) }
            if type == 8 { _ = string(path, .stringLength, record: record); return }
            // An array: element type, count, elements (only a few recorded).
            let elementType = load(UInt32.self, at: offset)
            field(path + " element type", .u32, .elementType, record: record)
            let count = Int(load(UInt64.self, at: offset))
            field(path + " count", .u64, .arrayCount, record: record)
            for i in 0..<count {
                let sampled = i < Self.sampledElements || i == count - 1
                value(elementType, key: key, path: "\(path)[\(i)]", record: record && sampled)
            }
        }

        field("magic", .u32, .header)
        field("version", .u32, .header)
        let tensorCount = Int(load(UInt64.self, at: offset))
        field("tensor count", .u64, .header)
        let metadataCount = Int(load(UInt64.self, at: offset))
        field("metadata count", .u64, .header)
        var alignment = 32
        for index in 0..<metadataCount {
            let key = string("key #\(index)", .keyLength)
            let type = load(UInt32.self, at: offset)
            field("type of \(key)", .u32, .valueType(key: key))
            if key == "general.alignment", type == 4 { alignment = Int(load(UInt32.self, at: offset)) }
            value(type, key: key, path: key, record: true)
        }
        var infos: [(String, [Int], UInt32, Int)] = []
        for index in 0..<tensorCount {
            let name = string("name of tensor #\(index)", .tensorNameLength)
            let dimCount = Int(load(UInt32.self, at: offset))
            field("\(name) dim count", .u32, .dimCount)
            var dims: [Int] = []
            for d in 0..<dimCount {
                dims.append(Int(load(UInt64.self, at: offset)))
                field("\(name) dim \(d)", .u64, .dim)
            }
            let type = load(UInt32.self, at: offset)
            field("\(name) type", .u32, .tensorType)
            let dataOffset = Int(load(UInt64.self, at: offset))
            field("\(name) offset", .u64, .tensorOffset)
            infos.append((name, dims, type, dataOffset))
        }
        let dataStart = (offset + alignment - 1) / alignment * alignment
        boundaries.insert(dataStart)
        for (name, dims, rawType, dataOffset) in infos {
            guard let type = GGMLType(rawValue: rawType) else { continue }
            let count = dims.reduce(1, *)
            let start = dataStart + dataOffset, end = start + type.traits.rowBytes(count)
            boundaries.formUnion([start, end])
            tensors.append(TensorData(name: name, type: type, start: start, count: count))
        }
    }

    /// The values a field of `kind` is corrupted to: zero, the type's extremes, NaN and the
    /// infinities where the type has them, negative where it is signed, and large values that
    /// still look plausible; `original` is the field's value, to derive near misses from.
    static func corruptions(_ kind: Kind, original: [UInt8]) -> [(label: String, bytes: [UInt8])] {
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        var u: UInt64 = 0
        for (i, b) in original.enumerated() { u |= UInt64(b) << (8 * UInt64(i)) }
        var out: [(String, [UInt8])]
        switch kind {
        case .u8, .bool: out = [("0", [0]), ("255", [0xFF]), ("127", [0x7F]), ("2", [2])]
        case .i8: out = [("0", [0]), ("-1", [0xFF]), ("-128", [0x80]), ("127", [0x7F])]
        case .u16: out = [("0", le(UInt16(0))), ("max", le(UInt16.max)), ("32767", le(UInt16(0x7FFF)))]
        case .i16: out = [("0", le(Int16(0))), ("-1", le(Int16(-1))), ("min", le(Int16.min)), ("max", le(Int16.max))]
        case .u32:
            out = [("0", le(UInt32(0))), ("max", le(UInt32.max)), ("2^31-1", le(UInt32(Int32.max))),
                   ("2^20", le(UInt32(1 << 20))), ("+1", le(UInt32(truncatingIfNeeded: u &+ 1))),
                   ("x2", le(UInt32(truncatingIfNeeded: u &* 2)))]
            if u > 0 { out.append(("-1", le(UInt32(truncatingIfNeeded: u - 1)))) }
        case .i32:
            out = [("0", le(Int32(0))), ("-1", le(Int32(-1))), ("min", le(Int32.min)), ("max", le(Int32.max)),
                   ("2^20", le(Int32(1 << 20)))]
        case .u64:
            out = [("0", le(UInt64(0))), ("max", le(UInt64.max)), ("Int.max", le(UInt64(Int64.max))),
                   ("2^40", le(UInt64(1) << 40)), ("2^32", le(UInt64(1) << 32)), ("+1", le(u &+ 1)), ("x2", le(u &* 2))]
            if u > 0 { out.append(("-1", le(u - 1))) }
        case .i64:
            out = [("0", le(Int64(0))), ("-1", le(Int64(-1))), ("min", le(Int64.min)), ("max", le(Int64.max)),
                   ("2^40", le(Int64(1) << 40))]
        case .f32:
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: u))
            out = [0, .nan, .infinity, -.infinity, -1, .greatestFiniteMagnitude, 1e30, f * 2, f / 2]
                .map { ("\($0)", le($0.bitPattern)) }
        case .f64:
            let d = Double(bitPattern: u)
            out = [0, .nan, .infinity, -.infinity, -1, .greatestFiniteMagnitude, 1e300, d * 2, d / 2]
                .map { ("\($0)", le($0.bitPattern)) }
        }
        return out.filter { $0.1 != original }
    }
}

/// Counts the cases of a generator by outcome and keeps every failure to report at the end.
final class CorruptTally {
    let name: String
    private(set) var cases = 0, errors = 0, correctLoads = 0
    private(set) var failures: [String] = []

    init(_ name: String) { self.name = name }

    /// A thrown error: it must be one of the loaders' typed errors with a message.
    func error(_ label: String, _ error: Error, typed: (Error) -> Bool) {
        cases += 1
        if typed(error), !"\(error)".isEmpty { errors += 1 } else { failures.append("\(label): untyped error \(error)") }
    }

    /// A load that ran: its logits must be finite, and equal to the intact model's unless the
    /// corruption changed a number the model legitimately depends on.
    func loaded(_ label: String, logits: [Float], baseline: [Float], mayDiffer: Bool) {
        cases += 1
        if let bad = logits.firstIndex(where: { !$0.isFinite }) {
            failures.append("\(label): loaded, but logit \(bad) is \(logits[bad])")
        } else if logits.count != baseline.count || (!mayDiffer && logits != baseline) {
            failures.append("\(label): silent wrong load (logits differ from the intact model's)")
        } else {
            correctLoads += 1
        }
    }

    /// A failure outside the two outcomes (a load that then could not run).
    func failed(_ label: String, _ why: String) {
        cases += 1
        failures.append("\(label): \(why)")
    }

    var summary: String { "\(name): \(cases) cases, \(errors) errors, \(correctLoads) correct loads, \(failures.count) failures" }

    /// Prints the counts and fails the test once per failure (the first 20 shown).
    func report(file: StaticString = #filePath, line: UInt = #line) {
        print(summary)
        for failure in failures.prefix(20) { XCTFail(failure, file: file, line: line) }
        if failures.count > 20 { XCTFail("... and \(failures.count - 20) more failures", file: file, line: line) }
        XCTAssertEqual(cases, errors + correctLoads + failures.count, file: file, line: line)
    }
}

extension Array where Element == UInt8 {
    /// A copy with `values` written at `offset`.
    func patched(at offset: Int, _ values: [UInt8]) -> [UInt8] {
        var copy = self
        copy.replaceSubrange(offset..<offset + values.count, with: values)
        return copy
    }
}
