// The corrupt T5-folder generator: a tiny T5 saved as a Hugging Face folder (config.json +
// model.safetensors) is corrupted field by field: every config.json key set to zero, negative,
// the integer extremes, 2^40, 1e9, a fraction, NaN, the wrong JSON type or removed; the
// safetensors header length, and each tensor's dtype, shape and data_offsets set to wrong,
// extreme and plausible values; NaN and infinity in weights; truncation at every boundary.
// Each folder must fail `T5Model.load` with a typed error or load a model whose logits are
// finite and, unless the corruption changed a number the model depends on, the intact model's.
import Foundation
import Models
import NN
import Tensor
import XCTest

final class CorruptT5Tests: XCTestCase {
    static let config = T5Config(vocabSize: 24, dModel: 16, dKV: 4, dFF: 24, numLayers: 2, numHeads: 2,
                                 relativeAttentionNumBuckets: 8, relativeAttentionMaxDistance: 16,
                                 feedForwardProj: "gated-gelu", tieWordEmbeddings: false)
    /// Keys whose other valid values legitimately change the logits (a tied head ignores
    /// lm_head.weight, as transformers does).
    static let numericKeys: Set<String> = ["layer_norm_epsilon", "relative_attention_max_distance",
                                           "scale_decoder_outputs", "feed_forward_proj", "tie_word_embeddings"]

    var folder: URL!
    var config = Data()
    var weights = Data()
    var baseline: [Float] = []

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("corrupt-t5-\(UUID().uuidString)")
        let intact = try T5Model(Self.config, seed: 3)
        try intact.save(to: folder)
        config = try Data(contentsOf: folder.appendingPathComponent("config.json"))
        weights = try Data(contentsOf: folder.appendingPathComponent("model.safetensors"))
        baseline = try Self.logits(T5Model.load(from: folder))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    static func logits(_ model: T5Model) throws -> [Float] {
        model.eval()
        let input = Tensor(indices: [5, 9, 2, 7, 11, 1], shape: [1, 6])
        let decoder = Tensor(indices: [0, 4, 8, 3], shape: [1, 4])
        return try Tensor.withoutGrad { try model(inputIds: input, decoderInputIds: decoder) }.scalars
    }

    /// What the folder holds now, so that a case writes only the file it changes.
    var written: (config: Data, weights: Data)?

    /// Writes the two files and loads the folder.
    func run(config: Data? = nil, weights: Data? = nil, _ label: String, mayDiffer: Bool = false, tally: CorruptTally) {
        let files = (config ?? self.config, weights ?? self.weights)
        do {
            if written?.config != files.0 { try files.0.write(to: folder.appendingPathComponent("config.json")) }
            if written?.weights != files.1 { try files.1.write(to: folder.appendingPathComponent("model.safetensors")) }
            written = files
        } catch { return tally.failed(label, "cannot write the case: \(error)") }
        let model: T5Model
        do { model = try T5Model.load(from: folder) } catch {
            return tally.error(label, error) { $0 is T5Error }
        }
        do {
            tally.loaded(label, logits: try Self.logits(model), baseline: baseline, mayDiffer: mayDiffer)
        } catch { tally.failed(label, "loaded, then the forward pass threw \(error)") }
    }

    // MARK: - config.json

    /// JSON tokens each key is set to: zero, negatives, the extremes, huge and plausible values,
    /// fractions, NaN (not JSON), and the wrong types.
    static let configValues = ["0", "-1", "1", "2", "3", "4", "8", "16", "9223372036854775807", "18446744073709551615",
                               "-9223372036854775808", "1099511627776", "1e9", "1000000000", "65536", "65537", "2147483647",
                               "1e300", "1.5", "0.5", "1e-30", "NaN", "Infinity", "\"x\"", "\"relu\"", "\"gated-gelu_new\"",
                               "null", "true", "false", "[]", "[1]", "{}"]

    func testCorruptT5FoldersThrowOrLoadCorrectly() throws {
        let start = Date()
        let tally = CorruptTally("corrupt T5 folder")
        let text = try XCTUnwrap(String(data: config, encoding: .utf8))
        // config.json: one "key": value line per key, rewritten or removed.
        let lines = text.components(separatedBy: "\n")
        for (index, line) in lines.enumerated() {
            guard let colon = line.range(of: "\": ") else { continue }
            let key = String(line[line.index(line.startIndex, offsetBy: 3)..<colon.lowerBound])
            let comma = line.hasSuffix(",") ? "," : ""
            let prefix = line[..<colon.upperBound]
            for value in Self.configValues {
                var edited = lines
                edited[index] = prefix + value + comma
                run(config: Data(edited.joined(separator: "\n").utf8), "config \(key) = \(value)",
                    mayDiffer: Self.numericKeys.contains(key), tally: tally)
            }
            var removed = lines
            removed.remove(at: index)
            if comma.isEmpty, index > 0 { removed[index - 1] = String(removed[index - 1].dropLast()) }
            run(config: Data(removed.joined(separator: "\n").utf8), "config \(key) removed",
                mayDiffer: Self.numericKeys.contains(key), tally: tally)
        }
        for cut in [0, 1, text.utf8.count / 2, text.utf8.count - 2] {
            run(config: config.prefix(cut), "config.json cut to \(cut) bytes", tally: tally)
        }
        try safetensorsCorruptions(tally: tally)
        tally.report()
        print("corrupt T5 folder: \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        XCTAssertGreaterThan(tally.errors, 500)
        XCTAssertGreaterThan(tally.correctLoads, 20)
    }

    // MARK: - model.safetensors

    /// The header as a JSON object and the data section after it.
    func header() throws -> (json: [String: Any], dataStart: Int) {
        let bytes = [UInt8](weights)
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: weights.subdata(in: 8..<(8 + n))) as? [String: Any])
        return (json, 8 + n)
    }

    /// JSON text for a header (strings, numbers, null, arrays, objects; keys sorted). Written by
    /// hand: JSONSerialization's sorted output compares keys through the locale, and was half
    /// of this test's time.
    static func json(_ value: Any) -> String {
        switch value {
        case let s as String:
            guard s.contains(where: { $0 == "\"" || $0 == "\\" }) else { return "\"" + s + "\"" }
            return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case is NSNull: return "null"
        case let o as [String: Any]: return "{" + o.keys.sorted().map { json($0) + ":" + json(o[$0] ?? NSNull()) }.joined(separator: ",") + "}"
        case let a as [Any]: return "[" + a.map(json).joined(separator: ",") + "]"
        case let n as NSNumber: return "\(n)"
        default: return "\(value)"
        }
    }

    /// A file with `json` as its header and the intact data section; `fragments` holds the
    /// intact `"name":{...}` texts, so only the entry a case changes is serialised again.
    func file(_ json: [String: Any], dataStart: Int, fragments: [String: String] = [:], changed: String? = nil) throws -> Data {
        let text = "{" + json.keys.sorted().map { name in
            name != changed ? fragments[name] ?? Self.json(name) + ":" + Self.json(json[name] ?? NSNull())
                            : Self.json(name) + ":" + Self.json(json[name] ?? NSNull())
        }.joined(separator: ",") + "}"
        var header = Data(text.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        return out + header + weights.subdata(in: dataStart..<weights.count)
    }

    func safetensorsCorruptions(tally: CorruptTally) throws {
        let (json, dataStart) = try header()
        let names = json.keys.filter { $0 != "__metadata__" }.sorted()
        var fragments: [String: String] = [:]
        for (name, value) in json { fragments[name] = Self.json(name) + ":" + Self.json(value) }
        run(weights: try file(json, dataStart: dataStart), "header rewritten unchanged", tally: tally)
        let weird: [Any] = [0, -1, Int64.max, NSNumber(value: UInt64.max), 1 << 40, 1 << 53, 1.5, 1e300, "x", NSNull(), [Any]()]
        // Every tensor gets the dtype and NaN cases; shapes and offsets go wrong the same way in
        // every tensor, so a third of them (and the last) keep the test quick.
        let detailed = Set(names.enumerated().filter { $0.offset % 3 == 0 || $0.offset == names.count - 1 }.map(\.element))
        for name in names {
            guard let entry = json[name] as? [String: Any], let shape = entry["shape"] as? [Int],
                  let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else { continue }
            func with(_ key: String, _ value: Any?) throws -> Data {
                var e = entry, j = json
                e[key] = value
                j[name] = e
                return try file(j, dataStart: dataStart, fragments: fragments, changed: name)
            }
            for dtype in ["F16", "BF16", "I32", "I64", "F64", "U8", "Q4_0", ""] {
                run(weights: try with("dtype", dtype), "\(name) dtype \(dtype)", tally: tally)
            }
            run(weights: try with("dtype", nil), "\(name) dtype removed", tally: tally)
            for (element, value) in [(0, Float.nan), (shape.reduce(1, *) - 1, Float.infinity)] {
                var bytes = [UInt8](weights)
                bytes.replaceSubrange(dataStart + offsets[0] + 4 * element..<dataStart + offsets[0] + 4 * element + 4,
                                      with: withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) })
                run(weights: Data(bytes), "\(name)[\(element)] = \(value)", tally: tally)
            }
            guard detailed.contains(name) else { continue }
            for (i, d) in shape.enumerated() {
                for value in weird + [d * 2, d + 1, d - 1] {
                    var s: [Any] = shape
                    s[i] = value
                    run(weights: try with("shape", s), "\(name) shape[\(i)] = \(value)", tally: tally)
                }
            }
            for s in [shape + [1], [1] + shape, Array(shape.dropLast()), [], shape.reversed(), [shape.reduce(1, *)]] where s != shape {
                run(weights: try with("shape", s), "\(name) shape \(s)", tally: tally)
            }
            for i in 0..<2 {
                for value in weird + [offsets[i] + 1, offsets[i] - 1, offsets[i] + 4, offsets[1 - i]] {
                    var o: [Any] = offsets
                    o[i] = value
                    run(weights: try with("data_offsets", o), "\(name) data_offsets[\(i)] = \(value)", tally: tally)
                }
            }
            run(weights: try with("data_offsets", [offsets[0]]), "\(name) one data offset", tally: tally)
        }
        // The header length, and truncation at every boundary and a few bytes either side.
        let n = UInt64(dataStart - 8)
        for length in [0, 1, n - 1, n + 1, n - 8, n + 8, UInt64(weights.count), UInt64.max, UInt64(Int64.max), 1 << 40] {
            var bytes = [UInt8](weights)
            bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: length.littleEndian) { Array($0) })
            run(weights: Data(bytes), "header length \(length)", tally: tally)
        }
        var boundaries: Set<Int> = [0, 8, dataStart, weights.count]
        for name in names {
            if let offsets = (json[name] as? [String: Any])?["data_offsets"] as? [Int] {
                boundaries.formUnion(offsets.map { dataStart + $0 })
            }
        }
        var lengths = Set<Int>()
        for b in boundaries { for delta in -3...3 { lengths.insert(b + delta) } }
        for length in lengths.sorted() where length >= 0 && length < weights.count {
            run(weights: weights.prefix(length), "model.safetensors cut to \(length) of \(weights.count)", tally: tally)
        }
        for extra in [1, 8, 64] {
            run(weights: weights + Data(count: extra), "model.safetensors extended by \(extra)", tally: tally)
        }
    }
}
