// The released PaLM outputs, parsed and scored, give exactly the accuracies in datasets/README.md.
import Distill
import XCTest

final class ReleasedAccuracyTests: XCTestCase {
    private func score(_ name: String, _ split: String) throws -> Evaluation {
        let task = try BenchmarkTask.named(name)
        let folder = try TestData.folder(name)
        let examples = try task.loadSplit(split, from: folder)
        let teacher = ReplayTeacher(task: task, outputs: folder + "/llm")
        XCTAssertEqual(try teacher.rawOutputs(split: split).count, examples.count)
        return Metrics.evaluate(try teacher.explain(examples), kind: task.labelKind)
    }

    private func rounded(_ value: Double) -> String { String(format: "%.4f", value) }

    func testSvamp() throws {
        let test = try score("svamp", "test")
        XCTAssertEqual(test.correctCount, 148)
        XCTAssertEqual(rounded(test.accuracy), "0.7400")
        XCTAssertEqual(test.unparseableCount, 2)
        let train = try score("svamp", "train")
        XCTAssertEqual(rounded(train.accuracy), "0.7350")
        XCTAssertEqual(train.unparseableCount, 13)
    }

    func testSvampStrictArithmeticDiffersOnlyByPythonAnd() throws {
        let folder = try TestData.folder("svamp")
        let examples = try BenchmarkTask.svamp.loadSplit("train", from: folder)
        let outputs = try ReplayTeacher(task: .svamp, outputs: folder + "/llm").explain(examples)
        let strict = Metrics.evaluate(outputs, kind: .equation, dialect: .strict)
        XCTAssertEqual(strict.correctCount, 586)
        let python = Metrics.evaluate(outputs, kind: .equation, dialect: .python)
        let onlyPython = zip(strict.rows, python.rows).filter { !$0.0.correct && $0.1.correct }.map { $0.1.predicted }
        XCTAssertEqual(onlyPython.count, 2)
        XCTAssertTrue(onlyPython.allSatisfy { $0?.contains(" and ") == true })
    }

    func testCqa() throws {
        XCTAssertEqual(rounded(try score("cqa", "test").accuracy), "0.7723")
        let train = try score("cqa", "train")
        XCTAssertEqual(rounded(train.accuracy), "0.7426")
        XCTAssertEqual(train.unparseableCount, 3)
    }

    func testAnli1() throws {
        let valid = try score("anli1", "valid")
        XCTAssertEqual(valid.correctCount, 668)
        XCTAssertEqual(rounded(valid.accuracy), "0.6680")
        XCTAssertEqual(valid.unparseableCount, 9)
        XCTAssertEqual(valid.confusion?.accuracy, valid.accuracy)
    }

    func testEsnli() throws {
        let valid = try score("esnli", "valid")
        XCTAssertEqual(rounded(valid.accuracy), "0.7317")
        XCTAssertEqual(valid.unparseableCount, 4)
    }
}
