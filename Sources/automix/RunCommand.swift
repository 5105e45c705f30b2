import ArgumentParser
import AutoMix
import Foundation

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Emulate an .espdl file bit-exactly: check its embedded test values, and optionally evaluate it on an ImageFolder.")

    @Argument(help: "An EDL2 .espdl model (ESP-PPQ's or AutoMix's; default: the one a search's final config given as --config wrote).")
    var file: String?
    @Option(help: "A search's final config: its .espdl, evaluated on its --data with its preprocessing (options given here take precedence).")
    var config: String?
    @Option(help: "The chip: esp32p4, esp32s3 or c (default: the file's own target metadata, else read from the filters).") var target: Target?
    @OptionGroup(title: "Images and preprocessing") var data: DataOptions
    @Option(help: "Conv/Gemm sums for --data: 'exact' (the chip's integer arithmetic) or 'esp-ppq' (float32, as ESP-PPQ simulates).")
    var arithmetic: Arithmetic = .exact
    @Option(help: "Images per inference batch.") var batch = 32
    @Option(help: "Write one CSV row per image: file,top1,label,top5.") var predictions: String?
    @OptionGroup(title: "Output") var output: OutputOptions

    func validate() throws {
        try Check.batch(batch, "--batch")
        if file == nil && config == nil { throw ValidationError("give an .espdl file, or --config with a search's final config") }
    }

    func run() throws {
        try reportingErrors(output) {
            let recorded = RecordedRun(configPath: config)
            if let config, !FileManager.default.fileExists(atPath: config) { throw AutoMixError.fileNotFound(path: config) }
            guard let file = file ?? recorded.espdl else {
                throw AutoMixError.invalidArgument("--config \(config ?? ""): records no .espdl (not a search's final config); give the .espdl file")
            }
            let data = self.data.filled(from: recorded)
            let espdl = try ESPDLModel.load(file, target: target)
            var report = RunReport(model: file, target: espdl.model.target.rawValue, data: data.data)
            say("\(file): \(espdl.model.graph.nodes.count) nodes, target \(espdl.model.target.rawValue) (from \(espdl.targetSource))")
            if espdl.streaming { say("streaming model: emulated as its first call (every StreamingCache starts with zeros)") }
            if !espdl.testOutputs.isEmpty {
                // ESP-PPQ made the embedded values with its float32 simulation; exact chip arithmetic is shown beside it
                let fromAutoMix = espdl.file.metadata[ESPDLExporter.producerKey] == "automix"
                let check = try espdl.checkTestValues(arithmetic: fromAutoMix ? .exact : .espPPQ)
                let exact = try espdl.checkTestValues(arithmetic: .exact)
                for (o, e) in zip(check.perOutput, exact.perOutput) {
                    say("test output \(o.name): \(o.count) \(o.bits == 32 ? "float" : "int\(o.bits)") values, max |diff| \(o.maxAbsDiff) "
                        + "(exact integer arithmetic: \(e.maxAbsDiff))")
                }
                say("embedded test values: \(check.passes ? "match" : "DIFFER") (max |diff| \(check.maxAbsDiff) steps; "
                    + "device tolerance: int8 0, int16 1)")
                report.testMaxAbsDiff = check.maxAbsDiff
                report.testMaxAbsDiffExact = exact.maxAbsDiff
                report.testPassed = check.passes
            } else {
                let smoke = try espdl.runOnFixedInput()
                say("no embedded test values: ran every node on a fixed normal input instead (\(String(format: "%.2f", smoke.seconds)) s)")
                for o in smoke.outputs {
                    say("output \(o.name): \(o.shape.map(String.init).joined(separator: "x")) \(o.format.map(\.description) ?? "float"), checksum \(o.checksum)")
                }
                report.fixedInputRun = true
                report.fixedInputSeconds = smoke.seconds
            }
            if data.data != nil {
                let executor = try QuantExecutor(model: espdl.model, arithmetic: arithmetic)
                let dataset = try data.load(for: espdl.model.graph, quiet: false)
                let result = try Evaluation.run(executor, on: dataset, batchSize: batch, progress: Progress("eval", total: dataset.count))
                if let predictions {
                    try writeAtomically(Data(result.predictionsCSV(paths: dataset.paths, labels: dataset.labels).utf8),
                                        to: URL(fileURLWithPath: predictions))
                    report.predictions = predictions
                }
                say(String(format: "top-1 %.2f %%  top-5 %.2f %%  images %d  %.1f images/s", result.top1, result.top5,
                             result.images, result.imagesPerSecond))
                report.top1 = result.top1
                report.top5 = result.top5
                report.images = result.images
                report.imagesPerS = result.imagesPerSecond
                report.skipped = dataset.skipped.count
            }
            if output.json { try printJSON(report) }
            if report.testPassed == false { throw ExitCode(1) }
        }
    }
}

extension Target: ExpressibleByArgument {
    /// Chip names of the `c` family (esp32c6, esp32, …) read as `c`.
    public init?(argument: String) { self.init(chip: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
extension Arithmetic: ExpressibleByArgument {}
