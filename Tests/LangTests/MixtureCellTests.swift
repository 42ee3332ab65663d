// Streams and mixtures from cells: the stream and mixture displays (sizes, caps, rates, shares,
// epochs at the plan, rendered examples), training on a mixture with packing, per-stream
// evaluation, and the errors of a bad template or argument.
import Distill
import Lang
import XCTest

final class MixtureCellTests: XCTestCase {
    private let setUp = """
        let s = synthetic(train: 40, test: 6, seed: 1)
        let plain = stream(s, template: "Q: {input}", name: "plain", cluster: "arithmetic")
        let wordy = stream(s.subsample(0.5, seed: 2), template: "Write the equation that answers this.\\n{input}", name: "wordy", weight: 2)
        let mix = mixture([plain, wordy], cap: 30, temperature: 2, steps: 100, batch: 8)
        """

    func testAMixtureShowsItsStreamsRatesAndExamples() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error(setUp))
        XCTAssertEqual(interpreter.result("[plain.size, wordy.size, plain.cluster, wordy.weight]"), "[40, 20, \"arithmetic\", 2.0]")
        XCTAssertEqual(interpreter.result("plain.pairs[0][\"source\"].hasPrefix(\"Q: \")"), "true")
        // An equation task's streams mask numbers, as the recipes do.
        XCTAssertEqual(interpreter.result("plain.pairs[0][\"source\"].contains(\"numa\")"), "true")
        XCTAssertEqual(interpreter.result("stream(s, maskNumbers: false).pairs[0][\"source\"].contains(\"numa\")"), "false")
        // Capped at 30: 30^(1/2) : 20^(1/2) = 5.477 : 4.472.
        XCTAssertEqual(interpreter.result("round(mix.rates[\"plain\"] * 10000)"), "5505.0")
        XCTAssertEqual(interpreter.result("round(mix.rates[\"wordy\"] * 10000)"), "4495.0")
        XCTAssertEqual(interpreter.result("mix.table.count"), "2")
        // 100 steps × 8 draws × 0.5505 / 40 examples = 11.0 epochs of plain.
        XCTAssertEqual(interpreter.result("round(mix.table[0][\"epochs\"] * 10)"), "110.0")
        XCTAssertEqual(interpreter.result("mix.hash.count"), "64")
        let shown = interpreter.execute("mix")
        guard case .result(let bundle)? = shown.last else { return XCTFail("\(shown)") }
        XCTAssertTrue(bundle.plain.hasPrefix("Mixture of 2 streams, 60 pairs, cap 30, temperature 2.0; planned 100 steps of 8; data "), bundle.plain)
        let html = bundle.data["text/html"] ?? ""
        XCTAssertTrue(html.contains("<th>epochs</th>") && html.contains("First example of each stream") && html.contains("Write the equation"), html)
    }

    func testTrainingOnAMixtureWithPackingAndEvaluatingEachStream() throws {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error(setUp))
        XCTAssertNil(interpreter.error("""
            let st = t5(size: "tiny", tokenizer: s, vocabulary: 500, dropout: 0, seed: 0)
            let run = train(st, on: mix, steps: 4, batch: 8, pack: 128)
            let padded = t5(size: "tiny", tokenizer: s, vocabulary: 500, dropout: 0, seed: 0)
            let run2 = train(padded, on: mix, steps: 4, batch: 8)
            """))
        XCTAssertEqual(interpreter.result("[run.steps, run.stopReason, run.recipe]"), "[4, \"finished\", nil]")
        XCTAssertEqual(interpreter.result("run.history[0][\"loss_plain\"] > 0"), "true")
        XCTAssertEqual(interpreter.result("run.data.count"), "64")
        // Packing changes the layout, not the loss: the same draws give the same first loss.
        XCTAssertEqual(interpreter.result("abs(run.history[0][\"loss\"] - run2.history[0][\"loss\"]) < 1e-4"), "true")
        let evaluation = interpreter.execute("let e = evaluate(st, on: mix)\ne")
        guard case .result(let table)? = evaluation.last else { return XCTFail("\(evaluation)") }
        XCTAssertTrue(table.plain.hasPrefix("Evaluation of 2 streams on 12 examples: accuracy "), table.plain)
        XCTAssertEqual(interpreter.result("e.streams.map { $0[\"stream\"] }"), "[\"plain\", \"wordy\"]")
        XCTAssertEqual(interpreter.result("e.streams.map { $0[\"method\"] }"), "[\"generate\", \"generate\"]")
        XCTAssertEqual(interpreter.result("e.templates.count"), "2")
        XCTAssertEqual(interpreter.result("e.stream(\"wordy\").count"), "6")
    }

    func testBadStreamsAndMixturesAreClearErrors() {
        let interpreter = Interpreter()
        XCTAssertNil(interpreter.error("let s = synthetic(train: 10, test: 2, seed: 1)"))
        XCTAssertTrue(interpreter.error("stream(s, template: \"{question}\")")?.message.contains("uses {question}") == true)
        XCTAssertTrue(interpreter.error("stream(s, template: \"open {input\")")?.message.contains("never closes") == true)
        XCTAssertTrue(interpreter.error("mixture([])")?.message.contains("at least one stream") == true)
        XCTAssertTrue(interpreter.error("mixture([1, 2])")?.message.contains("list of streams") == true)
        XCTAssertTrue(interpreter.error("let a = stream(s)\nmixture([a, a])")?.message.contains("two streams are called 'synthetic'") == true)
        XCTAssertTrue(interpreter.error("mixture([stream(s)], temperature: 0)")?.message.contains("temperature") == true)
        XCTAssertTrue(interpreter.error("""
            let st = t5(size: "tiny", tokenizer: s, vocabulary: 300, seed: 0)
            train(st, on: mixture([stream(s)]), method: finetune, steps: 1)
            """)?.message.contains("leave out `method:`") == true)
    }
}
