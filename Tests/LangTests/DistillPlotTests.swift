// The SVG line plot and `plot`, and the `%threads` magic.
import Lang
import Tensor
import XCTest

final class DistillPlotTests: XCTestCase {
    func testPlotOfARecordDrawsNamedSeriesWithTicksAndLegend() throws {
        let interpreter = Interpreter()
        guard case .result(let bundle)? = interpreter.execute("plot([\"train\": [1.0, 0.6, 0.4], \"valid\": [1.2, 0.9, 0.8]], title: \"Loss\", xLabel: \"step\")").last else {
            return XCTFail("no result")
        }
        XCTAssertEqual(bundle.plain, "Plot \"Loss\": 2 series (train, valid), 6 points")
        let svg = try XCTUnwrap(bundle.data["image/svg+xml"])
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"400\""), svg)
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
        XCTAssertTrue(svg.contains(">train</text>") && svg.contains(">valid</text>") && svg.contains(">Loss</text>") && svg.contains(">step</text>"))
        // y runs 0.4 ... 1.2: ticks every 0.2; x runs 0 ... 2: ticks every 0.5.
        for label in ["0.4", "0.6", "0.8", "1.0", "1.2"] { XCTAssertTrue(svg.contains("text-anchor=\"end\">\(label)</text>"), label) }
        for label in ["0.0", "0.5", "1.0", "1.5", "2.0"] { XCTAssertTrue(svg.contains("text-anchor=\"middle\">\(label)</text>"), label) }
        // Deterministic: the same data gives the same bytes.
        XCTAssertEqual(interpreter.result("plot([\"a\": [3, 1, 2]]).svg == plot([\"a\": [3, 1, 2]]).svg"), "true")
    }

    func testPlotOfRowsGroupsIntoSeries() throws {
        let interpreter = Interpreter()
        let rows = """
            let rows = [["method": "finetune", "fraction": 0.25, "accuracy": 0.4], ["method": "finetune", "fraction": 0.5, "accuracy": 0.5],
                        ["method": "stepByStep", "fraction": 0.25, "accuracy": 0.45], ["method": "stepByStep", "fraction": 0.5, "accuracy": 0.6]]
            """
        XCTAssertNil(interpreter.error(rows))
        XCTAssertEqual(interpreter.result("plot(rows, x: \"fraction\", y: \"accuracy\", by: \"method\").series"), "[\"finetune\", \"stepByStep\"]")
        XCTAssertEqual(interpreter.result("plot(rows, x: \"fraction\", y: \"accuracy\", by: \"method\")"), "Plot: 2 series (finetune, stepByStep), 4 points")
        XCTAssertEqual(interpreter.error("plot(rows, x: \"size\", y: \"accuracy\")")?.message,
                       "row 0 has no field \"size\" (it has: method, fraction, accuracy)")
        XCTAssertEqual(interpreter.error("plot([1, \"two\"])")?.message, "`plot` needs numbers, but item 1 of the list is String \"two\"")
        let scratch = try ScratchFolder()
        XCTAssertEqual(interpreter.result("plot([1, 2]).save(\(literal(scratch.file("p.svg"))))"), scratch.file("p.svg"))
        XCTAssertTrue(try String(contentsOfFile: scratch.file("p.svg"), encoding: .utf8).hasSuffix("</svg>"))
    }

    func testAFlatOrEmptySeriesStillDraws() throws {
        guard case .result(let flat)? = Interpreter().execute("plot([2, 2, 2])").last else { return XCTFail() }
        XCTAssertTrue(flat.data["image/svg+xml"]?.contains("<polyline") == true)
        guard case .result(let empty)? = Interpreter().execute("plot([])").last else { return XCTFail() }
        XCTAssertTrue(empty.data["image/svg+xml"]?.contains(">no data</text>") == true)
    }

    func testThreadsMagicSetsAndShowsTheCount() {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        let interpreter = Interpreter()
        XCTAssertTrue(interpreter.streamText("%threads 1").hasPrefix("threads = 1 (this machine has "))
        XCTAssertEqual(Parallel.threads, 1)
        XCTAssertEqual(BLASRuntime.threads, 1)
        XCTAssertTrue(interpreter.streamText("%threads").hasPrefix("threads = 1 "))
        let error = interpreter.error("%threads zero")
        XCTAssertEqual(error?.kind, "MagicError")
        XCTAssertEqual(error?.message, "`%threads` needs a whole number from 1 to 64, as in `%threads 2`; got `zero`")
        XCTAssertEqual(interpreter.documentation(for: "%threads"), "%threads n: sets the threads for training, generation and BLAS (1 to 64); `%threads` alone shows the count.")
        XCTAssertEqual(interpreter.complete("%thr", cursor: 4).matches, ["threads"])
    }
}
