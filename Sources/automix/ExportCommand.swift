import ArgumentParser
import AutoMix
import Foundation

extension ExportFormat: ExpressibleByArgument {}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Calibrate a plan (a search's final config, or uniform --bits) and write it for the chip and for other tools.",
        discussion: """
            --format espdl writes <name>.espdl with <name>.info and <name>.json (ESP-PPQ's side files); fake-quant-onnx \
            writes <name>_fake_quant_model.onnx (standard ops, runs in onnxruntime); deploy-onnx writes \
            <name>_deploy_model.onnx (the .espdl graph as ONNX); all writes every one of these. cpp writes \
            <name>_coefficient.cpp/.hpp for ESP-DL's legacy dl::layer API and prints each layer's output exponent, e.g. \
            --format cpp --bits 16 --granularity per-tensor --calibration minmax.
            """)

    @Option(help: "Float ONNX classifier (default: the model a search's final config given as --config records).") var model: String?
    @OptionGroup(title: "Plan and calibration") var quant: QuantizeOptions
    @OptionGroup(title: "Images and preprocessing") var data: DataOptions
    @Option(help: "espdl, fake-quant-onnx, deploy-onnx, all, or cpp (repeatable).") var format: [ExportFormat] = [.espdl]
    @Option(help: "Folder to write into.") var results = "Results"
    @Option(help: "File name stem (default: the model file's).") var name: String?
    @Option(help: "Test input embedded in the .espdl: raw little-endian float32 of one model input (NCHW); default a fixed random normal input.")
    var testInput: String?
    @Option(help: "Take every exponent from this .espdl (e.g. ESP-PPQ's export of the same model) instead of calibrating.")
    var exponentsFrom: String?
    @Option(help: "Write the --data images (up to --limit) and the plan's simulated outputs here as raw float32 (inputs.f32, outputs.f32, io.json), for checking the fake-quant ONNX in another runtime.")
    var dumpIO: String?
    @OptionGroup(title: "Output") var output: OutputOptions

    func run() throws {
        try reportingErrors(output) {
            let config = try quant.quantizationConfig()
            let data = self.data.filled(from: quant.recorded, includingPath: false)
            let modelPath = try quant.modelPath(model)
            let graph = try data.preparedGraph(modelPath, recorded: config.inputShape)
            var input: Tensor?
            if let testInput {
                guard let d = FileManager.default.contents(atPath: testInput) else { throw AutoMixError.fileNotFound(path: testInput) }
                var shape = graph.inputs[0].shape
                shape[0] = 1
                let count = shape.reduce(1, *)
                guard d.count == count * 4 else {
                    throw AutoMixError.invalidData(path: testInput, reason: "holds \(d.count) bytes; the model input \(shape) needs \(count * 4) (float32)")
                }
                input = Tensor(shape: shape, data: d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
            }
            let imposed = try exponentsFrom.map { try ESPDLModel.load($0, target: config.target).model }
            let plan = try quant.plan(graph, config: config, data: data, imposed: imposed)
            let quantized = plan.model
            // the .espdl's test input: the given file, else the first calibration image, as the search embeds it
            if input == nil, plan.set.count > 0 { input = plan.set.batch(0..<1) }
            let stem = name ?? URL(fileURLWithPath: modelPath).deletingPathExtension().lastPathComponent
            let paths = try ModelWriters.write(quantized, formats: Set(format), directory: results, name: stem, testInput: input)
            if format.contains(.cpp) {
                say("Quantized model info:")
                for line in LegacyCppExport(model: quantized, name: stem).log() { say(line) }
            }
            for p in paths { say("wrote \(Summary.display(p))") }
            if let dumpIO {
                guard data.data != nil else { throw AutoMixError.invalidArgument("--dump-io needs --data") }
                let set = try data.load(for: graph, quiet: false)
                let x = set.batch(0..<set.count)
                let y = try QuantExecutor(model: quantized).run(x)[0]
                let dir = URL(fileURLWithPath: dumpIO)
                try createFolder(dir.path)
                try writeAtomically(x.data.withUnsafeBufferPointer { Data(buffer: $0) }, to: dir.appendingPathComponent("inputs.f32"))
                try writeAtomically(y.data.withUnsafeBufferPointer { Data(buffer: $0) }, to: dir.appendingPathComponent("outputs.f32"))
                let q = quantized.formats[graph.outputs[0].name]
                let meta: [String: Any] = ["input_shape": x.shape, "output_shape": y.shape, "output_exponent": q?.exponent as Any,
                                           "files": set.paths, "labels": set.labels]
                try writeAtomically(try JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys]), to: dir.appendingPathComponent("io.json"))
                say("wrote \(set.count) inputs and simulated outputs to \(dumpIO)")
            }
            if output.json { try printJSON(ExportReport(model: modelPath, target: config.target.rawValue, files: paths)) }
        }
    }
}
