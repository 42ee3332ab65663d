// The paper's figure: test accuracy against the share of training data, one line per method,
// each point the mean over seeds.
import Distill

public extension LinePlot {
    /// Accuracy (percent, mean over seeds) against the percentage of training data used.
    /// - Parameters:
    ///   - sweep: The sweep's result; methods without a finished point are left out.
    ///   - title: The plot's title.
    static func sweep(_ sweep: SweepResult, title: String = "Accuracy against training data") -> LinePlot {
        let points = sweep.points
        let series = sweep.methods.compactMap { method -> PlotSeries? in
            let line = points.filter { $0.method == method }.map { (x: $0.fraction * 100, y: $0.mean * 100) }
            return line.isEmpty ? nil : PlotSeries(name: method, points: line)
        }
        return LinePlot(series: series, title: title, xLabel: "% of training data", yLabel: "test accuracy (%)")
    }
}
