// The seeded generator, subsampling by a fraction, and validation splits carved from train.
import Distill
import XCTest

final class SplitTests: XCTestCase {
    private func toyDataset(_ count: Int) -> Dataset {
        let examples = (0..<count).map { Example(id: ExampleID(split: "train", index: $0), input: "q\($0)", label: "\($0)") }
        return Dataset(name: "toy", labelKind: .text, splits: [("train", examples)])
    }

    func testSplitMix64MatchesTheReference() {
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(generator.next(), 0x6E78_9E6A_A1B9_65F4)
    }

    func testUniformStaysInRange() {
        var generator = SplitMix64(seed: 7)
        var seen = Set<Int>()
        for _ in 0..<1000 {
            let value = generator.uniform(in: 3...6)
            XCTAssertTrue((3...6).contains(value))
            seen.insert(value)
        }
        XCTAssertEqual(seen, [3, 4, 5, 6])
    }

    func testSubsamplingIsDeterministic() throws {
        let dataset = toyDataset(100)
        let a = try dataset.subsampling("train", fraction: 0.25, seed: 42)
        let b = try dataset.subsampling("train", fraction: 0.25, seed: 42)
        let c = try dataset.subsampling("train", fraction: 0.25, seed: 43)
        XCTAssertEqual(try a.split("train").count, 25)
        XCTAssertEqual(try a.split("train"), try b.split("train"))
        XCTAssertNotEqual(try a.split("train"), try c.split("train"))
        let indices = try a.split("train").map(\.id.index)
        XCTAssertEqual(indices, indices.sorted(), "a subsample keeps the original order")
        XCTAssertEqual(try dataset.subsampling("train", fraction: 1, seed: 1).split("train").count, 100)
        XCTAssertEqual(try Dataset.subsample(try dataset.split("train"), fraction: 0.001, seed: 1).count, 1)
        XCTAssertThrowsError(try dataset.subsampling("train", fraction: 0, seed: 1), equals: DatasetError.invalidFraction(0))
        XCTAssertThrowsError(try dataset.subsampling("train", fraction: 1.5, seed: 1), equals: DatasetError.invalidFraction(1.5))
    }

    func testValidationCarveOut() throws {
        let dataset = try toyDataset(50).carvingValidation(fraction: 0.2, seed: 9)
        let train = try dataset.split("train")
        let valid = try dataset.split("valid")
        XCTAssertEqual(train.count, 40)
        XCTAssertEqual(valid.count, 10)
        XCTAssertTrue(Set(train.map(\.id)).isDisjoint(with: valid.map(\.id)))
        XCTAssertTrue(valid.allSatisfy { $0.id.split == "train" }, "ids keep their source for teacher alignment")
        let again = try toyDataset(50).carvingValidation(fraction: 0.2, seed: 9)
        XCTAssertEqual(try again.split("valid"), valid)
        XCTAssertThrowsError(try dataset.carvingValidation(fraction: 0.2, seed: 9),
                             equals: DatasetError.splitExists(task: "toy", split: "valid"))
    }
}
