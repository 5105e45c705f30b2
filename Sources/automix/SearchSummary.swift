import AutoMix
import Foundation

extension Summary {
    /// The text a finished search prints: the plans compared, the budget, the layers promoted, what the search
    /// cost, the Pareto front, the files, and what to run next.
    static func search(_ r: SearchReport) -> String {
        func row(_ name: String, _ metric: Double, _ drop: Double, _ cost: PlanCost) -> String {
            name.padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "%7.2f  %6.2f  %12d  %10.4g  %10.4g", metric, drop, cost.weightBytes, cost.chipCost, cost.macCost)
        }
        let espdl = r.modelFiles.first { $0.hasSuffix(".espdl") } ?? ""
        let front = r.paretoFront.map { p in
            String(format: "  %2d  %7.2f  %6.2f  %10.4g  ", p.point, p.metric, p.drop, p.chipCost)
                + "\(p.int16Layers.count) int16, \(p.floatLayers.count) float" + (p.meetsBudget ? "" : " (misses the budget)") + (p.chosen ? "  ← final" : "")
        }
        let trials = "\(r.trials) run (\(r.trialsStoppedEarly) stopped early), \(r.trialsResumed) from the journal; "
            + String(format: "%.2f full evaluations of %d images; %.1f s (calibration %.1f s, ranking %.1f s, evaluation %.1f s)",
                     r.fullEvaluations, r.images, r.seconds, r.calibrationSeconds, r.rankingSeconds, r.evaluationSeconds)
        return """

            plan      \(String(repeating: " ", count: max(0, 7 - r.metric.count)) + r.metric)    drop  weight bytes   chip cost   MAC cost
            \(row("float", r.floatMetric, 0, r.floatCost))
            \(row("all int8", r.int8Metric, r.int8Drop, r.int8Cost))
            \(row("final", r.finalMetric ?? 0, r.finalDrop ?? 0, r.finalCost ?? r.int8Cost))

            \(field("budget", String(format: "drop ≤ %.3f points: met (final drop %.2f); objective: %@", r.budget, r.finalDrop ?? 0, r.objective.rawValue)))
            \(field("int16", layerList(r.int16Layers)))
            \(field("float", layerList(r.floatLayers)))
            \(field("trials", trials))

            Pareto front (cheapest first; export --config … --pareto-point N takes one)
               N  \(String(repeating: " ", count: max(0, 7 - r.metric.count)) + r.metric)    drop   chip cost  plan
            \(front.joined(separator: "\n"))

            wrote
            \(files([("final config", r.finalConfig ?? ""), ("ranking", r.ranking), ("journal", r.journal), ("Pareto front", r.pareto ?? ""),
                     ("report", r.report ?? ""), ("AMCT config", r.config ?? ""), ("scale/offset", r.record ?? "")]
                    + r.modelFiles.map { (kind(of: $0), $0) }))

            next
              # the trials, the Pareto front and each layer's sensitivity, in a browser
              xdg-open \(shell(r.report ?? ""))
              # the ranking, with each layer's final precision
              automix inspect \(shell(r.ranking))
              # \(URL(fileURLWithPath: espdl).lastPathComponent) in the chip's integer arithmetic, on the evaluation images
              automix run --config \(shell(r.finalConfig ?? ""))
            """
    }
}
