import Foundation

extension SearchRun {
    /// The report of the chosen variant, and its files: with a final plan, the final config, AMCT's files, the models,
    /// the Pareto front and the HTML report; without one, the Pareto front and the report only (an earlier run's
    /// final files are removed, so they do not stand beside this run's ranking and journal as if they were theirs).
    func finish(_ chosen: Variant, variants: [SearchReport.Variant], seconds: () -> Double) throws -> SearchReport {
        let search = chosen.search, outcome = chosen.result, layers = chosen.layers, folders = request.folders
        let names = layers.map(\.name)
        let costs = chosen.costs
        var report = SearchReport(
            model: request.modelPath, target: request.target, metric: request.metric.rawValue, objective: request.objective,
            budget: search.budget, floatMetric: floatMetric, int8Metric: outcome.int8.metric, budgetMet: outcome.budgetMet,
            floatCost: costs.cost(Dictionary(uniqueKeysWithValues: names.map { ($0, .float) })), int8Cost: costs.cost([:]),
            trials: search.trialsRun, trialsResumed: search.trialsResumed, fullEvaluations: search.fullEvaluations,
            trialsStoppedEarly: search.journal.trials.suffix(search.trialsRun).filter { !$0.complete }.count,
            images: request.evaluation.count, seconds: 0, calibrationSeconds: calibrationSeconds, rankingSeconds: rankingSeconds,
            evaluationSeconds: evaluationSeconds, lastLayerGraphwise: chosen.lastGraphwise, preparation: chosen.config.preparation,
            variants: variants, journal: chosen.journalURL.path, ranking: chosen.rankingURL.path)
        let pareto = ParetoFile(metric: request.metric.rawValue, floatMetric: floatMetric, budget: search.budget,
                                trials: search.journal.trials, layers: names, chosen: outcome.final?.index)
        report.paretoFront = pareto.points
        report.pareto = folders.pareto.path
        report.report = folders.report.path
        let stem = URL(fileURLWithPath: request.modelPath).deletingPathExtension().lastPathComponent
        /// The HTML report of `report` as it stands when the files are written.
        func html() -> Data {
            Data(SearchHTMLReport(report: report, ranking: chosen.ranking, layers: names, trials: search.journal.trials).html.utf8)
        }

        guard let final = outcome.final else {
            let stale = removeStale([folders.finalConfig, folders.amctConfig, folders.record]
                + ModelWriters.paths(formats: [.all], directory: folders.results, name: stem).map { URL(fileURLWithPath: $0) })
            if !stale.isEmpty { log("removed an earlier run's final files: \(stale.joined(separator: ", "))") }
            report.seconds = seconds()
            try writeAllAtomically([(folders.pareto, try JSONFile.encode(pareto)), (folders.report, html())])
            return report
        }
        var finalConfig = chosen.config
        finalConfig.inputShape = request.inputShape
        finalConfig.layers = Dictionary(uniqueKeysWithValues: names.map { ($0, final.plan[$0] ?? .int8) })
        let finalModel = try Quantizer(graph: try chosen.outcome.graph(for: finalConfig), config: finalConfig, calibration: chosen.calibration,
                                       cache: rebuilds).build()
        report.finalMetric = final.metric
        report.finalDrop = final.drop
        report.int16Layers = names.filter { final.plan[$0] == .int16 }
        report.floatLayers = names.filter { final.plan[$0] == .float }
        report.weightBytes = final.cost.weightBytes
        report.macCost = final.cost.macCost
        report.chipCost = final.cost.chipCost
        report.finalCost = final.cost
        let finalConfigData = try SearchOutputs.finalConfig(finalConfig, extra: request.finalConfigExtras.merging([
            "model": request.modelPath, "metric": request.metric.rawValue, "float_metric": floatMetric, "final_metric": final.metric,
            "drop": final.drop, "budget": search.budget, "max_drop": request.maxDrop, "relative": request.relative,
            "objective": request.objective.rawValue, "weight_bytes": final.cost.weightBytes, "mac_cost": final.cost.macCost,
            "chip_cost": final.cost.chipCost,
            "calibration": ["path": request.calibrationPath, "images": chosen.calibration.images, "batch": request.calibrationBatch,
                            "limit": request.calibrationLimit as Any],
            "int16_layers": report.int16Layers, "float_layers": report.floatLayers,
            "espdl": (folders.results as NSString).appendingPathComponent(stem + ".espdl"),
        ]) { _, new in new })
        // the files for the chip and for other tools (the first calibration image is the .espdl's test input), the final
        // config and AMCT's files: built and checked first, then written as one set, so a failure (a plan the chip cannot
        // run, a full disk) leaves the previous set whole and ends the search with an error
        let written = try ModelWriters.files(finalModel, formats: [.all], directory: folders.results, name: stem, testInput: calibBatches.first)
        report.finalConfig = folders.finalConfig.path
        report.config = folders.amctConfig.path
        report.record = folders.record.path
        report.modelFiles = written.map(\.path)
        report.seconds = seconds()
        try writeAllAtomically([(folders.finalConfig, finalConfigData),
                                (folders.amctConfig, try SearchOutputs.amctConfig(finalModel, config: finalConfig, layers: layers, batches: calibBatches.count)),
                                (folders.record, Data(SearchOutputs.scaleOffsetRecord(finalModel, layers: layers).utf8)),
                                (folders.pareto, try JSONFile.encode(pareto)), (folders.report, html())]
                               + written.map { (URL(fileURLWithPath: $0.path), $0.data) })
        log("final plan: \(report.int16Layers.count) int16, \(report.floatLayers.count) float layers; "
            + "\(request.metric.rawValue) \(String(format: "%.2f", final.metric))")
        return report
    }
}
