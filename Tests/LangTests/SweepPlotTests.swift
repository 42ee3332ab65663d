// The paper's figure drawn from a sweep's result.
import Distill
import Lang
import XCTest

final class SweepPlotTests: XCTestCase {
    func testSweepPlotHasOneLinePerMethodInPercent() throws {
        let cells = [("finetune", 0.25, 0.40), ("finetune", 0.5, 0.50), ("step-by-step", 0.25, 0.45), ("step-by-step", 0.5, 0.60)]
        let records = cells.map { SweepRecord(cell: SweepCell(method: $0.0, fraction: $0.1, seed: 0), accuracy: $0.2,
                                               trainExamples: 10, steps: 5, seconds: 1) }
        let result = SweepResult(methods: ["finetune", "distill", "step-by-step"], fractions: [0.25, 0.5], records: records)
        let plot = LinePlot.sweep(result, title: "synthetic")
        XCTAssertEqual(plot.series.map(\.name), ["finetune", "step-by-step"], "a method without points is left out")
        XCTAssertEqual(plot.series[1].points.map(\.x), [25, 50])
        XCTAssertEqual(plot.series[1].points.map(\.y), [45, 60])
        let svg = plot.svg()
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
        XCTAssertTrue(svg.contains(">% of training data</text>") && svg.contains(">test accuracy (%)</text>"), svg)
    }
}
