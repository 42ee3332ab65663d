// Teachers, prompts and rationales from cells: the replay teacher reproduces the released SVAMP
// accuracy, the program teacher's runs resume from the store, prompts render exactly, the API key
// never shows, and the rationale table marks disagreements and unparseable outputs.
import Distill
import Lang
import XCTest

final class DistillTeacherTests: XCTestCase {
    /// The outputs of a cell, split into displays, display updates, the result and the error.
    private func run(_ interpreter: Interpreter, _ code: String) -> (displays: [MimeBundle], updates: [MimeBundle], result: MimeBundle?, error: CellError?) {
        var displays: [MimeBundle] = [], updates: [MimeBundle] = []
        var result: MimeBundle?, error: CellError?
        for output in interpreter.execute(code) {
            switch output {
            case .display(let bundle, _): displays.append(bundle)
            case .updateDisplay(let bundle, _): updates.append(bundle)
            case .result(let bundle): result = bundle
            case .error(let failure): error = failure
            default: break
            }
        }
        return (displays, updates, result, error)
    }

    func testReplayReproducesTheReleasedSvampAccuracyAndResumes() throws {
        let folder = try DistillFixtures.folder("svamp")
        let scratch = try ScratchFolder()
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let svamp = task(\"svamp\", data: \(literal(folder)))\nlet palm = replay(svamp)"))
        let started = Date()
        let first = run(interpreter, "let why = palm.explain(svamp.test, store: \(literal(scratch.file("r.sqlite"))))")
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertNil(first.error)
        XCTAssertEqual(first.displays.count, 1)
        // Updates are throttled to about four a second (plus the final one).
        XCTAssertLessThanOrEqual(Double(first.updates.count), 2 + elapsed * 4, "\(first.updates.count) updates in \(elapsed) s")
        XCTAssertEqual(first.updates.last?.plain, "explain: 200/200 calls, hits 0, misses 200, failures 0 — done")
        XCTAssertEqual(interpreter.result("why.accuracy"), "0.74")
        XCTAssertEqual(interpreter.result("[why.count, why.hits, why.misses, why.failures]"), "[200, 0, 200, 0]")
        XCTAssertEqual(interpreter.result("why.filter { $0.agrees }.count"), "148")
        XCTAssertEqual(interpreter.result("why.agreeing.count"), "148")
        XCTAssertEqual(interpreter.result("why[0].gold"), "( 10.0 * 45.0 )")
        XCTAssertEqual(interpreter.result("why[0].parsed"), "true")
        // Running again answers everything from the store.
        XCTAssertNil(interpreter.error("let again = palm.explain(svamp.test, store: \(literal(scratch.file("r.sqlite"))))"))
        XCTAssertEqual(interpreter.result("[again.hits, again.misses, again.accuracy]"), "[200, 0, 0.74]")
        XCTAssertEqual(try RationaleStore(path: scratch.file("r.sqlite")).count(), 200)
    }

    func testRationaleTableMarksDisagreementsAndHighlightsAnswers() throws {
        let scratch = try ScratchFolder()
        let interpreter = Interpreter()
        let code = """
            let s = synthetic(train: 40, test: 5, seed: 7)
            let teacher = program(errorRate: 0.5, seed: 1)
            let why = teacher.explain(s.train, store: \(literal(scratch.file("p.sqlite"))))
            """
        XCTAssertNil(interpreter.error(code))
        let agreeing = Int(interpreter.result("why.filter { $0.agrees }.count") ?? "") ?? -1
        XCTAssertGreaterThan(agreeing, 5)
        XCTAssertLessThan(agreeing, 35)
        XCTAssertEqual(interpreter.result("why.accuracy == \(Double(agreeing) / 40)"), "true")
        XCTAssertEqual(interpreter.result("why.filter { !$0.agrees }.count"), "\(40 - agreeing)")
        XCTAssertEqual(interpreter.result("why.filter { $0.agrees }.accuracy"), "1.0")
        guard case .result(let table)? = interpreter.execute("why.show(40)").last else { return XCTFail("no table") }
        let html = try XCTUnwrap(table.data["text/html"])
        XCTAssertEqual(html.components(separatedBy: "✗ disagrees").count - 1, 40 - agreeing)
        XCTAssertEqual(html.components(separatedBy: "<mark>").count - 1, 40)
        XCTAssertTrue(html.contains("<th>rationale</th>"))
        guard case .result(let five)? = interpreter.execute("why.show(5)").last else { return XCTFail("no table") }
        XCTAssertEqual(five.plain.split(separator: "\n").count, 6, five.plain)
        XCTAssertTrue(five.plain.hasPrefix("5 rationales from program teacher (error rate 0.5, seed 1): accuracy "), five.plain)
        // Elements expose their fields, and a list of them iterates.
        XCTAssertEqual(interpreter.result("why[0].label == why[0].gold || !why[0].agrees"), "true")
        XCTAssertEqual(interpreter.result("var n = 0\nfor r in why { if r.parsed { n += 1 } }\nn"), "40")
        XCTAssertEqual(interpreter.error("why[40]")?.message, "index 40 is out of range for 40 rationales")
    }

    func testUnparseableOutputsAreMarkedNotDropped() throws {
        let scratch = try ScratchFolder()
        let llm = URL(fileURLWithPath: scratch.path).appendingPathComponent("svamp/llm")
        try FileManager.default.createDirectory(at: llm, withIntermediateDirectories: true)
        try Data("{\"input\":\"Sam has 2 apples and buys 3. How many?\",\"label\":\"( 2.0 + 3.0 )\"}\n{\"input\":\"Mia has 5 and loses 1. How many?\",\"label\":\"( 5.0 - 1.0 )\"}\n".utf8)
            .write(to: URL(fileURLWithPath: scratch.path).appendingPathComponent("svamp/svamp_test.json"))
        try Data("[\"2 + 3 = 5. The answer is (2 + 3).\", \"She has some left, I think.\"]".utf8).write(to: llm.appendingPathComponent("test_CoT_0.json"))
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let t = task(\"svamp\", data: \(literal(scratch.path)))\nlet why = replay(t).explain(t.test, store: nil)"))
        XCTAssertEqual(interpreter.result("[why.count, why.unparseable]"), "[2, 1]")
        XCTAssertEqual(interpreter.result("why[1].parsed"), "false")
        XCTAssertEqual(interpreter.result("why[1].label"), "nil")
        XCTAssertEqual(interpreter.result("why[1].failure"), "no \"The answer is\" before the next example")
        XCTAssertEqual(interpreter.result("why[1].raw"), "She has some left, I think.")
        guard case .result(let table)? = interpreter.execute("why").last else { return XCTFail("no table") }
        XCTAssertTrue(table.data["text/html"]?.contains("? unparseable") == true)
        XCTAssertTrue(table.plain.contains("? [1] Mia has 5 and loses 1. How many? → unparseable (gold ( 5.0 - 1.0 ))"), table.plain)
    }

    func testPromptsRenderExactlyWhatTheTeacherSees() throws {
        let folder = try DistillFixtures.folder("svamp")
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let svamp = task(\"svamp\", data: \(literal(folder)))\nlet p = cot(svamp, shots: 4, seed: 0)"))
        XCTAssertEqual(interpreter.result("p.shots"), "4")
        let rendered = try XCTUnwrap(interpreter.result("p.render(svamp.test[0])"))
        let input = try XCTUnwrap(interpreter.result("svamp.test[0].input"))
        XCTAssertTrue(rendered.hasSuffix("\n\nQ: \(input)\nA:"), rendered)
        XCTAssertEqual(rendered.components(separatedBy: "The answer is (").count - 1, 4)
        XCTAssertEqual(rendered.components(separatedBy: "Q: ").count - 1, 5)

        let own = """
            let mine = cot(svamp, exemplars: [["input": "Tom has 3 cats and gets 2 more. How many cats?", "rationale": "3 + 2 = 5.", "label": "( 3.0 + 2.0 )"]])
            mine.render("Ann has 4 pens. She loses 1. How many pens?")
            """
        XCTAssertEqual(interpreter.result(own), "Q: Tom has 3 cats and gets 2 more. How many cats?\nA: 3 + 2 = 5. The answer is (3 + 2).\n\nQ: Ann has 4 pens. She loses 1. How many pens?\nA:")
        XCTAssertEqual(interpreter.result("mine.chat(\"x\").map { $0[\"role\"] }"), "[\"system\", \"user\", \"assistant\", \"user\"]")
        XCTAssertEqual(interpreter.error("cot(svamp, exemplars: [[\"input\": \"x\", \"label\": \"(1)\"]])")?.message,
                       "exemplar 0 needs a string `\"rationale\"` (it has: input, label)")
    }

    func testOpenAITeacherNeverShowsItsKey() {
        setenv("STEPWISE_LANG_TEST_KEY", "sk-very-secret-value", 1)
        defer { unsetenv("STEPWISE_LANG_TEST_KEY") }
        let interpreter = Interpreter()
        let outputs = interpreter.execute("let t = openai(baseURL: \"http://127.0.0.1:9\", model: \"smollm2\", apiKeyEnv: \"STEPWISE_LANG_TEST_KEY\", temperature: 0)\nt")
        let everything = outputs.map { "\($0)" }.joined() + interpreter.streamText("%who") + (interpreter.result("t.settings") ?? "")
        XCTAssertFalse(everything.contains("sk-very-secret-value"))
        XCTAssertTrue(everything.contains("key from $STEPWISE_LANG_TEST_KEY"), everything)
        XCTAssertEqual(interpreter.result("t.kind"), "openai-chat")
        let missing = interpreter.error("openai(baseURL: \"http://127.0.0.1:9\", model: \"m\", apiKeyEnv: \"STEPWISE_LANG_TEST_UNSET\")")
        XCTAssertEqual(missing?.kind, "ValueError")
        XCTAssertTrue(missing?.message.contains("STEPWISE_LANG_TEST_UNSET") == true, missing?.message ?? "")
        XCTAssertEqual(interpreter.error("openai(baseURL: \"ftp://x\", model: \"m\")")?.kind, "ValueError")
        XCTAssertEqual(interpreter.error("openai(baseURL: \"http://x\", model: \"m\", endpoint: \"embeddings\")")?.message,
                       "unknown endpoint \"embeddings\"; use \"chat\" or \"completions\"")
    }

    func testTeacherErrorsAreClear() throws {
        let folder = try DistillFixtures.folder("svamp")
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let svamp = task(\"svamp\", data: \(literal(folder)))\nlet s = synthetic(train: 3, test: 1)"))
        XCTAssertEqual(interpreter.error("replay(s)")?.message,
                       "released outputs exist only for svamp, cqa, anli1 and esnli, not synthetic; use `program()` for the synthetic task")
        XCTAssertEqual(interpreter.error("program(errorRate: 2)")?.message, "`program(errorRate:)` must be a number between 0.0 and 1.0, got 2.0")
        // A call that fails is kept as a failure, not dropped.
        XCTAssertEqual(interpreter.result("let wrong = program().explain(svamp.test[0], store: nil)\n[wrong.count, wrong.failures, wrong.unparseable]"), "[1, 1, 1]")
        XCTAssertEqual(interpreter.result("wrong[0].failure"), "example test#0 is not a synthetic problem (it has no program fields)")
        XCTAssertEqual(interpreter.error("program().explain([1, 2])")?.message,
                       "`explain` expects `examples` to be a list of examples (such as `svamp.train`), but it holds Int")
        let noModel = interpreter.error("gguf(\(literal(folder + "/model.gguf")))")
        XCTAssertEqual(noModel?.message, "no model file at \(folder)/model.gguf (no .gguf files are there; `make lab` or scripts/fetch-models.sh puts SmolLM2-135M-Instruct.Q4_1.gguf into the repository's models/ folder)")
        XCTAssertTrue(interpreter.documentation(for: "svamp")?.contains("Task") == true)
    }
}
