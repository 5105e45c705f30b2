import Foundation

/// The files AutoMix writes for a plan, all from the one `QuantizedModel` the executor ran.
public enum ExportFormat: String, CaseIterable, Sendable {
    case espdl, fakeQuantONNX = "fake-quant-onnx", deployONNX = "deploy-onnx", all
    /// ESP-DL's legacy toolkit: `<name>_coefficient.cpp/.hpp` (not part of `all`).
    case cpp
}

public enum ModelWriters {
    /// Writes the requested files into `directory` as `<name>.espdl` (+ `.info`, `.json`),
    /// `<name>_fake_quant_model.onnx` and `<name>_deploy_model.onnx`; returns the paths written. Everything is
    /// built and checked before the first file is written, and the files are written as one unit (`writeAllAtomically`).
    public static func write(_ model: QuantizedModel, formats: Set<ExportFormat>, directory: String, name: String,
                             testInput: Tensor? = nil) throws -> [String] {
        let files = try self.files(model, formats: formats, directory: directory, name: name, testInput: testInput)
        try writeAllAtomically(files.map { (URL(fileURLWithPath: $0.path), $0.data) })
        return files.map(\.path)
    }

    /// The names `files` gives for these formats (what a failed run removes of an earlier one's).
    public static func paths(formats: Set<ExportFormat>, directory: String, name: String) -> [String] {
        let all = formats.contains(.all), base = URL(fileURLWithPath: directory)
        var names: [String] = []
        if all || formats.contains(.espdl) { names += ["\(name).espdl", "\(name).info", "\(name).json"] }
        if all || formats.contains(.deployONNX) { names.append("\(name)_deploy_model.onnx") }
        if all || formats.contains(.fakeQuantONNX) { names.append("\(name)_fake_quant_model.onnx") }
        if formats.contains(.cpp) { names += ["\(name)_coefficient.hpp", "\(name)_coefficient.cpp"] }
        return names.map { base.appendingPathComponent($0).path }
    }

    /// The files' contents, built and checked, nothing written; the directory is created.
    public static func files(_ model: QuantizedModel, formats: Set<ExportFormat>, directory: String, name: String,
                             testInput: Tensor? = nil) throws -> [(path: String, data: Data)] {
        let all = formats.contains(.all)
        var files: [(path: String, data: Data)] = []
        let base = URL(fileURLWithPath: directory)
        func path(_ file: String) -> String { base.appendingPathComponent(file).path }
        if all || formats.contains(.espdl) || formats.contains(.deployONNX) {
            let device = try ESPDLExporter(model: model, name: model.graph.name).export(testInput: testInput)
            if all || formats.contains(.espdl) {
                files.append((path("\(name).espdl"), Data(device.serialized())))
                files.append((path("\(name).info"), Data(device.printable().utf8)))
                files.append((path("\(name).json"), try device.quantizationConfigJSON(model)))
            }
            if all || formats.contains(.deployONNX) {
                files.append((path("\(name)_deploy_model.onnx"), try device.deployONNX().serializedBytes()))
            }
        }
        if all || formats.contains(.fakeQuantONNX) {
            files.append((path("\(name)_fake_quant_model.onnx"), try FakeQuantGraph(model: model).onnxModel().serializedBytes()))
        }
        if formats.contains(.cpp) {
            let (hpp, cpp) = try LegacyCppExport(model: model, name: name).files()
            files.append((path("\(name)_coefficient.hpp"), Data(hpp.utf8)))
            files.append((path("\(name)_coefficient.cpp"), Data(cpp.utf8)))
        }
        try createFolder(directory)
        return files
    }
}
