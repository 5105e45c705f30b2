import ArgumentParser
import AutoMix
import Foundation

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Emulate an .espdl file bit-exactly: check its embedded test values, and optionally evaluate it on an ImageFolder.")

    @Argument(help: "An EDL2 .espdl model (ESP-PPQ's or AutoMix's).") var file: String
    @Option(help: "The chip: esp32p4, esp32s3 or c (default: the file's own target metadata, else read from the filters).") var target: Target?
    @OptionGroup(title: "Images and preprocessing") var data: DataOptions
    @Option(help: "Conv/Gemm sums for --data: 'exact' (the chip's integer arithmetic) or 'esp-ppq' (float32, as ESP-PPQ simulates).")
    var arithmetic: Arithmetic = .exact
    @Option(help: "Images per inference batch.") var batch = 32
    @Option(help: "Write one CSV row per image: file,top1,label,top5.") var predictions: String?
    @Flag(help: "End with one JSON object of the results.") var json = false

    func validate() throws { try Check.batch(batch, "--batch") }

    func run() throws {
        try reportingErrors(json: json) {
            let espdl = try ESPDLModel.load(file, target: target)
            var out: [String: Any] = ["model": file, "target": espdl.model.target.rawValue]
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
                out["test_max_abs_diff"] = check.maxAbsDiff
                out["test_max_abs_diff_exact"] = exact.maxAbsDiff
                out["test_passed"] = check.passes
            } else {
                let smoke = try espdl.runOnFixedInput()
                say("no embedded test values: ran every node on a fixed normal input instead (\(String(format: "%.2f", smoke.seconds)) s)")
                for o in smoke.outputs {
                    say("output \(o.name): \(o.shape.map(String.init).joined(separator: "x")) \(o.format.map(\.description) ?? "float"), checksum \(o.checksum)")
                }
                out["fixed_input_run"] = true
                out["fixed_input_seconds"] = smoke.seconds
            }
            if data.data != nil {
                let executor = try QuantExecutor(model: espdl.model, arithmetic: arithmetic)
                let dataset = try data.load(for: espdl.model.graph, quiet: false)
                let result = try Evaluation.run(executor, on: dataset, batchSize: batch, progress: Progress("eval", total: dataset.count))
                if let predictions {
                    try writeAtomically(Data(result.predictionsCSV(paths: dataset.paths, labels: dataset.labels).utf8),
                                        to: URL(fileURLWithPath: predictions))
                    out["predictions"] = predictions
                }
                say(String(format: "top-1 %.2f %%  top-5 %.2f %%  images %d  %.1f images/s", result.top1, result.top5,
                             result.images, result.imagesPerSecond))
                out.merge(["top1": result.top1, "top5": result.top5, "images": result.images,
                           "images_per_s": result.imagesPerSecond, "skipped": dataset.skipped.count]) { $1 }
            }
            if json { printJSON(out) }
            if out["test_passed"] as? Bool == false { throw ExitCode(1) }
        }
    }
}

extension Target: ExpressibleByArgument {
    /// Chip names of the `c` family (esp32c6, esp32, …) read as `c`.
    public init?(argument: String) { self.init(chip: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
extension Arithmetic: ExpressibleByArgument {}
