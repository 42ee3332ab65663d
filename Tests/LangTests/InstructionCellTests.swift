// FLAN from cells: a task's templates and their lint, the instruction world, a mixture of tasks
// with a held-out cluster (and the error when it overlaps it), training on it, and zero-shot
// evaluation of the held-out tasks per template by rank classification.
import Distill
import Lang
import XCTest

final class InstructionCellTests: XCTestCase {
    func testTemplatesShowAndLintATask() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let w = instructionWorld(train: 20, test: 6, seed: 1)\nlet t = templates(w.heldOut[0])"))
        XCTAssertEqual(interpreter.result("[t.count, t.ids[0], t.lint().count]"), "[7, \"contains-word/t1\", 0]")
        let shown = interpreter.execute("t")
        guard case .result(let bundle)? = shown.last else { return XCTFail("\(shown)") }
        XCTAssertTrue(bundle.plain.hasPrefix("contains-word (cluster yes-no): 7 templates, 1 turned around"), bundle.plain)
        XCTAssertTrue((bundle.data["text/html"] ?? "").contains("OPTIONS:\n- yes\n- no"))
        // Any task gets generic templates; the synthetic task its own.
        XCTAssertNil(interpreter.error("let s = synthetic(train: 5, test: 2, seed: 1)"))
        XCTAssertEqual(interpreter.result("templates(s).ids[0]"), "synthetic/t1")
        XCTAssertEqual(interpreter.result("[w.tasks.count, w.tuning.count, w.heldOut.count]"), "[11, 8, 3]")
    }

    func testAMixtureOfTasksHoldsOutAClusterTrainsAndScoresItZeroShot() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("""
            let w = instructionWorld(train: 20, test: 6, seed: 1)
            let mix = mixture(w.tuning, heldOut: ["yes-no"], formats: ["zero-shot", "few-shot"], steps: 10, batch: 8)
            """))
        XCTAssertEqual(interpreter.result("mix.streams.count"), "8")
        XCTAssertEqual(interpreter.result("mix.streams[0].pairs[0][\"template\"].hasPrefix(\"reverse/t\")"), "true")
        XCTAssertEqual(interpreter.result("mix.streams[0].pairs.filter { $0[\"format\"] == \"few-shot\" }.count > 0"), "true")
        XCTAssertEqual(interpreter.result("mix.manifest[\"normalisation\"]"), "per-token")
        XCTAssertEqual(interpreter.result("mix.manifest[\"cap\"]"), "3000")
        let shown = interpreter.execute("mix")
        guard case .result(let bundle)? = shown.last else { return XCTFail("\(shown)") }
        XCTAssertTrue((bundle.data["text/html"] ?? "").contains("reverse · reverse/t"), bundle.data["text/html"] ?? "")
        // Overlapping the held-out cluster names the task.
        let overlap = interpreter.error("mixture(w.tasks, heldOut: [\"yes-no\"])")?.message ?? ""
        XCTAssertTrue(overlap.contains("task 'contains-word' belongs to the held-out cluster 'yes-no'"), overlap)
        XCTAssertTrue((interpreter.error("mixture(w.tuning, formats: [\"two-shot\"])")?.message ?? "").contains("\"few-shot\""))
        XCTAssertNil(interpreter.error("""
            let st = t5(size: "tiny", tokenizer: w.tasks[0], vocabulary: 400, dropout: 0, seed: 0)
            let run = train(st, on: mix, steps: 3, batch: 8)
            let e = evaluate(st, on: w.heldOut, zeroShot: true, limit: 4)
            """))
        XCTAssertEqual(interpreter.result("run.steps"), "3")
        XCTAssertEqual(interpreter.result("e.streams.count"), "18")
        XCTAssertEqual(interpreter.result("e.streams.map { $0[\"method\"] }.filter { $0 == \"rank\" }.count"), "18")
        XCTAssertEqual(interpreter.result("e.streams[0][\"count\"]"), "4")
        XCTAssertEqual(interpreter.result("e.meanOverTemplates >= 0 && e.meanOverTemplates <= 1"), "true")
        let shownEvaluation = interpreter.execute("e")
        guard case .result(let table)? = shownEvaluation.last else { return XCTFail("\(shownEvaluation)") }
        XCTAssertTrue(table.plain.contains("mean over 18 templates"), table.plain)
    }

    func testUserTemplatesAreUsedAndLinted() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let w = instructionWorld(train: 10, test: 4, seed: 1)"))
        XCTAssertNil(interpreter.error("""
            let own = ["reverse": ["Backwards please: {words}", ["source": "Write words reversing to {label}", "target": "{words}", "turnedAround": true]]]
            let m = mixture([w.tuning[0]], templates: own)
            """))
        XCTAssertEqual(interpreter.result("m.streams[0].pairs.filter { !$0[\"source\"].hasPrefix(\"Backwards please: \") && !$0[\"source\"].hasPrefix(\"Write words\") }.count"), "0")
        XCTAssertEqual(interpreter.result("m.streams[0].pairs.filter { $0[\"source\"].hasPrefix(\"Write words\") }.count > 0"), "true")
        let bad = interpreter.error("mixture([w.tuning[0]], templates: [\"reverse\": [\"{words}n\"]])")?.message ?? ""
        XCTAssertTrue(bad.contains("stray 'n' right after {words}"), bad)
        let missing = interpreter.error("mixture([w.tuning[0]], templates: [\"reverse\": [\"{colour}\"]])")?.message ?? ""
        XCTAssertTrue(missing.contains("{colour} is not a field of the example"), missing)
    }

    func testChainOfThoughtTrainsOnTheTeachersRationales() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("""
            let s = synthetic(train: 12, test: 4, seed: 1)
            let why = program(seed: 0, showResults: false).explain(s.train, store: nil)
            let m = mixture([why], formats: ["cot"])
            """))
        XCTAssertEqual(interpreter.result("m.streams[0].size"), "12")
        XCTAssertEqual(interpreter.result("m.streams[0].pairs.filter { $0[\"target\"].contains(\"\\nSo the answer is \") }.count"), "12")
        XCTAssertEqual(interpreter.result("m.streams[0].pairs.filter { $0[\"source\"].hasSuffix(\"Let's think step by step.\") }.count"), "12")
    }
}
