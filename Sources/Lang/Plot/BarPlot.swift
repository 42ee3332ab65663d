// A small SVG bar chart for comparisons such as FLAN's arms: one bar per group at its mean, a
// whisker of ± one standard deviation, each run as a dot, and an optional dashed reference line
// (chance). Numbers are written with a fixed format, so the same data gives the same bytes.
import Foundation

/// A bar chart that renders to SVG.
public struct BarPlot: Sendable {
    /// One bar.
    public struct Bar: Sendable, Equatable {
        public var label: String
        /// The runs' values; the bar stands at their mean.
        public var values: [Double]

        public init(label: String, values: [Double]) {
            self.label = label
            self.values = values
        }

        var finite: [Double] { values.filter(\.isFinite) }
        var mean: Double { finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count) }
        var std: Double {
            let v = finite
            guard v.count > 1 else { return 0 }
            let m = mean
            return (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)).squareRoot()
        }
    }

    public var bars: [Bar]
    public var title: String
    public var yLabel: String
    /// A dashed horizontal line (chance), with its label.
    public var reference: (value: Double, label: String)?
    /// The vertical range; nil fits the data (from 0).
    public var yRange: ClosedRange<Double>?
    public var width: Int
    public var height: Int

    public init(bars: [Bar], title: String = "", yLabel: String = "", reference: (value: Double, label: String)? = nil,
                yRange: ClosedRange<Double>? = nil, width: Int = 560, height: Int = 360) {
        self.bars = bars
        self.title = title
        self.yLabel = yLabel
        self.reference = reference
        self.yRange = yRange
        self.width = max(200, width)
        self.height = max(150, height)
    }

    /// The chart as an SVG document.
    public func svg() -> String {
        let left = 64.0, right = 16.0, top = title.isEmpty ? 16.0 : 36.0, bottom = 40.0
        let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" "
        out += "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"\(width)\" height=\"\(height)\" fill=\"white\"/>\n"
        if !title.isEmpty {
            out += "<text x=\"\(g(Double(width) / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(escapeHTML(title))</text>\n"
        }
        let values = bars.flatMap(\.finite) + (reference.map { [$0.value] } ?? [])
        guard !bars.isEmpty, !values.isEmpty else {
            return out + "<text x=\"\(g(Double(width) / 2))\" y=\"\(g(Double(height) / 2))\" text-anchor=\"middle\" fill=\"#666\">no data</text>\n</svg>"
        }
        let ticks = LinePlot.ticks(yRange?.lowerBound ?? min(0, values.min() ?? 0), yRange?.upperBound ?? (values.max() ?? 1))
        let (low, high) = (ticks.first ?? 0, ticks.last ?? 1)
        func py(_ y: Double) -> Double { top + plotHeight - (y - low) / max(high - low, 1e-12) * plotHeight }
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        out += "<g stroke=\"#e5e5e5\" stroke-width=\"1\">\n"
        for tick in ticks { out += "<line x1=\"\(g(left))\" y1=\"\(g(py(tick)))\" x2=\"\(g(left + plotWidth))\" y2=\"\(g(py(tick)))\"/>\n" }
        out += "</g>\n<g fill=\"#333\">\n"
        for tick in ticks { out += "<text x=\"\(g(left - 6))\" y=\"\(g(py(tick) + 4))\" text-anchor=\"end\">\(LinePlot.label(tick, step: step))</text>\n" }
        out += "</g>\n"
        if !yLabel.isEmpty {
            let y = top + plotHeight / 2
            out += "<text x=\"14\" y=\"\(g(y))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(g(y)))\">\(escapeHTML(yLabel))</text>\n"
        }
        let slot = plotWidth / Double(bars.count), barWidth = slot * 0.6
        for (index, bar) in bars.enumerated() {
            let color = LinePlot.palette[index % LinePlot.palette.count]
            let center = left + slot * (Double(index) + 0.5)
            if bar.mean.isFinite {
                let y = py(bar.mean), base = py(max(low, min(high, 0)))
                out += "<rect x=\"\(g(center - barWidth / 2))\" y=\"\(g(min(y, base)))\" width=\"\(g(barWidth))\" height=\"\(g(abs(base - y)))\" fill=\"\(color)\" fill-opacity=\"0.75\"/>\n"
                if bar.std > 0 {
                    out += "<line x1=\"\(g(center))\" y1=\"\(g(py(bar.mean - bar.std)))\" x2=\"\(g(center))\" y2=\"\(g(py(bar.mean + bar.std)))\" stroke=\"#222\" stroke-width=\"1.5\"/>\n"
                }
                out += "<text x=\"\(g(center))\" y=\"\(g(min(y, base) - 4))\" text-anchor=\"middle\">\(String(format: "%.3f", bar.mean))</text>\n"
            }
            for (k, value) in bar.finite.enumerated() {
                let dx = (Double(k) - Double(bar.finite.count - 1) / 2) * 6
                out += "<circle cx=\"\(g(center + dx))\" cy=\"\(g(py(value)))\" r=\"2.8\" fill=\"#222\"/>\n"
            }
            out += "<text x=\"\(g(center))\" y=\"\(g(top + plotHeight + 16))\" text-anchor=\"middle\">\(escapeHTML(bar.label))</text>\n"
        }
        if let reference, reference.value.isFinite {
            out += "<line x1=\"\(g(left))\" y1=\"\(g(py(reference.value)))\" x2=\"\(g(left + plotWidth))\" y2=\"\(g(py(reference.value)))\" stroke=\"#555\" stroke-dasharray=\"5,4\"/>\n"
            out += "<text x=\"\(g(left + plotWidth - 4))\" y=\"\(g(py(reference.value) - 4))\" text-anchor=\"end\" fill=\"#555\">\(escapeHTML(reference.label))</text>\n"
        }
        out += "<rect x=\"\(g(left))\" y=\"\(g(top))\" width=\"\(g(plotWidth))\" height=\"\(g(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        return out + "</svg>"
    }
}

private func g(_ value: Double) -> String { String(format: "%.2f", value) }
