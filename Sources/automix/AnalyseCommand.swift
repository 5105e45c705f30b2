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
            let batches = Array(quant.batches(set).prefix(Sensitivity.batchCount))
            let images = batches.reduce(0) { $0 + $1.shape[0] }

            var t = Date()
            let graphwise = try Sensitivity.graphwise(float: graph, quantized: quantized, batches: batches,
                                                      progress: Progress("graphwise", total: batches.count))
            let graphwiseSeconds = Date().timeIntervalSince(t)
            say(Sensitivity.table(graphwise.map { ($0.key, $0.value) }))
            t = Date()
            let layers = Quantizer.layers(of: graph).filter { quantized.precisions[$0.name] != .float }
            let layerwise = try Sensitivity.layerwise(float: graph, quantized: quantized, batches: batches,
                                                      progress: Progress("layerwise", total: layers.count * batches.count))
            let layerwiseSeconds = Date().timeIntervalSince(t)
            say(Sensitivity.table(layerwise.map { ($0.key, $0.value) }))
            t = Date()
            let cosine = try Sensitivity.cosine(float: graph, quantized: quantized, config: config, batches: batches,
                                                progress: Progress("cosine", total: batches.count))
            let cosineSeconds = Date().timeIntervalSince(t)
            say(Sensitivity.table(cosine.map { ($0.key, $0.value) }, measure: "COSINE SIMILARITY (AMCT, 0.5 + 0.5·cos)"))

            let result = SensitivityRanking(
                model: model.model, target: config.target, bits: config.bits, calibrationImages: calibration.images,
                analysisImages: images, layers: layers.map { n in
                    .init(name: n.name, op: n.op.rawValue, layerwiseNoiseSignal: layerwise[n.name] ?? 0,
                          graphwiseNoiseSignal: graphwise[n.name] ?? 0, cosineSimilarity: cosine[n.name] ?? 1,
                          macs: LayerCost.macs(n, in: graph), weights: LayerCost.weights(n, in: graph))
                })
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
