import ArgumentParser
import AutoMix
import Foundation

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find the cheapest int8/int16/float plan whose accuracy stays within the budget (with no arguments: the bundled default).")

    @Option(help: "Float ONNX classifier.") var model = "Datasets/models/fmnist_mbv2s.onnx"
    @Option(help: "Calibration ImageFolder.") var calib = "Datasets/fashion_mnist/calib"
    @OptionGroup(title: "Images and preprocessing") var data: DataOptions
    @Option(help: "The chip: esp32p4 or esp32s3.") var target: Target = .esp32p4
    @Option(help: "Allowed loss of the metric (top-1, or agreement with --metric agreement) against the float model, in points (a fraction of the float metric with --relative).")
    var maxDrop = 0.1
    @Flag(help: "Read --max-drop as a fraction of the float model's metric.") var relative = false
    @Option(help: "top1 (labelled data) or agreement (with the float model's own predictions, for unlabelled data).")
    var metric: SearchMetric = .top1
    @Flag(help: "Replay the journal and skip every finished trial.") var resume = false
    @Option(help: "Calibration batch size (analysis uses the first 9 batches).") var calibBatch = 32
    @Option(help: "Use only the first N calibration images.") var calibLimit: Int?
    @Option(help: "Images per inference batch.") var batch = 32
    @Option(help: "Directory of the results (ranking, final config).") var results = "Results"
    @Option(help: "Directory of the journal and log.") var logDir = "amct_log"
    @Option(help: "Directory of AMCT's config.json and scale_offset_record.txt.") var tmpDir = "tmp"
    @OptionGroup(title: "Float-graph passes before calibration") var prepare: PreparationOptions
    @Flag(help: "Also search with layerwise equalization (the --equalization-* settings) and keep the cheaper final plan.")
    var tryEqualization = false
    @OptionGroup(title: "Output") var output: OutputOptions

    func validate() throws {
        try prepare.checkEqualizationAsked(also: tryEqualization)
        try Check.batch(batch, "--batch")
        try Check.batch(calibBatch, "--calib-batch")
        try Check.positive(calibLimit, "--calib-limit")
        try Check.finite(maxDrop, "--max-drop")
        // (a negative budget asks for a gain over float: allowed, and the way to test a budget no plan meets)
        if relative && maxDrop >= 1 {
            throw ValidationError("--max-drop \(maxDrop) with --relative is a fraction of the float metric and must be below 1 (0.01 = 1 %)")
        }
    }

    func run() throws {
        try reportingErrors(output) {
            let start = Date()
            var data = self.data
            // the bundled defaults are found from any folder (in the AutoMix folder this build came from)
            data.data = BundledData.resolve(data.data ?? "Datasets/fashion_mnist/val")
            let model = BundledData.resolve(self.model), calib = BundledData.resolve(self.calib)
            // the files of an equalized variant (--try-equalization) carry a suffix
            func journalPath(_ suffix: String) -> URL {
                URL(fileURLWithPath: logDir).appendingPathComponent("accuracy_based_auto_calibration_record\(suffix).json")
            }
            func rankingPath(_ suffix: String) -> URL {
                URL(fileURLWithPath: results).appendingPathComponent("accuracy_based_auto_calibration_ranking_info\(suffix).json")
            }
            let finalURL = URL(fileURLWithPath: results).appendingPathComponent("accuracy_based_auto_calibration_final_config.json")
            // the inputs exist before any folder is made
            for (option, path) in [("--model", model), ("--calib", calib), ("--data", data.data!)] where !FileManager.default.fileExists(atPath: path) {
                throw AutoMixError.invalidArgument("\(option) \(path): no such file or directory"
                    + (BundledData.isBundled(path) ? " (the bundled default: run Scripts/setup.sh in the AutoMix folder first, or give \(option))" : ""))
            }
            // one search per output folder; taking the lock also shows, before any work, that the folders can be written
            let lock = try SearchLock(folders: [results, logDir, tmpDir], command: "search --model \(model)")
            defer { lock.release() }
            let log = SearchLog(path: logDir + "/automix.log", append: resume)

            guard let modelBytes = FileManager.default.contents(atPath: model) else { throw AutoMixError.fileNotFound(path: model) }
            // a journal of another model, target or metric is refused before any image is decoded
            if resume, FileManager.default.fileExists(atPath: journalPath("").path) {
                let early = SearchJournal.Identity(model: model, modelFingerprint: fingerprint(modelBytes), data: "", dataFingerprint: "",
                                                   calib: "", calibFingerprint: "", target: target, bits: 8, metric: metric.rawValue)
                try SearchJournal.read(journalPath("")).checkResumable(early, path: journalPath("").path, dataKnown: false)
            }
            let original = try data.preparedGraph(model)
            let floatExecutor = try FloatExecutor(graph: original)
            let evalSet = try data.load(for: original, quiet: false)
            var calibOptions = data
            calibOptions.limit = calibLimit
            let calibSet = try calibOptions.load(calib, for: original, quiet: false, label: "decode calib")
            func listing(_ d: Dataset) -> Data { Data(zip(d.paths, d.labels).map { "\($0) \($1)" }.joined(separator: "\n").utf8) }
            let identity = SearchJournal.Identity(
                model: model, modelFingerprint: fingerprint(modelBytes), data: data.data!, dataFingerprint: fingerprint(listing(evalSet)),
                calib: calib, calibFingerprint: fingerprint(listing(calibSet)), target: target, bits: 8, metric: metric.rawValue)
            // float baseline
            let reference = try Evaluation.run(floatExecutor, on: evalSet, batchSize: batch, progress: Progress("float", total: evalSet.count))
            let floatMetric = metric == .top1 ? reference.top1 : 100
            log(String(format: "float %@ %.2f %% on %d images (%@)", metric.rawValue, floatMetric, evalSet.count, model))

            // one preparation, calibration and ranking serve every trial of a variant
            let calibBatches = calibSet.batches(of: calibBatch)
            var evaluationSeconds = 0.0, calibrationSeconds = 0.0, rankingSeconds = 0.0

            struct Variant {
                let config: QuantizationConfig
                let outcome: GraphPreparation.Outcome
                let calibration: Calibration
                let layers: [Node]
                let ranking: SensitivityRanking
                let search: PrecisionSearch
                let result: PrecisionSearch.Outcome
                let journalURL: URL
                let rankingURL: URL
                /// Graphwise noise/signal of the last layer with every layer int8 (how much the output suffers).
                let lastGraphwise: Double
            }
            func configuration(_ preparation: GraphPreparation?) -> QuantizationConfig {
                var config = QuantizationConfig(target: target)
                config.preparation = preparation
                return config
            }
            /// `outcome`: the passes already run for this preparation (by the equalization probe), else run here.
            func variant(_ preparation: GraphPreparation?, suffix: String, outcome done: GraphPreparation.Outcome? = nil) throws -> Variant {
                let config = configuration(preparation)
                let journalURL = journalPath(suffix), rankingURL = rankingPath(suffix)
                var identity = identity
                identity.preparation = preparation
                var resumed: [SearchJournal.Trial] = []
                if resume, FileManager.default.fileExists(atPath: journalURL.path) {
                    let old = try SearchJournal.read(journalURL)
                    try old.checkResumable(identity, path: journalURL.path)
                    resumed = old.trials
                    log("resuming: \(resumed.count) trials in \(journalURL.path)")
                }
                var t = Date()
                let outcome = try done ?? (preparation ?? GraphPreparation()).apply(to: original, config: config, batches: calibBatches)
                for note in outcome.notes { log(note) }
                let prepared = try outcome.graph(for: config)
                let calibration = try Calibration.run(for: prepared, config: config, batches: calibBatches, progress: Progress("calibrate", total: 2 * calibSet.count))
                calibrationSeconds += Date().timeIntervalSince(t)
                t = Date()
                let int8Model = try Quantizer(graph: prepared, config: config, calibration: calibration).build()
                // every op must be deployable before any trial: the ladder only changes widths, which every op has
                try ESPDLExporter(model: int8Model).check()
                let analysed = Array(calibBatches.prefix(Sensitivity.batchCount))
                let layers = Quantizer.layers(of: prepared).filter { int8Model.precisions[$0.name] != .float }
                // the analysis compares the prepared float graph with its own quantization (same layer names)
                let layerwise = try Sensitivity.layerwise(float: prepared, quantized: int8Model, batches: analysed,
                                                          progress: Progress("rank: layerwise", total: layers.count * analysed.count))
                let graphwise = try Sensitivity.graphwise(float: prepared, quantized: int8Model, batches: analysed,
                                                          progress: Progress("rank: graphwise", total: analysed.count))
                let cosine = try Sensitivity.cosine(float: prepared, quantized: int8Model, config: config, batches: analysed,
                                                    progress: Progress("rank: cosine", total: analysed.count))
                let ranking = SensitivityRanking(
                    model: model, target: target, bits: 8, calibrationImages: calibration.images,
                    analysisImages: analysed.reduce(0) { $0 + $1.shape[0] }, layers: layers.map { n in
                        .init(name: n.name, op: n.op.rawValue, layerwiseNoiseSignal: layerwise[n.name] ?? 0,
                              graphwiseNoiseSignal: graphwise[n.name] ?? 0, cosineSimilarity: cosine[n.name] ?? 1,
                              macs: LayerCost.macs(n, in: prepared), weights: LayerCost.weights(n, in: prepared))
                    })
                try ranking.write(to: rankingURL)
                rankingSeconds += Date().timeIntervalSince(t)
                log("ranked \(layers.count) layers (\(String(format: "%.1f", Date().timeIntervalSince(t))) s); most sensitive: "
                    + ranking.layers.prefix(3).map(\.name).joined(separator: ", "))
                if let last = layers.last {
                    log(String(format: "graphwise noise/signal of the last layer (%@), all int8: %.4f", last.name, graphwise[last.name] ?? 0))
                }

                let journal = SearchJournal(identity: identity, maxDrop: maxDrop, relative: relative, floatMetric: floatMetric, trials: [])
                let search = PrecisionSearch(
                    ranking: ranking.layers.map(\.name),
                    alternatives: [("graphwise", ranking.layers.sorted { $0.rankGraphwise < $1.rankGraphwise }.map(\.name))],
                    journal: journal, resumed: resumed, journalURL: journalURL,
                    evaluate: { plan in
                        let e0 = Date()
                        defer { evaluationSeconds += Date().timeIntervalSince(e0) }
                        var c = config
                        c.layers = plan
                        let planned = try Quantizer(graph: try outcome.graph(for: c), config: c, calibration: calibration).build()
                        try ESPDLExporter(model: planned).check()
                        let executor = try QuantExecutor(model: planned)
                        let r = try Evaluation.run(executor, on: evalSet, batchSize: batch,
                                                   progress: Progress("eval", total: evalSet.count, plainLines: Console.shared.verbosity == .verbose))
                        return self.metric == .top1 ? r.top1 : r.agreement(with: reference)
                    },
                    cost: { PlanCost(plan: $0, layers: layers, graph: prepared) }, log: { log($0) })
                search.status = { Console.shared.setContext(suffix.isEmpty ? $0 : "equalized · " + $0) }
                search.detailLog = { log($0, level: .verbose) }
                defer { Console.shared.setContext("") }
                let result = try search.run()
                return Variant(config: config, outcome: outcome, calibration: calibration, layers: layers, ranking: ranking,
                               search: search, result: result, journalURL: journalURL, rankingURL: rankingURL,
                               lastGraphwise: layers.last.flatMap { graphwise[$0.name] } ?? 0)
            }

            var chosen = try variant(prepare.preparation, suffix: "")
            var tried: [SearchReport.Variant] = []
            func summary(_ v: Variant, _ name: String) -> SearchReport.Variant {
                .init(variant: name, int8Metric: v.result.int8.metric, finalMetric: v.result.final?.metric,
                      macCost: v.result.final?.cost.macCost, weightBytes: v.result.final?.cost.weightBytes,
                      pairsEqualized: v.outcome.equalization?.kept, lastLayerGraphwise: v.lastGraphwise)
            }
            tried.append(summary(chosen, prepare.preparation == nil ? "plain" : "as asked"))
            if tryEqualization && chosen.config.preparation?.equalization == nil && chosen.result.final?.plan.isEmpty != true {
                var p = prepare.preparation ?? GraphPreparation()
                p.equalization = prepare.equalizationSettings
                let probe = try p.apply(to: original, config: configuration(p), batches: calibBatches)
                if probe.equalization?.kept == 0 {
                    log("equalization would change no pair (\(probe.equalization!.summary)); not searched again")
                } else {
                    log("trying equalization: \(p.equalization!)")
                    let other = try variant(p, suffix: "_equalized", outcome: probe)
                    tried.append(summary(other, "equalized"))
                    func key(_ v: Variant) -> (Int, Double, Int) {
                        guard let f = v.result.final else { return (1, .infinity, .max) }
                        return (0, f.cost.macCost, f.cost.weightBytes)
                    }
                    let better = key(other) < key(chosen)
                    log(String(format: "equalization %@: final MAC cost %@ vs %@ without", better ? "kept" : "not kept",
                               other.result.final.map { String(format: "%.4g", $0.cost.macCost) } ?? "none",
                               chosen.result.final.map { String(format: "%.4g", $0.cost.macCost) } ?? "none"))
                    if better { chosen = other }
                }
            }
            let config = chosen.config
            let calibration = chosen.calibration
            let layers = chosen.layers
            let search = chosen.search
            let outcome = chosen.result
            let journalURL = chosen.journalURL
            let rankingURL = chosen.rankingURL
            let graph = chosen.outcome.graph
            let seconds = Date().timeIntervalSince(start)

            var report = SearchReport(
                metric: metric.rawValue, floatMetric: floatMetric, int8Metric: outcome.int8.metric, budgetMet: outcome.budgetMet,
                trials: search.trialsRun, trialsResumed: search.trialsResumed, seconds: seconds, calibrationSeconds: calibrationSeconds,
                rankingSeconds: rankingSeconds, evaluationSeconds: evaluationSeconds, lastLayerGraphwise: chosen.lastGraphwise,
                preparation: config.preparation, variants: tried, journal: journalURL.path, ranking: rankingURL.path)
            let stem = URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent
            let tmpConfig = URL(fileURLWithPath: tmpDir).appendingPathComponent("config.json")
            let record = URL(fileURLWithPath: tmpDir).appendingPathComponent("scale_offset_record.txt")
            guard let final = outcome.final else {
                // an earlier run's final plan must not stand beside this run's ranking and journal as if it were theirs
                let stale = removeStale([finalURL, tmpConfig, record]
                    + ModelWriters.paths(formats: [.all], directory: results, name: stem).map { URL(fileURLWithPath: $0) })
                if !stale.isEmpty { log("removed an earlier run's final files: \(stale.joined(separator: ", "))") }
                log(String(format: "budget not met: even with every layer in float the %@ drop exceeds %.3f; no model or final config written "
                    + "(ranking and journal kept)", metric.rawValue, search.budget))
                // the same keys as a met budget: null or empty
                if output.json { try printJSON(report) }
                throw ExitCode(2)
            }

            // the final plan's files
            var finalConfig = config
            finalConfig.inputShape = try data.fixedInputShape()
            finalConfig.layers = Dictionary(uniqueKeysWithValues: layers.map { ($0.name, final.plan[$0.name] ?? .int8) })
            let finalModel = try Quantizer(graph: try chosen.outcome.graph(for: finalConfig), config: finalConfig, calibration: calibration).build()
            let int16Layers = layers.map(\.name).filter { final.plan[$0] == .int16 }
            let floatLayers = layers.map(\.name).filter { final.plan[$0] == .float }
            let finalConfigData = try SearchOutputs.finalConfig(finalConfig, extra: [
                "model": model, "metric": metric.rawValue, "float_metric": floatMetric, "final_metric": final.metric,
                "drop": final.drop, "budget": search.budget, "max_drop": maxDrop, "relative": relative,
                "weight_bytes": final.cost.weightBytes, "mac_cost": final.cost.macCost,
                "calibration": ["path": calib, "images": calibration.images, "batch": calibBatch, "limit": calibLimit as Any],
                "int16_layers": int16Layers, "float_layers": floatLayers,
                "data": RecordedRun.record(data, path: data.data!),
                "espdl": (results as NSString).appendingPathComponent(stem + ".espdl"),
            ])
            // the files for the chip and for other tools (the first calibration image is the .espdl's test input), the final
            // config and AMCT's files: built and checked first, then written as one set, so a failure (a plan the chip cannot
            // run, a full disk) leaves the previous set whole and ends the search with an error
            let written = try ModelWriters.files(finalModel, formats: [.all], directory: results, name: stem, testInput: calibBatches.first)
            let modelFiles = written.map(\.path)
            try writeAllAtomically([(finalURL, finalConfigData),
                                    (tmpConfig, try SearchOutputs.amctConfig(finalModel, config: finalConfig, layers: layers, batches: calibBatches.count)),
                                    (record, Data(SearchOutputs.scaleOffsetRecord(finalModel, layers: layers).utf8))]
                                   + written.map { (URL(fileURLWithPath: $0.path), $0.data) })

            let floatCost = PlanCost(plan: Dictionary(uniqueKeysWithValues: layers.map { ($0.name, Precision.float) }), layers: layers, graph: graph)
            func row(_ name: String, _ metricValue: Double, _ drop: Double, _ cost: PlanCost) -> String {
                name.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(format: "%7.2f  %6.2f  %12d  %10.3g", metricValue, drop, cost.weightBytes, cost.macCost)
            }
            log("final plan: \(int16Layers.count) int16, \(floatLayers.count) float layers; \(metric.rawValue) \(String(format: "%.2f", final.metric))")
            let espdlPath = modelFiles.first { $0.hasSuffix(".espdl") } ?? ""
            say("""

                plan      \(String(repeating: " ", count: max(0, 7 - metric.rawValue.count)) + metric.rawValue)    drop  weight bytes    MAC cost (int8 = 1)
                \(row("float", floatMetric, 0, floatCost))
                \(row("all int8", outcome.int8.metric, outcome.int8.drop, outcome.int8.cost))
                \(row("final", final.metric, final.drop, final.cost))

                \(Summary.field("budget", String(format: "drop ≤ %.3f points: met (final drop %.2f)", search.budget, final.drop)))
                \(Summary.field("int16", Summary.layerList(int16Layers)))
                \(Summary.field("float", Summary.layerList(floatLayers)))
                \(Summary.field("trials", "\(search.trialsRun) run, \(search.trialsResumed) from the journal; " + String(format: "%.1f s (calibration %.1f s, ranking %.1f s, evaluation %.1f s)", seconds, calibrationSeconds, rankingSeconds, evaluationSeconds)))

                wrote
                \(Summary.files([("final config", finalURL.path), ("ranking", rankingURL.path), ("journal", journalURL.path),
                                 ("AMCT config", tmpConfig.path), ("scale/offset", record.path)] + modelFiles.map { (Summary.kind(of: $0), $0) }))

                next
                  # the ranking, with each layer's final precision
                  automix inspect \(Summary.shell(rankingURL.path))
                  # \(URL(fileURLWithPath: espdlPath).lastPathComponent) in the chip's integer arithmetic, on the evaluation images
                  automix run --config \(Summary.shell(finalURL.path))
                """)
            report.finalMetric = final.metric
            report.int16Layers = int16Layers
            report.floatLayers = floatLayers
            report.weightBytes = final.cost.weightBytes
            report.macCost = final.cost.macCost
            report.finalConfig = finalURL.path
            report.config = tmpConfig.path
            report.record = record.path
            report.modelFiles = modelFiles
            if output.json { try printJSON(report) }
        }
    }
}

public enum SearchMetric: String, ExpressibleByArgument, Sendable { case top1, agreement }
