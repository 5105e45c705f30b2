import Foundation

/// `Results/accuracy_based_auto_calibration_report.html`: one self-contained page (inline SVG and CSS, no script, no
/// network) with the summary table, every trial as metric vs chip cost with the budget line and the Pareto front,
/// each layer's sensitivity in graph order with the promoted layers marked, and the final plan as a strip of layers.
public struct SearchHTMLReport {
    let report: SearchReport
    let ranking: SensitivityRanking
    /// The layers in graph order.
    let layers: [String]
    let trials: [SearchJournal.Trial]

    public init(report: SearchReport, ranking: SensitivityRanking, layers: [String], trials: [SearchJournal.Trial]) {
        self.report = report; self.ranking = ranking; self.layers = layers; self.trials = trials
    }

    static let colours: [Precision: String] = [.int8: "#4c78a8", .int16: "#f58518", .float: "#e45756"]

    var finalPlan: [String: Precision] {
        Dictionary(uniqueKeysWithValues: layers.map { name in
            (name, report.floatLayers.contains(name) ? .float : report.int16Layers.contains(name) ? .int16 : .int8)
        })
    }

    public var html: String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>AutoMix search: \(Self.escape(URL(fileURLWithPath: report.model).lastPathComponent))</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
        h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
        table { border-collapse: collapse; } td, th { padding: 3px 10px; text-align: right; border-bottom: 1px solid #ddd; }
        td:first-child, th:first-child { text-align: left; }
        svg text { font: 11px system-ui, sans-serif; fill: #333; } .note { color: #555; }
        .key span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 14px; vertical-align: -1px; }
        </style></head><body>
        <h1>AutoMix search: \(Self.escape(report.model)) for \(report.target.rawValue)</h1>
        \(summary)
        <h2>Trials: \(report.metric) against chip cost</h2>
        <p class="note">One point per trial (\(trials.count)). Hollow: stopped early, drawn at the most it could have reached.
        The dashed line is the budget; the line through the points is the Pareto front; the ring is the final plan.</p>
        \(trialChart)
        <h2>The final plan, layer by layer (graph order)</h2>
        \(legend)
        \(planStrip)
        <h2>Sensitivity of each layer (graph order, all int8)</h2>
        <p class="note">Bars coloured by the final plan's precision. Higher is more sensitive in every panel.</p>
        \(sensitivityCharts)
        </body></html>
        """
    }

    var summary: String {
        func row(_ name: String, _ metric: Double?, _ drop: Double?, _ cost: PlanCost?) -> String {
            let f = { (v: Double?) in v.map { String(format: "%.2f", $0) } ?? "—" }
            return "<tr><td>\(name)</td><td>\(f(metric))</td><td>\(f(drop))</td><td>\(cost.map { String(format: "%.4g", $0.chipCost) } ?? "—")</td>"
                + "<td>\(cost.map { "\($0.weightBytes)" } ?? "—")</td></tr>"
        }
        let met = report.budgetMet ? String(format: "met (final drop %.2f)", report.finalDrop ?? 0) : "not met"
        return """
        <table><tr><th>plan</th><th>\(report.metric)</th><th>drop</th><th>chip cost</th><th>weight bytes</th></tr>
        \(row("float", report.floatMetric, 0, report.floatCost))
        \(row("all int8", report.int8Metric, report.int8Drop, report.int8Cost))
        \(row("final", report.finalMetric, report.finalDrop, report.finalCost))
        </table>
        <p>Budget: drop ≤ \(String(format: "%.3f", report.budget)) points, \(met). Objective: \(report.objective.rawValue).
        int16: \(report.int16Layers.count) layers, float: \(report.floatLayers.count). Trials: \(report.trials) run,
        \(report.trialsResumed) from the journal, \(report.trialsStoppedEarly) stopped early;
        \(String(format: "%.2f", report.fullEvaluations)) full evaluations of \(report.images) images; \(String(format: "%.1f", report.seconds)) s.</p>
        """
    }

    /// Metric (y) against chip cost (x).
    var trialChart: String {
        let (w, h, left, bottom, top, right) = (780.0, 380.0, 60.0, 40.0, 14.0, 40.0)
        let costs = trials.map(\.cost.chipCost) + [report.int8Cost.chipCost]
        let metrics = trials.map(\.metric) + [report.floatMetric, report.floatMetric - report.budget]
        let (x0, x1) = Self.padded(costs.min() ?? 0, costs.max() ?? 1)
        let (y0, y1) = Self.padded(metrics.min() ?? 0, metrics.max() ?? 100)
        let x = { (v: Double) in left + (v - x0) / (x1 - x0) * (w - left - right) }
        let y = { (v: Double) in h - bottom - (v - y0) / (y1 - y0) * (h - top - bottom) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\">"
        svg += Self.axes(x: x, y: y, xRange: (x0, x1), yRange: (y0, y1), w: w, h: h, left: left, bottom: bottom, top: top, right: right,
                         xLabel: "chip cost (int8 Conv MACs)", yLabel: report.metric)
        let budgetY = y(report.floatMetric - report.budget)
        svg += "<line x1=\"\(left)\" x2=\"\(w - right)\" y1=\"\(budgetY)\" y2=\"\(budgetY)\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>"
        svg += "<text x=\"\(w - right - 4)\" y=\"\(budgetY - 4)\" text-anchor=\"end\" fill=\"#c00\">budget \(String(format: "%.2f", report.floatMetric - report.budget))</text>"
        let front = report.paretoFront.compactMap { p in trials.first { $0.index == p.trial } }
        if front.count > 1 {
            svg += "<polyline class=\"pareto\" fill=\"none\" stroke=\"#2a9d8f\" stroke-width=\"2\" points=\""
                + front.map { "\(x($0.cost.chipCost)),\(y($0.metric))" }.joined(separator: " ") + "\"/>"
        }
        for t in trials {
            let colour = t.plan.values.contains(.float) ? Self.colours[.float]! : t.plan.isEmpty ? Self.colours[.int8]! : Self.colours[.int16]!
            let fill = t.complete ? colour : "white"
            let text = "trial \(t.index) [\(t.phase)] \(PrecisionSearch.describe(t.plan)): \(t.complete ? "" : "≤ ")"
                + String(format: "%.2f, chip cost %.4g", t.metric, t.cost.chipCost)
            svg += "<circle class=\"trial\" data-trial=\"\(t.index)\" cx=\"\(x(t.cost.chipCost))\" cy=\"\(y(t.metric))\" r=\"5\" fill=\"\(fill)\" "
                + "stroke=\"\(colour)\" stroke-width=\"1.5\" fill-opacity=\"0.8\"><title>\(Self.escape(text))</title></circle>"
        }
        if let final = report.finalCost, let metric = report.finalMetric {
            svg += "<circle cx=\"\(x(final.chipCost))\" cy=\"\(y(metric))\" r=\"10\" fill=\"none\" stroke=\"#222\" stroke-width=\"2\"><title>final plan</title></circle>"
        }
        return svg + "</svg>"
    }

    var legend: String {
        "<p class=\"key\">" + [Precision.int8, .int16, .float].map { "<span style=\"background:\(Self.colours[$0]!)\"></span>\($0.rawValue)" }
            .joined() + "</p>"
    }

    var planStrip: String {
        let plan = finalPlan
        let width = max(6.0, min(24.0, 1000.0 / Double(max(layers.count, 1))))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width * Double(layers.count)) + 2)\" height=\"40\">"
        for (i, name) in layers.enumerated() {
            let p = plan[name] ?? .int8
            svg += "<rect class=\"layer\" x=\"\(Double(i) * width)\" y=\"4\" width=\"\(width - 1)\" height=\"30\" fill=\"\(Self.colours[p]!)\">"
                + "<title>\(Self.escape(name)): \(p.rawValue)</title></rect>"
        }
        return svg + "</svg>"
    }

    var sensitivityCharts: String {
        let byName = Dictionary(uniqueKeysWithValues: ranking.layers.map { ($0.name, $0) })
        let measures: [(String, (SensitivityRanking.Layer) -> Double)] = [
            ("layerwise noise/signal", { $0.layerwiseNoiseSignal }), ("graphwise noise/signal", { $0.graphwiseNoiseSignal }),
            ("1 − cosine similarity", { 1 - $0.cosineSimilarity }),
        ]
        let plan = finalPlan
        return measures.map { title, value in
            let values = layers.map { byName[$0].map(value) ?? 0 }
            let positive = values.filter { $0 > 0 }
            let lo = log10(positive.min() ?? 1e-6), hi = log10(positive.max() ?? 1)
            let (w, h, left, bottom) = (1000.0, 150.0, 60.0, 20.0)
            let bar = (w - left) / Double(max(layers.count, 1))
            var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\">"
            svg += "<text x=\"0\" y=\"12\">\(Self.escape(title)) (log scale)</text>"
            svg += "<text x=\"0\" y=\"30\">\(String(format: "%.2g", pow(10, hi)))</text><text x=\"0\" y=\"\(h - bottom)\">\(String(format: "%.2g", pow(10, lo)))</text>"
            for (i, v) in values.enumerated() {
                let frac = v > 0 ? (hi > lo ? (log10(v) - lo) / (hi - lo) : 1) : 0
                let bh = 4 + frac * (h - bottom - 30)
                let p = plan[layers[i]] ?? .int8
                svg += "<rect x=\"\(left + Double(i) * bar)\" y=\"\(h - bottom - bh)\" width=\"\(max(bar - 1, 1))\" height=\"\(bh)\" fill=\"\(Self.colours[p]!)\">"
                    + "<title>\(Self.escape(layers[i])): \(String(format: "%.3e", v)) (\(p.rawValue))</title></rect>"
            }
            return svg + "</svg>"
        }.joined(separator: "\n")
    }

    static func padded(_ lo: Double, _ hi: Double) -> (Double, Double) {
        let span = hi - lo
        return span > 0 ? (lo - 0.05 * span, hi + 0.05 * span) : (lo - 1, hi + 1)
    }

    static func axes(x: (Double) -> Double, y: (Double) -> Double, xRange: (Double, Double), yRange: (Double, Double), w: Double, h: Double,
                     left: Double, bottom: Double, top: Double, right: Double, xLabel: String, yLabel: String) -> String {
        var s = "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(w - left - right)\" height=\"\(h - top - bottom)\" fill=\"none\" stroke=\"#999\"/>"
        for i in 0...4 {
            let xv = xRange.0 + Double(i) / 4 * (xRange.1 - xRange.0), yv = yRange.0 + Double(i) / 4 * (yRange.1 - yRange.0)
            s += "<text x=\"\(x(xv))\" y=\"\(h - bottom + 14)\" text-anchor=\"middle\">\(String(format: "%.3g", xv))</text>"
            s += "<text x=\"\(left - 6)\" y=\"\(y(yv) + 4)\" text-anchor=\"end\">\(String(format: "%.2f", yv))</text>"
        }
        s += "<text x=\"\((left + w - right) / 2)\" y=\"\(h - 6)\" text-anchor=\"middle\">\(escape(xLabel))</text>"
        s += "<text x=\"14\" y=\"\(top + (h - top - bottom) / 2)\" transform=\"rotate(-90 14 \(top + (h - top - bottom) / 2))\" text-anchor=\"middle\">\(escape(yLabel))</text>"
        return s
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
