import ArgumentParser
import AutoMix
import Foundation

extension SearchMetric: ExpressibleByArgument {}
extension PrecisionSearch.Objective: ExpressibleByArgument {}

/// The search's own options: the chip, the budget, what to minimise, batches and folders.
struct SearchOptions: ParsableArguments {
    @Option(help: "The chip: esp32p4 or esp32s3.") var target: Target = .esp32p4
    @Option(help: "Allowed loss of the metric (top-1, or agreement with --metric agreement) against the float model, in points (a fraction of the float metric with --relative).")
    var maxDrop = 0.1
    @Flag(help: "Read --max-drop as a fraction of the float model's metric.") var relative = false
    @Option(help: "top1 (labelled data) or agreement (with the float model's own predictions, for unlabelled data).")
    var metric: SearchMetric = .top1
    @Option(help: "What the final plan minimises among those that meet the budget: cost (the chip cost model, see the README) or layers (the fewest promoted layers).")
    var objective: PrecisionSearch.Objective = .cost
    @Flag(help: "Evaluate every trial on every image (by default a trial stops once it cannot meet the budget).")
    var noEarlyStop = false
    @Flag(help: "Replay the journal and skip every finished trial.") var resume = false
    @Option(help: "Calibration batch size (analysis uses the first 9 batches).") var calibBatch = 32
    @Option(help: "Use only the first N calibration images.") var calibLimit: Int?
    @Option(help: "Images per inference batch.") var batch = 32
    @Option(help: "Directory of the results (ranking, final config, Pareto front, report).") var results = "Results"
    @Option(help: "Directory of the journal and log.") var logDir = "amct_log"
    @Option(help: "Directory of AMCT's config.json and scale_offset_record.txt.") var tmpDir = "tmp"
    @Flag(help: "Also search with layerwise equalization (the --equalization-* settings) and keep the cheaper final plan.")
    var tryEqualization = false

    func validate() throws {
        try Check.batch(batch, "--batch")
        try Check.batch(calibBatch, "--calib-batch")
        try Check.positive(calibLimit, "--calib-limit")
        try Check.finite(maxDrop, "--max-drop")
        // (a negative budget asks for a gain over float: allowed, and the way to test a budget no plan meets)
        if relative && maxDrop >= 1 {
            throw ValidationError("--max-drop \(maxDrop) with --relative is a fraction of the float metric and must be below 1 (0.01 = 1 %)")
        }
    }

    var folders: SearchFolders { SearchFolders(results: results, log: logDir, tmp: tmpDir) }

    func fill(_ r: inout SearchRequest) {
        r.target = target
        r.metric = metric
        r.maxDrop = maxDrop
        r.relative = relative
        r.objective = objective
        r.earlyStop = !noEarlyStop
        r.calibrationBatch = calibBatch
        r.calibrationLimit = calibLimit
        r.batch = batch
        r.resume = resume
        r.folders = folders
    }
}
