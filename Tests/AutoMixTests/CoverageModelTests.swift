import Foundation
import Testing
@testable import AutoMix

/// The op-coverage classifiers of Scripts/make_coverage_models.py: float = onnxruntime, and the `.espdl` AutoMix
/// writes, read back from its bytes, computes exactly the plan's integers on both chips.
@Suite(.serialized) struct CoverageModelTests {
    static func path(_ name: String) -> String { Fixtures.root.appendingPathComponent("coverage/\(name).onnx").path }

    static let models = ["fire_resnet"]

    @Test("float outputs equal onnxruntime's (1e-4)", arguments: models)
    func floatMatchesONNXRuntime(_ name: String) throws {
        let graph = try Graph.prepared(onnx: Self.path(name))
        let out = try FloatExecutor(graph: graph).run(fixedInput([2, 1, 28, 28]))[0]
        let expected = try Fixtures.floats(Fixtures.root.appendingPathComponent("coverage/\(name).out.bin"))
        #expect(maxAbsDiff(out.data, expected) < 1e-4)
    }

    @Test("the written .espdl reads back and reproduces the plan exactly on 16 images",
          arguments: models, [Target.esp32p4, .esp32s3])
    func writtenFileComputesThePlan(_ name: String, _ target: Target) throws {
        let graph = try Graph.prepared(onnx: Self.path(name))
        let config = QuantizationConfig(target: target, bits: 8)
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)),
                                              on: QuantizationTests.calib)
        let plan = try Quantizer(graph: graph, config: config, calibration: calibration).build()
        let dir = Fixtures.temporaryDirectory()
        _ = try ModelWriters.write(plan, formats: [.espdl], directory: dir.path, name: "m")
        let back = try ESPDLModel.load(dir.appendingPathComponent("m.espdl").path)
        #expect(try back.checkTestValues(arithmetic: .exact).maxAbsDiff == 0)
        let images = QuantizationTests.val.batch(0..<16)
        #expect(try QuantExecutor(model: back.model).run(images) == (try QuantExecutor(model: plan).run(images)))
    }

    @Test("a Concat on channels is written on the device's channel axis (NHWC: 3)")
    func concatAxisIsTheDeviceChannelAxis() throws {
        let graph = try Graph.prepared(onnx: Self.path("fire_resnet"))
        let config = QuantizationConfig(target: .esp32p4, bits: 8)
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)),
                                              on: QuantizationTests.calib)
        let file = try ESPDLExporter(model: try Quantizer(graph: graph, config: config, calibration: calibration).build()).export()
        let concat = try #require(file.nodes.first { $0.opType == "Concat" })
        #expect(concat.attributes["axis"] == .int(3))
    }
}
