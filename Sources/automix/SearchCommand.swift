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
    @OptionGroup(title: "Search") var options: SearchOptions
    @OptionGroup(title: "Float-graph passes before calibration") var prepare: PreparationOptions
    @OptionGroup(title: "Output") var output: OutputOptions

    func validate() throws {
        try prepare.checkEqualizationAsked(also: options.tryEqualization)
        try options.validate()
    }

    func run() throws {
        try reportingErrors(output) {
            var data = self.data
            // the bundled defaults are found from any folder (in the AutoMix folder this build came from)
            data.data = BundledData.resolve(data.data ?? "Datasets/fashion_mnist/val")
            let model = BundledData.resolve(self.model), calib = BundledData.resolve(self.calib)
            // the inputs exist before any folder is made
            for (option, path) in [("--model", model), ("--calib", calib), ("--data", data.data!)] where !FileManager.default.fileExists(atPath: path) {
                throw AutoMixError.invalidArgument("\(option) \(path): no such file or directory"
                    + (BundledData.isBundled(path) ? " (the bundled default: run Scripts/setup.sh in the AutoMix folder first, or give \(option))" : ""))
            }
            // one search per output folder; taking the lock also shows, before any work, that the folders can be written
            let folders = options.folders
            let lock = try SearchLock(folders: [folders.results, folders.log, folders.tmp], command: "search --model \(model)")
            defer { lock.release() }
            let log = SearchLog(path: folders.log + "/automix.log", append: options.resume)
            if options.resume { try AutoSearch.checkResumable(modelPath: model, target: options.target, metric: options.metric, folders: folders) }
            let graph = try data.preparedGraph(model)
            var calibOptions = data
            calibOptions.limit = options.calibLimit
            var request = SearchRequest(modelPath: model, graph: graph, evaluation: try data.load(for: graph, quiet: false), evaluationPath: data.data!,
                                        calibration: try calibOptions.load(calib, for: graph, quiet: false, label: "decode calib"), calibrationPath: calib)
            options.fill(&request)
            request.preparation = prepare.preparation
            request.tryEqualization = options.tryEqualization ? prepare.equalizationSettings : nil
            request.inputShape = try data.fixedInputShape()
            request.finalConfigExtras = ["data": RecordedRun.record(data, path: data.data!)]
            let report = try AutoSearch.run(request, log: log)
            if !report.budgetMet {
                log(String(format: "budget not met: even with every layer in float the %@ drop exceeds %.3f; no model or final config written "
                    + "(ranking, journal, Pareto front and report kept)", report.metric, report.budget))
            } else {
                say(Summary.search(report))
            }
            if output.json { try printJSON(report) }
            if !report.budgetMet { throw ExitCode(2) }
        }
    }
}
