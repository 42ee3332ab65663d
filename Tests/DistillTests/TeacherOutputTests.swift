// Reading `{split}_CoT_{k}.json` blocks, aligning them with examples, and the replay teacher's errors.
import Distill
import Foundation
import XCTest

final class TeacherOutputTests: XCTestCase {
    private func examples(_ count: Int) -> [Example] {
        (0..<count).map { Example(id: ExampleID(split: "train", index: $0), input: "q\($0)", label: "(\($0))") }
    }

    private func block(_ range: Range<Int>) -> String {
        "[" + range.map { "\"Step. The answer is (\($0)).\\n\\nQ: next\"" }.joined(separator: ", ") + "]"
    }

    func testBlocksAreConcatenatedInOrderAndAligned() throws {
        let folder = try TemporaryFolder()
        try folder.write("llm/train_CoT_0.json", block(0..<3))
        try folder.write("llm/train_CoT_1.json", block(3..<5))
        let teacher = ReplayTeacher(format: .equation, outputs: folder.path + "/llm", blockSize: 3)
        XCTAssertEqual(try teacher.rawOutputs(split: "train").count, 5)
        let subset = [examples(5)[4], examples(5)[1]]
        let outputs = try teacher.explain(subset)
        XCTAssertEqual(outputs.map(\.label), ["(4)", "(1)"])
        XCTAssertEqual(outputs.map(\.rationale), ["Step.", "Step."])
        XCTAssertEqual(Metrics.evaluate(outputs, kind: .equation).accuracy, 1)
        XCTAssertTrue(outputs.allSatisfy { $0.agrees(kind: .equation) })
    }

    func testOutputsSurviveACodableRoundTrip() throws {
        let example = Example(id: ExampleID(split: "train", index: 3), input: "q", label: "(1)", rationale: nil)
        let outputs = [
            TeacherOutput(example: example, raw: "x. The answer is (1).", outcome: AnswerFormat.equation.parse("x. The answer is (1).")),
            TeacherOutput(example: example, raw: "x", outcome: AnswerFormat.equation.parse("x")),
        ]
        let decoded = try JSONDecoder().decode([TeacherOutput].self, from: JSONEncoder().encode(outputs))
        XCTAssertEqual(decoded, outputs)
        XCTAssertFalse(decoded[1].agrees(kind: .equation))
    }

    func testShortBlockBeforeTheLastIsAnError() throws {
        let folder = try TemporaryFolder()
        let first = try folder.write("llm/train_CoT_0.json", block(0..<2))
        try folder.write("llm/train_CoT_1.json", block(2..<5))
        let teacher = ReplayTeacher(format: .equation, outputs: folder.path + "/llm", blockSize: 3)
        XCTAssertThrowsError(try teacher.rawOutputs(split: "train"),
                             equals: TeacherError.blockSizeMismatch(file: first, count: 2, expected: 3))
    }

    func testMissingAndMalformedOutputs() throws {
        let folder = try TemporaryFolder()
        let teacher = ReplayTeacher(format: .equation, outputs: folder.path, blockSize: 3)
        XCTAssertThrowsError(try teacher.explain(examples(1)),
                             equals: TeacherError.noOutputs(directory: folder.path, split: "train"))
        try folder.write("train_CoT_0.json", block(0..<2))
        XCTAssertThrowsError(try teacher.explain(examples(3)),
                             equals: TeacherError.missingOutput(ExampleID(split: "train", index: 2), available: 2))
        let bad = try folder.write("test_CoT_0.json", "[\"fine\", 3]")
        XCTAssertThrowsError(try TeacherOutputFiles.read(directory: folder.path, split: "test", blockSize: 3),
                             equals: TeacherError.malformedFile(bad, reason: "item 1 is a number"))
        try folder.write("test_CoT_0.json", "{\"a\": 1}")
        XCTAssertThrowsError(try TeacherOutputFiles.read(directory: folder.path, split: "test", blockSize: 3),
                             equals: TeacherError.malformedFile(bad, reason: "found an object"))
    }
}
