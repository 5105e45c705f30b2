import Foundation

/// Everything a search needs: the float model and its images (decoded), the chip, the budget and where to write.
/// `automix search` fills one from its options; a Swift program can fill one itself (docs/library.md).
public struct SearchRequest {
    /// The model file (recorded, and fingerprinted for `--resume`) and its float graph with the input shape fixed.
    public var modelPath: String
    public var graph: Graph
    public var evaluation: Dataset
    public var evaluationPath: String
    public var calibration: Dataset
    public var calibrationPath: String
    public var target: Target = .esp32p4
    public var metric: SearchMetric = .top1
    /// Allowed loss in points, or a fraction of the float metric when `relative`.
    public var maxDrop = 0.1
    public var relative = false
    public var objective: PrecisionSearch.Objective = .cost
    /// Stop a trial as soon as it cannot meet the budget (off: every trial reads every image).
    public var earlyStop = true
    public var preparation: GraphPreparation?
    /// Also search with these equalization settings and keep the cheaper final plan.
    public var tryEqualization: Equalization.Settings?
    public var calibrationBatch = 32
    public var calibrationLimit: Int?
    public var batch = 32
    public var resume = false
    public var folders = SearchFolders()
    /// Recorded in the final config (`input_shape`, and e.g. the evaluation set's preprocessing under `data`).
    public var inputShape: [Int]?
    public var finalConfigExtras: [String: Any] = [:]

    public init(modelPath: String, graph: Graph, evaluation: Dataset, evaluationPath: String, calibration: Dataset, calibrationPath: String) {
        self.modelPath = modelPath; self.graph = graph; self.evaluation = evaluation; self.evaluationPath = evaluationPath
        self.calibration = calibration; self.calibrationPath = calibrationPath
    }
}

/// Where a search writes (AMCT's layout): the results, the journal and log, AMCT's config and record.
public struct SearchFolders: Sendable {
    public var results = "Results", log = "amct_log", tmp = "tmp"
    public init(results: String = "Results", log: String = "amct_log", tmp: String = "tmp") { self.results = results; self.log = log; self.tmp = tmp }

    func journal(_ suffix: String = "") -> URL { file(log, "accuracy_based_auto_calibration_record\(suffix).json") }
    func ranking(_ suffix: String = "") -> URL { file(results, "accuracy_based_auto_calibration_ranking_info\(suffix).json") }
    public var finalConfig: URL { file(results, "accuracy_based_auto_calibration_final_config.json") }
    public var pareto: URL { file(results, "accuracy_based_auto_calibration_pareto.json") }
    public var report: URL { file(results, "accuracy_based_auto_calibration_report.html") }
    var amctConfig: URL { file(tmp, "config.json") }
    var record: URL { file(tmp, "scale_offset_record.txt") }
    private func file(_ folder: String, _ name: String) -> URL { URL(fileURLWithPath: folder).appendingPathComponent(name) }
}

/// The whole search as one library call: float baseline, calibration, ranking, the ladder, the final files.
public enum AutoSearch {
    /// Refuses, before any image is decoded, to resume a journal made for another model, target or metric.
    public static func checkResumable(modelPath: String, target: Target, metric: SearchMetric, folders: SearchFolders) throws {
        let url = folders.journal()
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        guard let bytes = FileManager.default.contents(atPath: modelPath) else { throw AutoMixError.fileNotFound(path: modelPath) }
        let early = SearchJournal.Identity(model: modelPath, modelFingerprint: fingerprint(bytes), data: "", dataFingerprint: "",
                                           calib: "", calibFingerprint: "", target: target, bits: 8, metric: metric.rawValue)
        try SearchJournal.read(url).checkResumable(early, path: url.path, dataKnown: false)
    }

    /// Runs the search and writes its files; the report says whether the budget was met (when not, no final config
    /// or model is written, and an earlier run's are removed).
    public static func run(_ request: SearchRequest, log: SearchLog) throws -> SearchReport {
        let start = Date()
        for folder in [request.folders.results, request.folders.log, request.folders.tmp] { try createFolder(folder) }
        guard let modelBytes = FileManager.default.contents(atPath: request.modelPath) else { throw AutoMixError.fileNotFound(path: request.modelPath) }
        let reference = try Evaluation.run(try FloatExecutor(graph: request.graph), on: request.evaluation, batchSize: request.batch,
                                           progress: Progress("float", total: request.evaluation.count))
        let floatMetric = request.metric == .top1 ? reference.top1 : 100
        log(String(format: "float %@ %.2f %% on %d images (%@)", request.metric.rawValue, floatMetric, request.evaluation.count, request.modelPath))
        func listing(_ d: Dataset) -> Data { Data(zip(d.paths, d.labels).map { "\($0) \($1)" }.joined(separator: "\n").utf8) }
        let identity = SearchJournal.Identity(
            model: request.modelPath, modelFingerprint: fingerprint(modelBytes), data: request.evaluationPath,
            dataFingerprint: fingerprint(listing(request.evaluation)), calib: request.calibrationPath,
            calibFingerprint: fingerprint(listing(request.calibration)), target: request.target, bits: 8, metric: request.metric.rawValue)
        let context = SearchRun(request: request, identity: identity, reference: reference, floatMetric: floatMetric, log: log)

        var chosen = try context.variant(request.preparation, suffix: "")
        var tried = [chosen.summary(request.preparation == nil ? "plain" : "as asked")]
        if let settings = request.tryEqualization, chosen.config.preparation?.equalization == nil, chosen.result.final?.plan.isEmpty != true {
            var p = request.preparation ?? GraphPreparation()
            p.equalization = settings
            let probe = try p.apply(to: request.graph, config: context.configuration(p), batches: context.calibBatches)
            if probe.equalization?.kept == 0 {
                log("equalization would change no pair (\(probe.equalization!.summary)); not searched again")
            } else {
                log("trying equalization: \(settings)")
                let other = try context.variant(p, suffix: "_equalized", outcome: probe)
                tried.append(other.summary("equalized"))
                let better = other.key < chosen.key
                log(String(format: "equalization %@: final chip cost %@ vs %@ without", better ? "kept" : "not kept",
                           other.result.final.map { String(format: "%.4g", $0.cost.chipCost) } ?? "none",
                           chosen.result.final.map { String(format: "%.4g", $0.cost.chipCost) } ?? "none"))
                if better { chosen = other }
            }
        }
        return try context.finish(chosen, variants: tried, seconds: { Date().timeIntervalSince(start) })
    }
}

/// One search's shared state: the float reference, the calibration batches, the timers.
final class SearchRun {
    let request: SearchRequest
    let identity: SearchJournal.Identity
    let reference: Evaluation
    let floatMetric: Double
    let log: SearchLog
    let calibBatches: [Tensor]
    var calibrationSeconds = 0.0, rankingSeconds = 0.0, evaluationSeconds = 0.0
    /// Weight codes and integer layers the trials share (every key also checks its inputs, so variants can share it).
    let rebuilds = RebuildCache()

    init(request: SearchRequest, identity: SearchJournal.Identity, reference: Evaluation, floatMetric: Double, log: SearchLog) {
        self.request = request; self.identity = identity; self.reference = reference; self.floatMetric = floatMetric; self.log = log
        calibBatches = request.calibration.batches(of: request.calibrationBatch)
    }

    /// One searched variant: its preparation, calibration, ranking, ladder and result.
    struct Variant {
        let config: QuantizationConfig
        let outcome: GraphPreparation.Outcome
        let calibration: Calibration
        let layers: [Node]
        /// The prepared graph's costs, which the trials were priced by.
        let costs: CostModel
        let ranking: SensitivityRanking
        let search: PrecisionSearch
        let result: PrecisionSearch.Outcome
        let journalURL: URL
        let rankingURL: URL
        /// Graphwise noise/signal of the last layer with every layer int8 (how much the output suffers).
        var lastGraphwise: Double { ranking.layers.first { $0.name == layers.last?.name }?.graphwiseNoiseSignal ?? 0 }
        /// Met the budget first, then the cheaper final plan.
        var key: (Int, Double, Int) {
            guard let f = result.final else { return (1, .infinity, .max) }
            return (0, f.cost.chipCost, f.cost.weightBytes)
        }

        func summary(_ name: String) -> SearchReport.Variant {
            .init(variant: name, int8Metric: result.int8.metric, finalMetric: result.final?.metric, macCost: result.final?.cost.macCost,
                  chipCost: result.final?.cost.chipCost, weightBytes: result.final?.cost.weightBytes,
                  pairsEqualized: outcome.equalization?.kept, lastLayerGraphwise: lastGraphwise)
        }
    }

    func configuration(_ preparation: GraphPreparation?) -> QuantizationConfig {
        var config = QuantizationConfig(target: request.target)
        config.preparation = preparation
        return config
    }

    /// `outcome`: the passes already run for this preparation (by the equalization probe), else run here.
    func variant(_ preparation: GraphPreparation?, suffix: String, outcome done: GraphPreparation.Outcome? = nil) throws -> Variant {
        let config = configuration(preparation)
        let journalURL = request.folders.journal(suffix), rankingURL = request.folders.ranking(suffix)
        var identity = identity
        identity.preparation = preparation
        var resumed: [SearchJournal.Trial] = [], misses: [Int]?
        if request.resume, FileManager.default.fileExists(atPath: journalURL.path) {
            let old = try SearchJournal.read(journalURL)
            try old.checkResumable(identity, path: journalURL.path)
            resumed = old.trials
            misses = old.int8Misses
            log("resuming: \(resumed.count) trials in \(journalURL.path)")
        }
        var t = Date()
        let outcome = try done ?? (preparation ?? GraphPreparation()).apply(to: request.graph, config: config, batches: calibBatches)
        for note in outcome.notes { log(note) }
        let prepared = try outcome.graph(for: config)
        let calibration = try Calibration.run(for: prepared, config: config, batches: calibBatches,
                                              progress: Progress("calibrate", total: 2 * request.calibration.count))
        calibrationSeconds += Date().timeIntervalSince(t)
        t = Date()
        let int8Model = try Quantizer(graph: prepared, config: config, calibration: calibration, cache: rebuilds).build()
        // every op must be deployable before any trial: the ladder only changes widths, which every op has
        try ESPDLExporter(model: int8Model).check()
        let layers = Quantizer.layers(of: prepared).filter { int8Model.precisions[$0.name] != .float }
        // the analysis compares the prepared float graph with its own quantization (same layer names)
        let ranking = try SensitivityRanking.measure(model: request.modelPath, float: prepared, quantized: int8Model, config: config,
                                                     layers: layers, batches: calibBatches, calibrationImages: calibration.images)
        try ranking.write(to: rankingURL)
        rankingSeconds += Date().timeIntervalSince(t)
        log("ranked \(layers.count) layers (\(String(format: "%.1f", Date().timeIntervalSince(t))) s); most sensitive: "
            + ranking.layers.prefix(3).map(\.name).joined(separator: ", "))
        if let last = layers.last, let l = ranking.layers.first(where: { $0.name == last.name }) {
            log(String(format: "graphwise noise/signal of the last layer (%@), all int8: %.4f", last.name, l.graphwiseNoiseSignal))
        }

        let costs = CostModel(layers: layers, graph: prepared)
        let evaluator = TrialEvaluator(dataset: request.evaluation, reference: reference, metric: request.metric, batch: request.batch)
        let journal = SearchJournal(identity: identity, maxDrop: request.maxDrop, relative: request.relative, floatMetric: floatMetric, trials: [])
        // a resumed search orders its images as the first run did (the same images: the identity was checked); the
        // search journals them again through `int8Misses`
        if let misses, request.earlyStop { evaluator.prioritise(misses: misses) }
        let earlyStop = request.earlyStop
        let search = PrecisionSearch(
            ranking: ranking.layers.map(\.name),
            alternatives: [("graphwise", ranking.layers.sorted { $0.rankGraphwise < $1.rankGraphwise }.map(\.name))],
            sensitivity: Dictionary(uniqueKeysWithValues: ranking.layers.map { ($0.name, $0.layerwiseNoiseSignal) }),
            objective: request.objective, journal: journal, resumed: resumed, journalURL: journalURL,
            evaluate: { [self] plan, stopBelow in
                let e0 = Date()
                defer { evaluationSeconds += Date().timeIntervalSince(e0) }
                var c = config
                c.layers = plan
                let planned = try Quantizer(graph: try outcome.graph(for: c), config: c, calibration: calibration, cache: rebuilds).build()
                try ESPDLExporter(model: planned).check()
                let (measure, predictions) = try evaluator.measure(
                    try QuantExecutor(model: planned, cache: rebuilds), stopBelow: earlyStop ? stopBelow : nil,
                    progress: Progress("eval", total: evaluator.count, plainLines: Console.shared.verbosity == .verbose))
                // the all-int8 plan's mistakes go first in every later trial
                if plan.isEmpty, earlyStop, measure.images == evaluator.count { evaluator.prioritise(misses: evaluator.misses(predictions)) }
                return measure
            },
            cost: { costs.cost($0) }, log: { [log] in log($0) })
        search.int8Misses = { evaluator.missesUsed }
        search.status = { Console.shared.setContext(suffix.isEmpty ? $0 : "equalized · " + $0) }
        search.detailLog = { [log] in log($0, level: .verbose) }
        defer { Console.shared.setContext("") }
        let result = try search.run()
        log("rebuilds: \(rebuilds.hits) parts reused, \(rebuilds.misses) made", level: .verbose)
        return Variant(config: config, outcome: outcome, calibration: calibration, layers: layers, costs: costs, ranking: ranking,
                       search: search, result: result, journalURL: journalURL, rankingURL: rankingURL)
    }
}
