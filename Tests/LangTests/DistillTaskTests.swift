// The task builtins on real data: task(), synthetic(), jsonl(), their members, rendering, and
// the errors for a bad path or an unknown task.
import Distill
import Lang
import XCTest

final class DistillTaskTests: XCTestCase {
    func testSvampLoadsWithSplitsAndRendersATable() throws {
        let folder = try DistillFixtures.folder("svamp")
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let svamp = task(\"svamp\", data: \(literal(folder)))"))
        XCTAssertEqual(interpreter.result("svamp.sizes"), "[\"train\": 800, \"test\": 200]")
        XCTAssertEqual(interpreter.result("svamp.test[0].label"), "( 10.0 * 45.0 )")
        XCTAssertEqual(interpreter.result("svamp.test[0].input.hasPrefix(\"Paige was helping\")"), "true")
        XCTAssertEqual(interpreter.result("svamp.test[0].id"), "test#0")
        XCTAssertEqual(interpreter.result("svamp.test[0].rationale"), "nil")
        guard case .result(let bundle)? = interpreter.execute("svamp").last else { return XCTFail("no result") }
        XCTAssertTrue(bundle.plain.hasPrefix("Task svamp (train 800, test 200)"), bundle.plain)
        let html = try XCTUnwrap(bundle.data["text/html"])
        XCTAssertTrue(html.contains("<tr><td>train</td><td>800</td></tr>"), html)
        XCTAssertTrue(html.contains("Luke scored 84 points"), html)
    }

    func testTheDatasetsFolderAboveTheTaskAlsoWorks() throws {
        _ = try DistillFixtures.folder("svamp")
        XCTAssertEqual(Interpreter().result("task(\"svamp\", data: \(literal(DistillFixtures.datasets))).test.count"), "200")
    }

    func testCQAInputsCarryTheirChoices() throws {
        let folder = try DistillFixtures.folder("cqa")
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let cqa = task(\"cqa\", data: \(literal(folder)))"))
        XCTAssertEqual(interpreter.result("cqa.train[0].choices.count"), "5")
        XCTAssertEqual(interpreter.result("cqa.train[0].input.contains(\"\\nAnswer Choices:\\n(a) \")"), "true")
        XCTAssertEqual(interpreter.result("cqa.labelKind"), "text")
    }

    func testSubsampleAndValidationAreSeededAndKeepIDs() throws {
        let folder = try DistillFixtures.folder("svamp")
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let svamp = task(\"svamp\", data: \(literal(folder)))"))
        XCTAssertEqual(interpreter.result("svamp.subsample(0.25, seed: 3).train.count"), "200")
        XCTAssertEqual(interpreter.result("svamp.subsample(0.25, seed: 3).train.map { $0.id } == svamp.subsample(0.25, seed: 3).train.map { $0.id }"), "true")
        XCTAssertEqual(interpreter.result("svamp.subsample(0.25, seed: 3).train.map { $0.id } == svamp.subsample(0.25, seed: 4).train.map { $0.id }"), "false")
        XCTAssertEqual(interpreter.result("let v = svamp.withValidation(0.1, seed: 1)\n[v.train.count, v.validation.count, v.test.count]"), "[720, 80, 200]")
        XCTAssertEqual(interpreter.result("v.validation[0].id.hasPrefix(\"train#\")"), "true")
        XCTAssertEqual(interpreter.error("svamp.subsample(1.5)")?.message, "fraction 1.5 is out of range; use a number in (0, 1]")
        XCTAssertEqual(interpreter.error("svamp.validation")?.message, "task svamp has no split \"valid\"; it has: train, test")
    }

    func testSyntheticTaskIsSeededAndSized() {
        let interpreter = Interpreter()
        XCTAssertEqual(interpreter.result("synthetic(train: 30, test: 10, seed: 2).sizes"), "[\"train\": 30, \"test\": 10]")
        XCTAssertEqual(interpreter.result("synthetic(train: 5, test: 1, seed: 2).train[4].input == synthetic(train: 9, test: 1, seed: 2).train[4].input"), "true")
        XCTAssertEqual(interpreter.result("synthetic(train: 5, test: 1, seed: 2).train.map { $0.rationale.contains(\"The answer is (\") }"), "[true, true, true, true, true]")
        XCTAssertEqual(interpreter.result("task(\"synthetic\").sizes"), "[\"train\": 2000, \"test\": 500]")
        XCTAssertEqual(interpreter.error("synthetic(difficulty: \"brutal\")")?.message,
                       "invalid difficulty: unknown difficulty \"brutal\"; use easy, classroom or hard, then changes such as \",steps=1-3,distractors=0-2\"")
        XCTAssertEqual(interpreter.result("synthetic(train: 50, test: 1, difficulty: \"easy,steps=2\").train.filter { $0.label.split(\" \").count != 5 }.count"), "0")
    }

    func testJSONLinesTaskMapsFields() throws {
        let scratch = try ScratchFolder()
        let path = scratch.file("mine.jsonl")
        try Data("{\"q\": \"2 plus 3?\", \"a\": \"(2 + 3)\", \"why\": \"Two and three make five.\"}\n{\"q\": \"4 minus 1?\", \"a\": \"(4 - 1)\"}\n".utf8)
            .write(to: URL(fileURLWithPath: path))
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let mine = jsonl(\(literal(path)), input: \"q\", label: \"a\", rationale: \"why\", format: \"equation\")"))
        XCTAssertEqual(interpreter.result("mine.name"), "mine")
        XCTAssertEqual(interpreter.result("mine.train.map { $0.rationale }"), "[\"Two and three make five.\", nil]")
        XCTAssertEqual(interpreter.result("mine.labelKind"), "equation")
        let missing = interpreter.error("jsonl(\(literal(scratch.file("nope.jsonl"))), input: \"q\", label: \"a\")")
        XCTAssertEqual(missing?.kind, "ValueError")
        XCTAssertTrue(missing?.message.contains("nope.jsonl") == true && missing?.message.contains("holds: mine.jsonl") == true, missing?.message ?? "")
        let badField = interpreter.error("jsonl(\(literal(path)), input: \"question\", label: \"a\")")
        XCTAssertEqual(badField?.message, "\(path):1: missing field \"question\"")
    }

    func testUnknownTaskListsTheTasks() {
        let error = failure("task(\"svmap\", data: \".\")")
        XCTAssertEqual(error?.kind, "ValueError")
        XCTAssertTrue(error?.message.hasPrefix("unknown task \"svmap\" (did you mean \"svamp\"?); the tasks are svamp, cqa, anli1, esnli") == true, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("synthetic") == true)
        XCTAssertEqual(error?.line, 1)
    }

    func testBadPathNamesThePathAndWhatIsThere() throws {
        let scratch = try ScratchFolder()
        try Data("x".utf8).write(to: URL(fileURLWithPath: scratch.file("notes.txt")))
        let wrongFolder = failure("task(\"svamp\", data: \(literal(scratch.path)))")
        XCTAssertEqual(wrongFolder?.message, "no svamp files (svamp_train.json, svamp_test.json) in \(scratch.path): \(scratch.path) holds: notes.txt")
        let nothing = failure("task(\"anli1\", data: \(literal(scratch.file("missing"))))")
        XCTAssertEqual(nothing?.message, "no anli1 files (anli1_train.json, anli1_valid.json, anli1_test.json) in \(scratch.file("missing")): nothing is at \(scratch.file("missing")); \(scratch.path) holds: notes.txt")
        XCTAssertEqual(failure("task(\"svamp\")")?.message, "`task(\"svamp\")` needs `data:`, the folder holding svamp_train.json, e.g. `data: \"../shared/datasets/svamp\"`")
    }

    func testCompletionAndInspectKnowTheMembers() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let s = synthetic(train: 4, test: 2)"))
        let code = "s.sub"
        XCTAssertEqual(interpreter.complete(code, cursor: code.unicodeScalars.count).matches, ["subsample"])
        let members = interpreter.complete("s.", cursor: 2).matches
        for name in ["train", "test", "validation", "subsample", "withValidation", "sizes"] { XCTAssertTrue(members.contains(name), "\(members)") }
        let inspect = interpreter.inspect("s.withValidation", cursor: 5)
        XCTAssertTrue(inspect?.plain.hasPrefix("Task.withValidation\n\nwithValidation(_ fraction: Double, seed: Int = 0) -> Task") == true, inspect?.plain ?? "")
        XCTAssertNil(interpreter.error("let e = s.train[0]"))
        XCTAssertEqual(interpreter.complete("e.", cursor: 2).matches, ["choices", "fields", "id", "input", "label", "rationale", "split", "task"])
        XCTAssertTrue(interpreter.documentation(for: "task")?.hasPrefix("task(_ name: String, data: String = nil) -> Task\n\nLoads one of the paper's tasks") == true)
        guard case .pager(let help)? = interpreter.execute("%help synthetic").first else { return XCTFail("no help") }
        XCTAssertTrue(help.plain.contains("multi-step arithmetic word problems"), help.plain)
    }
}
