// A small SVG line-plot renderer for loss curves and sweep plots: several named series, axes
// with "nice" ticks (1, 2, 2.5, 5 × 10^k), a legend, a title and axis labels. Every number is
// written with a fixed format, so the same data always gives the same bytes.
import Foundation

/// One named line of a plot.
public struct PlotSeries: Equatable, Sendable {
    /// The legend's name for the line.
    public var name: String
    /// The points, in drawing order; points with a non-finite coordinate are skipped.
    public var points: [(x: Double, y: Double)]

    /// Creates a series.
    /// - Parameters:
    ///   - name: The legend's name.
    ///   - points: `(x, y)` pairs in drawing order.
    public init(name: String, points: [(x: Double, y: Double)]) {
        self.name = name
        self.points = points
    }

    /// A series of `values` at x = 0, 1, 2, ...
    public init(name: String, values: [Double]) {
        self.init(name: name, points: values.enumerated().map { (Double($0.offset), $0.element) })
    }

    public static func == (left: PlotSeries, right: PlotSeries) -> Bool {
        left.name == right.name && left.points.elementsEqual(right.points) { $0.x == $1.x && $0.y == $1.y }
    }
}

/// A line plot that renders to SVG.
public struct LinePlot: Sendable {
    /// The lines.
    public var series: [PlotSeries]
    /// The title above the plot (empty for none).
    public var title: String
    /// The horizontal axis's label.
    public var xLabel: String
    /// The vertical axis's label.
    public var yLabel: String
    /// The image's size in pixels.
    public var width: Int
    public var height: Int

    /// Creates a plot.
    public init(series: [PlotSeries], title: String = "", xLabel: String = "", yLabel: String = "", width: Int = 640, height: Int = 400) {
        self.series = series
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.width = max(200, width)
        self.height = max(150, height)
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// The plot as an SVG document.
    public func svg() -> String {
        let left = 64.0, right = 16.0, top = title.isEmpty ? 16.0 : 36.0, bottom = xLabel.isEmpty ? 36.0 : 52.0
        let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
        let finite = series.flatMap { $0.points.filter { $0.x.isFinite && $0.y.isFinite } }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" "
        out += "font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<rect width=\"\(width)\" height=\"\(height)\" fill=\"white\"/>\n"
        if !title.isEmpty {
            out += "<text x=\"\(f(Double(width) / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(escapeHTML(title))</text>\n"
        }
        guard !finite.isEmpty else {
            out += "<text x=\"\(f(Double(width) / 2))\" y=\"\(f(Double(height) / 2))\" text-anchor=\"middle\" fill=\"#666\">no data</text>\n"
            return out + "</svg>"
        }
        let xTicks = LinePlot.ticks(finite.map(\.x).min() ?? 0, finite.map(\.x).max() ?? 1)
        let yTicks = LinePlot.ticks(finite.map(\.y).min() ?? 0, finite.map(\.y).max() ?? 1)
        let (xLow, xHigh) = (xTicks.first ?? 0, xTicks.last ?? 1), (yLow, yHigh) = (yTicks.first ?? 0, yTicks.last ?? 1)
        // Halved before subtracting, so that data spanning -1e308...1e308 does not overflow to infinity.
        func px(_ x: Double) -> Double { left + (x / 2 - xLow / 2) / (xHigh / 2 - xLow / 2) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - (y / 2 - yLow / 2) / (yHigh / 2 - yLow / 2) * plotHeight }

        // Grid, ticks and tick labels.
        out += "<g stroke=\"#e5e5e5\" stroke-width=\"1\">\n"
        for tick in yTicks { out += "<line x1=\"\(f(left))\" y1=\"\(f(py(tick)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(py(tick)))\"/>\n" }
        for tick in xTicks { out += "<line x1=\"\(f(px(tick)))\" y1=\"\(f(top))\" x2=\"\(f(px(tick)))\" y2=\"\(f(top + plotHeight))\"/>\n" }
        out += "</g>\n"
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1, yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        out += "<g fill=\"#333\">\n"
        for tick in xTicks {
            out += "<text x=\"\(f(px(tick)))\" y=\"\(f(top + plotHeight + 15))\" text-anchor=\"middle\">\(LinePlot.label(tick, step: xStep))</text>\n"
        }
        for tick in yTicks {
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(py(tick) + 4))\" text-anchor=\"end\">\(LinePlot.label(tick, step: yStep))</text>\n"
        }
        out += "</g>\n"
        if !xLabel.isEmpty {
            out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(Double(height) - 10))\" text-anchor=\"middle\">\(escapeHTML(xLabel))</text>\n"
        }
        if !yLabel.isEmpty {
            let y = top + plotHeight / 2
            out += "<text x=\"14\" y=\"\(f(y))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f(y)))\">\(escapeHTML(yLabel))</text>\n"
        }

        // The lines, with markers when there are few points.
        for (index, line) in series.enumerated() {
            let color = LinePlot.palette[index % LinePlot.palette.count]
            let points = line.points.filter { $0.x.isFinite && $0.y.isFinite }
            if points.count > 1 {
                let path = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" points=\"\(path)\"/>\n"
            }
            if points.count <= 30 {
                for point in points { out += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"2.8\" fill=\"\(color)\"/>\n" }
            }
        }

        // The legend, inside the top-right corner.
        let named = series.enumerated().filter { !$0.element.name.isEmpty }
        if !named.isEmpty {
            let longest = named.map { $0.element.name.count }.max() ?? 0
            let boxWidth = Double(min(longest, 40)) * 6.5 + 34, boxHeight = Double(named.count) * 16 + 8
            let boxLeft = left + plotWidth - boxWidth - 8, boxTop = top + 8
            out += "<rect x=\"\(f(boxLeft))\" y=\"\(f(boxTop))\" width=\"\(f(boxWidth))\" height=\"\(f(boxHeight))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#999\"/>\n"
            for (row, (index, line)) in named.enumerated() {
                let y = boxTop + 14 + Double(row) * 16
                let color = LinePlot.palette[index % LinePlot.palette.count]
                out += "<line x1=\"\(f(boxLeft + 6))\" y1=\"\(f(y - 4))\" x2=\"\(f(boxLeft + 24))\" y2=\"\(f(y - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
                out += "<text x=\"\(f(boxLeft + 28))\" y=\"\(f(y))\">\(escapeHTML(String(line.name.prefix(40))))</text>\n"
            }
        }
        return out + "</svg>"
    }

    /// Tick values covering `[low, high]` (finite numbers): 4 to 10 round numbers from the first
    /// at or below `low` to the first at or above `high`. A zero-width range is widened around its
    /// value. Any finite data works, from 5e-324 to ±1.8e308: where round ticks would not be finite
    /// numbers, the ticks are evenly spaced from `low` to `high` instead.
    /// - Parameters:
    ///   - low: The smallest value to cover.
    ///   - high: The largest value to cover.
    public static func ticks(_ low: Double, _ high: Double) -> [Double] {
        guard low.isFinite, high.isFinite, low <= high else { return [0, 1] }
        var (low, high) = (low, high)
        if high / 2 - low / 2 < 1e-12 * max(1, abs(low)) {
            // Widen around the value: by a tenth of it, or by 1 near zero (a tiny pad would round away).
            let pad = abs(low) > 1e-300 ? abs(low) * 0.1 : 1
            (low, high) = (low - pad, high + pad)
            if !low.isFinite || !high.isFinite { (low, high) = (low.isFinite ? low : -.greatestFiniteMagnitude, high.isFinite ? high : .greatestFiniteMagnitude) }
        }
        let raw = (high / 5 - low / 5)  // Divided first: high - low can overflow.
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        // Ticks are whole multiples of the step. The slack keeps float noise from adding a tick;
        // the checks after it keep both ends covered.
        var first = floor(low / step + 1e-9), last = ceil(high / step - 1e-9)
        if first * step > low { first -= 1 }
        if last * step < high { last += 1 }
        let intervals = last - first
        guard step.isFinite, step > 0, first.isFinite, last.isFinite, intervals >= 1, intervals <= 20 else {
            return evenTicks(low, high)
        }
        let ticks = (0...Int(intervals)).map { (first + Double($0)) * step }
        return ticks.allSatisfy(\.isFinite) ? ticks : evenTicks(low, high)
    }

    /// Five evenly spaced ticks from `low` to `high`, each a weighted mean of the two so that none overflows.
    private static func evenTicks(_ low: Double, _ high: Double) -> [Double] {
        (0...4).map { index in low * (Double(4 - index) / 4) + high * (Double(index) / 4) }
    }

    /// A tick's text: as many decimals as the step needs, no more.
    /// - Parameters:
    ///   - value: The tick.
    ///   - step: The distance between ticks.
    public static func label(_ value: Double, step: Double) -> String {
        if abs(value) >= 1e6 || (abs(value) < 1e-4 && value != 0) || !step.isNormal { return String(format: "%.3g", value) }
        var decimals = max(0, min(8, Int(-floor(log10(abs(step)) + 1e-9))))
        if abs(step * pow(10, Double(decimals)) - (step * pow(10, Double(decimals))).rounded()) > 1e-6 { decimals += 1 }
        let text = String(format: "%.\(min(decimals, 8))f", value)
        return text == "-0" ? "0" : (text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text)
    }
}

/// Two decimals: enough for pixels, and the same text for the same number.
private func f(_ value: Double) -> String { String(format: "%.2f", value) }
