// Number masking: placeholder names, masking of input, label and rationale, and the round trip.
import Distill
import XCTest

final class MaskingTests: XCTestCase {
    func testPlaceholderNames() {
        XCTAssertEqual(NumberMask.placeholder(0), "numa")
        XCTAssertEqual(NumberMask.placeholder(25), "numz")
        XCTAssertEqual(NumberMask.placeholder(26), "numaa")
        XCTAssertEqual(NumberMask.placeholder(27), "numab")
        let names = (0..<1000).map(NumberMask.placeholder)
        XCTAssertEqual(Set(names).count, 1000)
    }

    func testMaskingAnSvampExample() {
        let example = Example(id: ExampleID(split: "train", index: 0),
                              input: "Luke scored 84 points after playing 2 rounds on his 2nd try.\nHow many per round?",
                              label: "( 84.0 / 2.0 )", rationale: "84 / 2 = 42. The answer is (84 / 2).")
        let masked = example.maskingNumbers()
        XCTAssertEqual(masked.example.input, "Luke scored numa points after playing numb rounds on his 2nd try.\nHow many per round?")
        XCTAssertEqual(masked.example.label, "( numa / numb )")
        XCTAssertEqual(masked.example.rationale, "numa / numb = 42. The answer is (numa / numb).")
        XCTAssertEqual(masked.mask.numbers, ["84", "2"])
        XCTAssertEqual(masked.mask.restore(masked.example.input), example.input)
        XCTAssertEqual(masked.mask.restore("(numa / numb)"), "(84 / 2)")
        XCTAssertEqual(masked.mask.restore("(numa - numz) + number"), "(84 - numz) + number", "unknown names stay")
    }

    func testRepeatedNumbersShareAPlaceholder() {
        let (masked, mask) = NumberMask.masking("3 red, 5 blue and 3.0 green; 1.5 kg")
        XCTAssertEqual(masked, "numa red, numb blue and numa green; numc kg")
        XCTAssertEqual(mask.numbers, ["3", "5", "1.5"])
        XCTAssertEqual(mask.apply("( 3 * 1.50 ) + 7"), "( numa * numc ) + 7")
    }

    func testRoundTripOverSvamp() throws {
        let folder = try TestData.folder("svamp")
        for split in ["train", "test"] {
            for example in try BenchmarkTask.svamp.loadSplit(split, from: folder) {
                let masked = example.maskingNumbers()
                XCTAssertEqual(masked.mask.restore(masked.example.input), example.input)
                XCTAssertFalse(masked.example.input.contains { $0.isNumber && $0.isASCII } && masked.mask.numbers.isEmpty)
                let restored = masked.mask.restore(masked.example.label)
                XCTAssertTrue(Arithmetic.sameValue(restored, example.label), "\(example.label) → \(restored)")
            }
        }
    }

    func testRoundTripOverSynthetic() throws {
        let examples = SyntheticTask(difficulty: .hard).examples(count: 300, seed: 6)
        for example in examples {
            let masked = example.maskingNumbers()
            XCTAssertFalse(masked.example.label.contains { $0.isNumber }, masked.example.label)
            XCTAssertEqual(masked.mask.restore(masked.example.input), example.input)
            XCTAssertEqual(masked.mask.restore(masked.example.label), example.label)
            XCTAssertEqual(masked.example.rationale.map(masked.mask.restore), example.rationale)
        }
    }
}
