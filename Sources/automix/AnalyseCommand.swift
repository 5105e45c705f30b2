import ArgumentParser
import AutoMix
import Foundation

struct AnalyseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyse",
        abstract: "Per-layer quantization sensitivity: ESP-PPQ's graphwise and layerwise NOISE:SIGNAL tables and AMCT's cosine ranking.",
        aliases: ["analyze"])

    @OptionGroup var model: ModelOptions
    @OptionGroup(title: "Plan and calibration") var quant: QuantizeOptions
    @OptionGroup(title: "Images and preprocessing") var data: DataOptions
    @Option(help: "Where the ranking goes.") var ranking = "Results/accuracy_based_auto_calibration_ranking_info.json"
    @OptionGroup(title: "Output") var output: OutputOptions

    func run() throws {
        try reportingErrors(output) {
            let start = Date()
            let config = try quant.quantizationConfig()
            let original = try data.preparedGraph(model.model)
            let plan = try quant.plan(original, config: config, data: data)
            let (set, graph, calibration, quantized) = (plan.set, plan.graph, plan.calibration, plan.model)
            let images = quant.batches(set).prefix(Sensitivity.batchCount).reduce(0) { $0 + $1.shape[0] }

            let layers = Quantizer.layers(of: graph).filter { quantized.precisions[$0.name] != .float }
            var measureSeconds: [String: Double] = [:]
            let result = try SensitivityRanking.measure(
                model: model.model, float: graph, quantized: quantized, config: config, layers: layers, batches: quant.batches(set),
                calibrationImages: calibration.images) { name, values, s in
                    measureSeconds[name] = s
                    let rows = values.map { ($0.key, $0.value) }
                    say(name == "cosine" ? Sensitivity.table(rows, measure: "COSINE SIMILARITY (AMCT, 0.5 + 0.5·cos)") : Sensitivity.table(rows))
                }
            let (graphwiseSeconds, layerwiseSeconds, cosineSeconds) = (measureSeconds["graphwise"] ?? 0, measureSeconds["layerwise"] ?? 0,
                                                                 measureSeconds["cosine"] ?? 0)
            try result.write(to: URL(fileURLWithPath: ranking))
            let seconds = Date().timeIntervalSince(start)
            say(String(format: "%d layers ranked on %d images: graphwise %.2f s, layerwise %.2f s, cosine %.2f s; %@ written (%.1f s in all)",
                         layers.count, images, graphwiseSeconds, layerwiseSeconds, cosineSeconds, ranking, seconds))
            if output.json {
                try printJSON(AnalyseReport(model: model.model, target: config.target.rawValue, layers: layers.count, images: images,
                                            ranking: ranking, mostSensitive: result.layers.first?.name ?? "",
                                            graphwiseSeconds: graphwiseSeconds, layerwiseSeconds: layerwiseSeconds,
                                            cosineSeconds: cosineSeconds, seconds: seconds))
            }
        }
    }
}
