// Loading the four released tasks, the generic JSON Lines loader, and errors for bad input.
import Distill
import XCTest

final class LoaderTests: XCTestCase {
    func testSvampSplitsAndFields() throws {
        let dataset = try Dataset.benchmark("svamp", from: TestData.folder("svamp"))
        XCTAssertEqual(dataset.sizes.map(\.split), ["train", "test"])
        XCTAssertEqual(dataset.sizes.map(\.count), [800, 200])
        let first = try dataset.split("train")[0]
        XCTAssertEqual(first.label, "( 84.0 / 2.0 )")
        XCTAssertTrue(first.input.hasPrefix("Luke scored 84 points"))
        XCTAssertEqual(first.id, ExampleID(split: "train", index: 0))
        XCTAssertEqual(dataset.labelKind, .equation)
    }

    func testCqaInputIsFormattedAsInThePaper() throws {
        let test = try BenchmarkTask.cqa.loadSplit("test", from: TestData.folder("cqa"))
        XCTAssertEqual(test.count, 1221)
        XCTAssertEqual(test[0].input, """
            A beaver is know for building prowess, their supplies come from where?
            Answer Choices:
            (a) british columbia
            (b) body of water
            (c) wooded area
            (d) pay debts
            (e) zoo
            """)
        XCTAssertEqual(test[0].label, "wooded area")
        XCTAssertEqual(test[0].choices.count, 5)
        XCTAssertEqual(test[0].rationale, "Wooden area is only the place for the beaver supplies.")
        XCTAssertEqual(test[0].fields["extractive_explanation"], "their supplies come")
    }

    func testNliLabelsAreNamed() throws {
        let anli = try Dataset.benchmark("anli1", from: TestData.folder("anli1"))
        XCTAssertEqual(anli.sizes.map(\.split), ["valid"])
        let valid = try anli.split("valid")
        XCTAssertEqual(valid.count, 1000)
        XCTAssertEqual(valid[0].label, "contradiction")
        XCTAssertEqual(valid[1].label, "entailment")
        XCTAssertNotNil(valid[0].rationale)
        XCTAssertTrue(valid[0].input.hasPrefix("Premise: Linguistics"))
        XCTAssertTrue(valid[0].input.contains("\nHypothesis: Form and meaning"))

        let esnli = try BenchmarkTask.esnli.loadSplit("valid", from: TestData.folder("esnli"))
        XCTAssertEqual(esnli.count, 9842)
        XCTAssertEqual(esnli[0].label, "neutral")
        XCTAssertEqual(esnli[0].rationale, "The to go packages may not be from lunch.")
        XCTAssertNotNil(esnli[0].fields["explanation_3"])
    }

    func testUnknownTaskAndSplit() throws {
        XCTAssertThrowsError(try Dataset.benchmark("gsm8k", from: "."),
                             equals: DatasetError.unknownTask("gsm8k", known: ["svamp", "cqa", "anli1", "esnli"]))
        let dataset = try Dataset.benchmark("svamp", from: TestData.folder("svamp"))
        XCTAssertThrowsError(try dataset.split("valid"),
                             equals: DatasetError.unknownSplit(task: "svamp", split: "valid", available: ["train", "test"]))
    }

    func testMissingFolderAndFile() throws {
        let folder = try TemporaryFolder()
        XCTAssertThrowsError(try BenchmarkTask.svamp.load(from: folder.path + "/nope"),
                             equals: DatasetError.missingDirectory(folder.path + "/nope"))
        XCTAssertThrowsError(try BenchmarkTask.svamp.load(from: folder.path), equals: DatasetError.emptyDataset(folder.path))
        XCTAssertThrowsError(try BenchmarkTask.svamp.loadSplit("test", from: folder.path),
                             equals: DatasetError.missingFile(folder.path + "/svamp_test.json"))
    }

    func testMalformedLineNamesFileAndLine() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("svamp_train.json", """
            {"input": "a 1", "label": "( 1.0 )"}

            {"input": "b 2", "label": "( 2.0 )"
            """)
        XCTAssertThrowsError(try BenchmarkTask.svamp.loadSplit("train", from: folder.path),
                             equals: DatasetError.malformedLine(file: file, line: 3, reason: "invalid JSON"))
        try folder.write("svamp_test.json", "[1, 2]\n")
        XCTAssertThrowsError(try BenchmarkTask.svamp.loadSplit("test", from: folder.path)) { error in
            guard case DatasetError.malformedLine(_, 1, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(reason, "expected an object, found an array")
        }
    }

    func testCRLFLineEndingsReadAsLines() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("data.jsonl", "{\"input\": \"a 1\", \"label\": \"x\"}\r\n\r\n{\"input\": \"b \u{2028} 2\", \"label\": \"y\"}\r\n")
        let records = try JSONLines.read(file)
        XCTAssertEqual(records.map(\.line), [1, 3])
        XCTAssertEqual(records.map { $0.object["label"] as? String }, ["x", "y"])
        XCTAssertEqual(records.last?.object["input"] as? String, "b \u{2028} 2")
        try folder.write("bad.jsonl", "{\"input\": 1}\r\n{\"input\"\r\n")
        XCTAssertThrowsError(try JSONLines.read(folder.path + "/bad.jsonl"),
                             equals: DatasetError.malformedLine(file: folder.path + "/bad.jsonl", line: 2, reason: "invalid JSON"))
    }

    func testADeviceOrAFolderIsNamedForWhatItIs() throws {
        XCTAssertThrowsError(try JSONLines.read("/dev/null")) { error in
            XCTAssertEqual("\(error)", "cannot read /dev/null: it is a device, not a data file")
        }
        let folder = try TemporaryFolder()
        XCTAssertThrowsError(try JSONLines.read(folder.path), equals: DatasetError.unreadableFile(folder.path, reason: "it is a folder"))
        XCTAssertEqual(try JSONLines.read(try folder.write("empty.jsonl", "")).count, 0)
        XCTAssertEqual("\(DatasetError.missingFile("no/such.jsonl"))",
                       "no such file: \(FileManager.default.currentDirectoryPath)/no/such.jsonl")
    }

    func testWrongTypeAndMissingField() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("anli1_valid.json", """
            {"premise": "p", "hypothesis": "h", "label": 1, "reason": "r"}
            {"premise": "p", "hypothesis": "h", "label": "neutral", "reason": "r"}
            """)
        XCTAssertThrowsError(try BenchmarkTask.anli1.loadSplit("valid", from: folder.path),
                             equals: DatasetError.wrongType(file: file, line: 2, field: "label",
                                                            expected: "an integer", found: "a string"))
        try folder.write("anli1_valid.json", #"{"premise": "p", "label": 7}"#)
        XCTAssertThrowsError(try BenchmarkTask.anli1.loadSplit("valid", from: folder.path),
                             equals: DatasetError.missingField(file: file, line: 1, field: "hypothesis"))
        try folder.write("anli1_valid.json", #"{"premise": "p", "hypothesis": "h", "label": 7}"#)
        XCTAssertThrowsError(try BenchmarkTask.anli1.loadSplit("valid", from: folder.path),
                             equals: DatasetError.invalidValue(file: file, line: 1, field: "label",
                                                               reason: "expected 0, 1 or 2, found 7"))
        let cqa = try folder.write("cqa_test.json", #"{"question": "q", "choices": ["a", 2], "answer": "a"}"#)
        XCTAssertThrowsError(try BenchmarkTask.cqa.loadSplit("test", from: folder.path),
                             equals: DatasetError.wrongType(file: cqa, line: 1, field: "choices",
                                                            expected: "an array of strings", found: "a number"))
    }

    func testGenericJSONLinesLoader() throws {
        let folder = try TemporaryFolder()
        let train = try folder.write("train.jsonl", """
            {"text": "is it?", "gold": 2, "why": "because", "extra": "x"}
            {"text": "and this?", "gold": 0}
            """)
        let mapping = JSONLinesMapping(input: "text", label: "gold", rationale: "why", labelNames: ["yes", "maybe", "no"])
        let dataset = try Dataset.jsonLines(name: "mine", files: [("train", train)], mapping: mapping,
                                            labelKind: .classes(["yes", "maybe", "no"]))
        let examples = try dataset.split("train")
        XCTAssertEqual(examples.map(\.label), ["no", "yes"])
        XCTAssertEqual(examples.map(\.rationale), ["because", nil])
        XCTAssertEqual(examples[0].fields["extra"], "x")
        try folder.write("train.jsonl", #"{"text": "q", "gold": 5}"#)
        XCTAssertThrowsError(try Dataset.jsonLines(name: "mine", files: [("train", train)], mapping: mapping),
                             equals: DatasetError.invalidValue(file: train, line: 1, field: "gold",
                                                               reason: "expected 0..<3, found 5"))
    }
}
