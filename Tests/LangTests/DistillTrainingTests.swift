// Students, recipes, training and evaluation from cells, on the synthetic task with a tiny T5:
// live progress, the run's history and plot, determinism from the seed, an interrupt that keeps
// the last completed step, save and load, the NLI confusion matrix, and clear errors.
import Distill
import Lang
import XCTest

final class DistillTrainingTests: XCTestCase {
    private let setUp = """
        let s = synthetic(train: 48, test: 12, seed: 1)
        let why = program(errorRate: 0.2, seed: 3).explain(s.train, store: nil)
        let st = t5(size: "tiny", tokenizer: why, vocabulary: 600, seed: 0)
        """

    func testTrainShowsLiveProgressAndReturnsARun() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error(setUp))
        var updates: [MimeBundle] = [], streams = ""
        var failure: CellError?
        let started = Date()
        interpreter.execute("let run = train(st, on: why.filter { $0.agrees }, method: stepByStep(alpha: 0.5), steps: 6, batch: 8)") { output in
            switch output {
            case .updateDisplay(let bundle, _): updates.append(bundle)
            case .stream(_, let text): streams += text
            case .error(let error): failure = error
            default: break
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertNil(failure)
        XCTAssertLessThanOrEqual(Double(updates.count), 2 + elapsed * 4, "\(updates.count) updates in \(elapsed) s")
        XCTAssertTrue(updates.last?.plain.hasPrefix("train (step-by-step): step 6/6, loss ") == true, updates.last?.plain ?? "")
        XCTAssertTrue(updates.last?.plain.hasSuffix(" — done") == true)
        XCTAssertTrue(updates.last?.data["text/html"]?.contains("<svg") == true)
        XCTAssertTrue(streams.contains("t5-tiny from scratch: d_model 128"), streams)
        XCTAssertTrue(streams.contains("recipe stepByStep(alpha: 0.5): "), streams)
        XCTAssertEqual(interpreter.result("[run.steps, run.history.count, run.stopReason]"), "[6, 6, \"finished\"]")
        XCTAssertEqual(interpreter.result("run.history.filter { $0[\"rationaleLoss\"] != nil }.count"), "6")
        XCTAssertEqual(interpreter.result("run.history.filter { $0[\"loss\"] > 0 }.count"), "6")
        XCTAssertEqual(interpreter.result("run.plot().series"), "[\"loss\", \"label loss\", \"rationale loss\"]")
        XCTAssertEqual(interpreter.result("st.lastRun.steps"), "6")

        let evaluation = interpreter.execute("let e = evaluate(st, on: s.test)\ne")
        guard case .result(let table)? = evaluation.last else { return XCTFail("no evaluation: \(evaluation)") }
        XCTAssertTrue(table.plain.hasPrefix("Evaluation on 12 synthetic examples: accuracy "), table.plain)
        XCTAssertTrue(table.data["text/html"]?.contains("<th>student rationale</th>") == true)
        XCTAssertEqual(interpreter.result("[e.count, e.rows.count, e.correct + e.rows.filter { !$0[\"correct\"] }.count]"), "[12, 12, 12]")
        XCTAssertEqual(interpreter.result("e.confusion"), "nil")
    }

    func testSameSeedSameLosses() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error(setUp))
        let code = """
            let a = t5(size: "tiny", tokenizer: why, vocabulary: 600, seed: 5)
            let b = t5(size: "tiny", tokenizer: why, vocabulary: 600, seed: 5)
            let ra = train(a, on: s.train, method: finetune, steps: 3, batch: 8, seed: 2)
            let rb = train(b, on: s.train, method: finetune, steps: 3, batch: 8, seed: 2)
            """
        XCTAssertNil(interpreter.error(code))
        let losses = try XCTUnwrap(interpreter.result("ra.history.map { $0[\"loss\"] }"))
        XCTAssertEqual(interpreter.result("rb.history.map { $0[\"loss\"] }"), losses)
        XCTAssertEqual(interpreter.result("ra.history.map { $0[\"rationaleLoss\"] }"), "[nil, nil, nil]")
    }

    func testInterruptKeepsTheLastCompletedStep() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error(setUp))
        var failure: CellError?
        var interrupted = false
        interpreter.execute("train(st, on: why, steps: 100000, batch: 4)") { output in
            switch output {
            case .updateDisplay(let bundle, _):
                let step = bundle.plain.split(separator: " ").dropFirst(3).first.flatMap { Int($0.split(separator: "/")[0]) } ?? 0
                if step >= 2, !interrupted {
                    interrupted = true
                    interpreter.interrupt()
                }
            case .error(let error): failure = error
            default: break
            }
        }
        XCTAssertTrue(interrupted)
        XCTAssertEqual(failure?.kind, "Interrupted")
        let steps = try XCTUnwrap(Int(interpreter.result("st.lastRun.steps") ?? ""))
        XCTAssertGreaterThanOrEqual(steps, 2)
        XCTAssertLessThan(steps, 100000)
        XCTAssertEqual(failure?.message, "training was interrupted at step \(steps) of 100000; the student keeps the weights of its last completed step (\(steps)), and `student.lastRun` holds the run")
        XCTAssertEqual(interpreter.result("st.lastRun.stopReason"), "cancelled")
        XCTAssertEqual(interpreter.result("st.lastRun.history.count"), "\(steps)")
    }

    func testSaveAndLoadGiveTheSameAnswers() throws {
        let scratch = try ScratchFolder()
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error(setUp + "\ntrain(st, on: why, steps: 2, batch: 8)"))
        XCTAssertEqual(interpreter.result("st.save(\(literal(scratch.file("model"))))"), scratch.file("model"))
        for file in ["config.json", "model.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.file("model/\(file)")), file)
        }
        XCTAssertNil(interpreter.error("let loaded = t5(path: \(literal(scratch.file("model"))))"))
        XCTAssertEqual(interpreter.result("evaluate(st, on: s.test, rationales: false).rows.map { $0[\"predicted\"] } == evaluate(loaded, on: s.test, rationales: false).rows.map { $0[\"predicted\"] }"), "true")
        XCTAssertEqual(interpreter.result("st.generate(\"Sam has 3 apples. How many?\", maxTokens: 8) == st.generate(\"Sam has 3 apples. How many?\", maxTokens: 8)"), "true")
        let missing = interpreter.error("t5(path: \(literal(scratch.file("nothing"))))")
        XCTAssertEqual(missing?.message, "`t5(path:)` needs a Hugging Face T5 folder (config.json, model.safetensors, tokenizer.json): nothing is at \(scratch.file("nothing")); \(scratch.path) holds: model")
    }

    func testSaveNeverRemovesAFileItDidNotWrite() throws {
        let scratch = try ScratchFolder()
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error(setUp))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: scratch.file("analysis.ipynb")))
        try Data("rows".utf8).write(to: URL(fileURLWithPath: scratch.file("stepwise-rationales.sqlite")))
        for path in ["", ".", "./", ".."] {
            let error = interpreter.error("st.save(\(literal(path)))")
            XCTAssertEqual(error?.kind, "ValueError", path)
            XCTAssertTrue(error?.message.hasPrefix("cannot save the student: will not write the folder") ?? false, error?.message ?? "")
        }
        let refused = interpreter.error("st.save(\(literal(scratch.path)))")
        XCTAssertEqual(refused?.message, "cannot save the student: will not write the folder \(scratch.path): it holds files Stepwise did not write (analysis.ipynb, stepwise-rationales.sqlite); save into a new or empty folder, or pass overwrite: true to write the student's files into it and keep the others")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted(), ["analysis.ipynb", "stepwise-rationales.sqlite"])
        XCTAssertEqual(interpreter.result("st.save(\(literal(scratch.path)), overwrite: true)"), scratch.path)
        XCTAssertEqual(try String(contentsOfFile: scratch.file("analysis.ipynb"), encoding: .utf8), "{}")
        XCTAssertEqual(try String(contentsOfFile: scratch.file("stepwise-rationales.sqlite"), encoding: .utf8), "rows")
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.file("model.safetensors")))
        // Saving twice into a folder of its own replaces the earlier save.
        XCTAssertEqual(interpreter.result("st.save(\(literal(scratch.file("student"))))"), scratch.file("student"))
        XCTAssertEqual(interpreter.result("st.save(\(literal(scratch.file("student"))))"), scratch.file("student"))
    }

    func testNLIEvaluationHasAConfusionMatrix() throws {
        let scratch = try ScratchFolder()
        let path = scratch.file("nli.jsonl")
        let lines = (0..<12).map { index in
            "{\"premise\": \"A man plays a guitar number \(index).\", \"label\": \(index % 3)}"
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        let interpreter = Interpreter()
        let code = """
            let nli = jsonl(\(literal(path)), input: "premise", label: "label", test: \(literal(path)), labels: ["entailment", "neutral", "contradiction"])
            let student = t5(size: "tiny", tokenizer: nli, vocabulary: 300, seed: 1)
            train(student, on: nli.train, steps: 2, batch: 4)
            let e = evaluate(student, on: nli.test, maxTokens: 4)
            """
        XCTAssertNil(interpreter.error(code))
        XCTAssertEqual(interpreter.result("e.confusion.columns"), "[\"gold\", \"entailment\", \"neutral\", \"contradiction\", \"other\"]")
        XCTAssertEqual(interpreter.result("e.confusion.rows.map { $0[\"entailment\"] + $0[\"neutral\"] + $0[\"contradiction\"] + $0[\"other\"] }"), "[4, 4, 4]")
        guard case .result(let table)? = interpreter.execute("e").last else { return XCTFail("no table") }
        XCTAssertTrue(table.data["text/html"]?.contains("Confusion matrix (rows: gold, columns: predicted)") == true)
    }

    func testTrainingErrorsAreClear() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error(setUp))
        XCTAssertEqual(interpreter.error("train(st, on: s.train, method: stepByStep)")?.message,
                       "`stepByStep(alpha: 0.5)` learns from a teacher: pass its rationales, e.g. `train(s, on: teacher.explain(task.train), ...)`")
        XCTAssertEqual(interpreter.error("train(st, on: why, method: 3)")?.message, "`train(method:)` must be finetune, distill or stepByStep(alpha: ...), got Int")
        XCTAssertEqual(interpreter.error("train(st, on: why, optimizer: \"sgd\")")?.message, "unknown optimizer \"sgd\"; use \"adamw\" or \"adafactor\"")
        XCTAssertEqual(interpreter.error("t5(size: \"huge\", tokenizer: s)")?.message,
                       "unknown T5 size \"huge\"; use \"tiny\", \"mini\" or \"small\" (or `path:` for a saved model)")
        XCTAssertEqual(interpreter.error("t5(size: \"tiny\")")?.kind, "ValueError")
        XCTAssertEqual(interpreter.error("stepByStep(alpha: 2)")?.message, "`stepByStep(alpha:)` must be in [0, 1], got 2.0")
        XCTAssertEqual(interpreter.error("evaluate(st, on: [1])")?.message,
                       "`evaluate` expects `on` to be a list of examples (such as `svamp.train`), but it holds Int")
        XCTAssertEqual(interpreter.error("train(st, on: why, steps: 0)")?.kind, "ValueError")
        XCTAssertTrue(interpreter.documentation(for: "train")?.hasPrefix("train(_ student: Student, on: Rationales") == true)
        XCTAssertEqual(interpreter.result("stepByStep(alpha: 0.3, agreeOnly: true)"), "stepByStep(alpha: 0.3, agreeOnly: true)")
    }
}

final class DistillSweepTests: XCTestCase {
    func testSweepTrainsEveryCellAndResumesFromItsJournal() throws {
        let scratch = try ScratchFolder()
        let journal = scratch.file("sweep.jsonl")
        let interpreter = Interpreter()
        let code = """
            let s = synthetic(train: 40, test: 8, seed: 4)
            let result = sweep(s, methods: [finetune, stepByStep], fractions: [0.5, 1.0], seeds: [0], steps: 2, batch: 8, vocabulary: 300, journal: \(literal(journal)))
            """
        XCTAssertNil(interpreter.error(code))
        XCTAssertEqual(interpreter.result("result.records.map { [$0[\"method\"], $0[\"fraction\"], $0[\"trainExamples\"], $0[\"steps\"]] }"),
                       "[[\"finetune\", 0.5, 20, 2], [\"stepByStep(alpha: 0.5)\", 0.5, 20, 2], [\"finetune\", 1.0, 40, 2], [\"stepByStep(alpha: 0.5)\", 1.0, 40, 2]]")
        XCTAssertEqual(interpreter.result("result.table.count"), "4")
        XCTAssertEqual(interpreter.result("result.plot().series"), "[\"finetune\", \"stepByStep(alpha: 0.5)\"]")
        guard case .result(let shown)? = interpreter.execute("result").last else { return XCTFail("no result") }
        XCTAssertTrue(shown.plain.hasPrefix("Sweep (test accuracy, %):\nmethod"), shown.plain)
        XCTAssertTrue(shown.data["text/html"]?.contains("<svg") == true)
        XCTAssertEqual(try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").count, 4)
        // Running it again trains nothing: every cell comes from the journal.
        XCTAssertNil(interpreter.error("let again = sweep(s, methods: [finetune, stepByStep], fractions: [0.5, 1.0], seeds: [0], steps: 2, batch: 8, vocabulary: 300, journal: \(literal(journal)))"))
        XCTAssertEqual(interpreter.result("again.records.map { $0[\"accuracy\"] } == result.records.map { $0[\"accuracy\"] }"), "true")
        // Other settings with the same journal are refused, naming what changed; the journal stays as it was.
        let refused = interpreter.error("sweep(s, methods: [finetune, stepByStep], fractions: [0.5, 1.0], seeds: [0], steps: 3, batch: 8, vocabulary: 300, journal: \(literal(journal)))")
        XCTAssertTrue(refused?.message.contains("records a sweep made with other settings (now steps=3; then steps=2)") == true,
                      refused?.message ?? "no error")
        XCTAssertEqual(try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").count, 4)
        XCTAssertEqual(interpreter.result("result.save(\(literal(scratch.file("out"))))"), scratch.file("out"))
        for file in ["records.csv", "summary.csv", "sweep.json", "plot.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.file("out/\(file)")), file)
        }
        XCTAssertEqual(interpreter.error("sweep(s, fractions: [0])")?.kind, "ValueError")
        XCTAssertEqual(interpreter.error("sweep(s, methods: [finetune, finetune])")?.message, "`sweep(methods:)` lists finetune twice")
        XCTAssertEqual(interpreter.error("sweep(s, schedule: \"steep\")")?.message,
                       "unknown schedule \"steep\"; use \"constant\", \"linear\", \"cosine\" or \"inverse-sqrt\"")
        XCTAssertEqual(interpreter.error("sweep(s, dropout: 1.5)")?.message, "`sweep(dropout:)` must be in [0, 1), got 1.5")
        XCTAssertEqual(interpreter.error("sweep(s, warmup: -1)")?.message, "`sweep(warmup:)` must be between 0 and 100,000,000, got -1")
    }
}
