// Mixtures: examples-proportional rates with caps and temperatures (checked against values
// computed by hand), the draws per block and their cycling, the share and epochs of each stream,
// the manifest's hash (a fixed value for fixed data, and sensitive to every part of it),
// templates, and the errors of a bad mixture.
import Distill
import Foundation
import Tensor
import XCTest

final class MixtureTests: XCTestCase {
    /// A stream of `count` pairs whose texts carry the stream's name.
    private func stream(_ name: String, _ count: Int, weight: Double = 1, inputs: String? = nil, first: Int = 0) -> TaskStream {
        let pairs = (first..<first + count).map {
            TrainingPair(exampleID: ExampleID(split: "train", index: $0), source: "\(name) question \($0)", target: "\(name) answer \($0)")
        }
        return TaskStream(name: name, pairs: pairs, template: .prefix("\(name): ", name: name), weight: weight, inputs: inputs)
    }

    func testRatesAreExamplesProportionalWithCapAndTemperature() throws {
        let streams = [stream("small", 100), stream("medium", 1000), stream("large", 10000)]
        // T = 1, cap 3000: 100 : 1000 : 3000 of 4100.
        let proportional = try Mixture(streams, cap: 3000)
        XCTAssertEqual(proportional.rates[0], 0.024390243902439025, accuracy: 1e-15)
        XCTAssertEqual(proportional.rates[1], 0.24390243902439024, accuracy: 1e-15)
        XCTAssertEqual(proportional.rates[2], 0.7317073170731707, accuracy: 1e-15)
        XCTAssertEqual(proportional.blockSize, 4100)
        XCTAssertEqual(proportional.drawsPerBlock, [100, 1000, 3000])
        // T = 2: sqrt(100) : sqrt(1000) : sqrt(3000) = 10 : 31.623 : 54.772, normalised.
        let flat = try Mixture(streams, cap: 3000, temperature: 2)
        XCTAssertEqual(flat.rates[0], 0.10373978571284466, accuracy: 1e-14)
        XCTAssertEqual(flat.rates[1], 0.3280540068303835, accuracy: 1e-14)
        XCTAssertEqual(flat.rates[2], 0.5682062074567718, accuracy: 1e-14)
        // 425.33, 1345.02, 2329.65 → floors 425, 1345, 2329 (4099); the largest remainder gets the last draw.
        XCTAssertEqual(flat.drawsPerBlock, [425, 1345, 2330])
        // No cap: proportional to size.
        let uncapped = try Mixture(streams)
        XCTAssertEqual(uncapped.rates.map { ($0 * 11100).rounded() }, [100, 1000, 10000])
        XCTAssertEqual(Mixture.rates(sizes: [4, 0], cap: nil, temperature: 1), [1, 0])
    }

    func testStreamsWithTheSameInputsAreOneComponentAndSharesCountTheirPairs() throws {
        let label = stream("label", 10, inputs: "examples")
        let rationale = stream("rationale", 6, inputs: "examples")    // 4 rationales were dropped
        let other = stream("other", 10)
        let mixture = try Mixture([label, rationale, other])
        XCTAssertEqual(mixture.components.map(\.name), ["examples", "other"])
        XCTAssertEqual(mixture.components[0].streams, [0, 1])
        XCTAssertEqual(mixture.components[0].pairs[5], [5, 5])
        XCTAssertEqual(mixture.components[0].pairs[6], [6, nil])
        XCTAssertEqual(mixture.rates, [0.5, 0.5])
        // Per block: 10 draws from each component; they yield 10 label, 6 rationale, 10 other pairs.
        XCTAssertEqual(mixture.pairShares[0], 10.0 / 26, accuracy: 1e-12)
        XCTAssertEqual(mixture.pairShares[1], 6.0 / 26, accuracy: 1e-12)
        XCTAssertEqual(mixture.pairShares[2], 10.0 / 26, accuracy: 1e-12)
        // 100 steps of 4 draws: 200 draws per component, 20 passes over 10 examples.
        XCTAssertEqual(mixture.epochs(steps: 100, batchSize: 4), [20, 20, 20])
        XCTAssertEqual(mixture.stream(named: "rationale")?.pairs.count, 6)
    }

    func testACappedComponentCyclesThroughAllItsExamplesAcrossBlocks() throws {
        let mixture = try Mixture([stream("a", 10), stream("b", 3)], cap: 4)
        XCTAssertEqual(mixture.drawsPerBlock, [4, 3])
        let schedule = try MixtureSchedule(mixture: mixture, lengths: [Array(repeating: 5, count: 10), Array(repeating: 5, count: 3)],
                                           batchSize: 7, bucketByLength: false, seed: 11)
        XCTAssertEqual(schedule.batchesPerEpoch, 1)
        var seenA: [[Int]] = []
        for epoch in 0..<5 {
            let draws = schedule.batches(epoch: epoch).joined()
            XCTAssertEqual(draws.filter { $0.component == 0 }.count, 4)
            XCTAssertEqual(draws.filter { $0.component == 1 }.map(\.example).sorted(), [0, 1, 2], "a whole component is drawn whole")
            seenA.append(draws.filter { $0.component == 0 }.map(\.example))
        }
        // 20 draws from a: two full passes over its 10 examples. Blocks 0 and 1 lie inside the
        // first pass, so their 8 draws are distinct; over all 5 blocks every example comes twice.
        XCTAssertEqual(Set(seenA[0] + seenA[1]).count, 8)
        XCTAssertEqual(seenA.joined().sorted(), (0..<10).flatMap { [$0, $0] })
        let again = try MixtureSchedule(mixture: mixture, lengths: [Array(repeating: 5, count: 10), Array(repeating: 5, count: 3)],
                                        batchSize: 7, bucketByLength: false, seed: 11)
        XCTAssertEqual(again.batches(epoch: 3), schedule.batches(epoch: 3), "a block depends only on the seed and its number")
    }

    func testOneComponentIsDrawnAsPlainSeededEpochs() throws {
        // The order the trainer had before mixtures: the examples shuffled by the epoch's seed.
        let n = 37, seed: UInt64 = 5
        let mixture = try Mixture([stream("label", n)])
        let schedule = try MixtureSchedule(mixture: mixture, lengths: [Array(repeating: 1, count: n)], batchSize: 8,
                                           bucketByLength: false, seed: seed)
        for epoch in 0..<3 {
            var rng = RNG(seed: seed ^ (UInt64(epoch) &+ 1) &* 0x9E37_79B9_7F4A_7C15)
            var order = Array(0..<n)
            for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            XCTAssertEqual(schedule.batches(epoch: epoch).joined().map(\.example), order)
        }
    }

    func testTheManifestHashIsFixedForFixedDataAndNamesEveryChange() throws {
        let base = try Mixture([stream("label", 3, weight: 0.5, inputs: "x"), stream("rationale", 2, weight: 0.5, inputs: "x")],
                               normalisation: .perStream)
        let manifest = base.manifest(seed: 7)
        // Computed once and kept: the hash must not change between runs, processes or machines.
        XCTAssertEqual(manifest.hash, "670a179fcc5f2c0ffc0f89a71ef886ca7c2b32d2a2fc8edffaf5e35bcbfc36b6")
        XCTAssertEqual(manifest.shortHash, String(manifest.hash.prefix(12)))
        XCTAssertEqual(manifest.streams.map(\.name), ["label", "rationale"])
        XCTAssertEqual(manifest.streams.map(\.pairs), [3, 2])
        XCTAssertEqual(manifest.streams.map(\.rate), [1, 1])
        let rebuilt = try Mixture([stream("label", 3, weight: 0.5, inputs: "x"), stream("rationale", 2, weight: 0.5, inputs: "x")],
                                  normalisation: .perStream)
        XCTAssertEqual(rebuilt.manifest(seed: 7), manifest)
        var changedText = stream("label", 3, weight: 0.5, inputs: "x")
        changedText.pairs[1].target += "!"
        let variants: [MixtureManifest] = [
            base.manifest(seed: 8),
            try Mixture([changedText, stream("rationale", 2, weight: 0.5, inputs: "x")], normalisation: .perStream).manifest(seed: 7),
            try Mixture([stream("label", 3, weight: 0.6, inputs: "x"), stream("rationale", 2, weight: 0.5, inputs: "x")],
                        normalisation: .perStream).manifest(seed: 7),
            try Mixture([stream("label", 3, weight: 0.5, inputs: "x"), stream("rationale", 2, weight: 0.5, inputs: "x")],
                        normalisation: .perToken).manifest(seed: 7),
            try Mixture([stream("label", 3, weight: 0.5, inputs: "x"), stream("rationale", 2, weight: 0.5, inputs: "x")],
                        cap: 2, normalisation: .perStream).manifest(seed: 7),
        ]
        XCTAssertEqual(Set(variants.map(\.hash) + [manifest.hash]).count, variants.count + 1, "every change changes the hash")
        let encoded = try JSONEncoder().encode(manifest)
        XCTAssertEqual(try JSONDecoder().decode(MixtureManifest.self, from: encoded), manifest)
    }

    func testTemplatesRenderFieldsOptionsAndBraces() throws {
        let example = Example(id: ExampleID(split: "test", index: 4), input: "P / H", label: "neutral",
                              choices: ["yes", "no"], fields: ["premise": "A dog runs.", "hypothesis": "An animal moves."])
        let template = PromptTemplate(name: "t1", input: "Premise: {premise}\nHypothesis: {hypothesis}\n{{OPTIONS}}\n{options}",
                                      target: "The answer: {label}")
        XCTAssertEqual(try template.source(for: example),
                       "Premise: A dog runs.\nHypothesis: An animal moves.\n{OPTIONS}\n- yes\n- no")
        XCTAssertEqual(try template.target(for: example), "The answer: neutral")
        XCTAssertEqual(try PromptTemplate.prefix("label: ", name: "label").source(for: example, input: "masked"), "label: masked")
        XCTAssertEqual(try PromptTemplate.prefix("{x}: ", name: "odd").source(for: example), "{x}: P / H", "a prefix is literal")
        XCTAssertThrowsError(try PromptTemplate(name: "t2", input: "{question}").source(for: example)) {
            XCTAssertTrue("\($0)".contains("{question}") && "\($0)".contains("hypothesis, premise"), "\($0)")
        }
        XCTAssertThrowsError(try PromptTemplate(name: "t3", input: "open {premise").validate())
        XCTAssertThrowsError(try PromptTemplate(name: "t4", input: "{rationale}").source(for: example))
        let rendered = try TaskStream.rendering([example], name: "nli/t1", template: template, cluster: "nli")
        XCTAssertEqual(rendered.pairs.first?.target, "The answer: neutral")
        XCTAssertEqual(rendered.cluster, "nli")
        XCTAssertEqual(rendered.inputs, "nli/t1")
    }

    func testBadMixturesAreNamedErrors() {
        func message(_ body: () throws -> Mixture) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { try Mixture([]) }.contains("no streams"))
        XCTAssertTrue(message { try Mixture([self.stream("a", 2), self.stream("a", 3)]) }.contains("two streams are called 'a'"))
        XCTAssertTrue(message { try Mixture([self.stream("a", 2, weight: -1)]) }.contains("weight -1.0"))
        XCTAssertTrue(message { try Mixture([self.stream("a", 2)], cap: 0) }.contains("cap must be at least 1"))
        XCTAssertTrue(message { try Mixture([self.stream("a", 2)], temperature: 0) }.contains("temperature must be positive"))
        XCTAssertTrue(message { try Mixture([self.stream("a", 0)]) }.contains("no stream has both pairs and a positive weight"))
        var twice = stream("a", 2)
        twice.pairs.append(twice.pairs[0])
        XCTAssertTrue(message { try Mixture([twice]) }.contains("two pairs for train#0"))
    }
}
