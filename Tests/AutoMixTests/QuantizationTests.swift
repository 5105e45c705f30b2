import Foundation
import Testing
@testable import AutoMix

/// AutoMix's calibration and integer executor against ESP-PPQ 1.3.12's exports of the same ONNX models.
@Suite(.serialized) struct QuantizationTests {
    static let calib: Dataset = try! Dataset.load(try! ImageFolder(root: Fixtures.fashion + "/calib"),
                                                   preprocessing: Preprocessing(crop: (28, 28), channels: 1))
    static let val: Dataset = try! Dataset.load(try! ImageFolder(root: Fixtures.fashion + "/val"),
                                                 preprocessing: Preprocessing(crop: (28, 28), channels: 1))

    static func quantize(_ model: String, _ config: QuantizationConfig, imposed: QuantizedModel? = nil) throws -> (Graph, QuantizedModel) {
        let graph = try Graph.prepared(onnx: Fixtures.model(model))
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)), on: calib)
        return (graph, try Quantizer(graph: graph, config: config, calibration: calibration, imposed: imposed).build())
    }

    @Test("with ESP-PPQ's default algorithms AutoMix's exponents equal ESP-PPQ's export (≥ 95 % of tensors)", arguments: [
        ("fmnist_mbv2s", Target.esp32p4, 8, "fmnist_mbv2s_esp32p4_int8"),
        ("fmnist_mbv2s", .esp32s3, 8, "fmnist_mbv2s_esp32s3_int8"),
        ("fmnist_mbv2s", .esp32p4, 16, "fmnist_mbv2s_esp32p4_int16"),
        ("fmnist_cnn", .esp32p4, 8, "fmnist_cnn_esp32p4_int8"),
    ])
    func exponents(_ model: String, _ target: Target, _ bits: Int, _ export: String) throws {
        let (_, ours) = try Self.quantize(model, QuantizationConfig(target: target, bits: bits))
        let theirs = try ESPDLModel.load(ESPDLTests.path(export + ".espdl")).model
        let c = ExponentComparison(ours, theirs)
        #expect(c.compared >= 14)
        #expect(c.fraction >= 0.95, "\(c.mismatches.map { "\($0.name): \($0.ours) vs \($0.theirs)" })")
    }

    @Test("fmnist_mbv2s esp32p4 int8: top-1 on the 10,000 test images within 0.1 point of ESP-PPQ's 91.04 %")
    func accuracy() throws {
        let (_, ours) = try Self.quantize("fmnist_mbv2s", QuantizationConfig(target: .esp32p4))
        let result = try Evaluation.run(try QuantExecutor(model: ours), on: Self.val, batchSize: 250)
        #expect(abs(result.top1 - 91.04) <= 0.1)
    }

    @Test("given an export's exponents, AutoMix's executor on the ONNX model computes the same integers as the emulated .espdl",
          arguments: ["fmnist_mbv2s_esp32p4_int8", "fmnist_mbv2s_esp32s3_int8", "fmnist_mbv2s_esp32p4_int16", "fmnist_cnn_esp32p4_int8"])
    func sameIntegers(_ export: String) throws {
        let espdl = try ESPDLModel.load(ESPDLTests.path(export + ".espdl"))
        let target = espdl.model.target
        let bits = export.contains("int16") ? 16 : 8
        let (_, ours) = try Self.quantize(export.hasPrefix("fmnist_cnn") ? "fmnist_cnn" : "fmnist_mbv2s",
                                          QuantizationConfig(target: target, bits: bits), imposed: espdl.model)
        #expect(ExponentComparison(ours, espdl.model).fraction == 1)
        let images = Self.val.batch(0..<200)
        let a = try QuantExecutor(model: ours).run(images)[0]
        let b = try QuantExecutor(model: espdl.model).run(images)[0]
        #expect(a.shape == b.shape)
        #expect(a.data == b.data)
    }

    @Test("every Conv kernel this CPU runs gives the same integers as the float-held and double sums, on 200 images",
          arguments: ["fmnist_mbv2s_esp32p4_int8", "fmnist_mbv2s_esp32s3_int8", "fmnist_mbv2s_esp32p4_int16", "fmnist_cnn_esp32p4_int8"])
    func kernelsAgree(_ export: String) throws {
        let espdl = try ESPDLModel.load(ESPDLTests.path(export + ".espdl"))
        let images = Self.val.batch(0..<200)
        let reference = try QuantExecutor(model: espdl.model, gemm: .openBLAS).run(images)[0]
        for gemm in [GemmBackend.avx512, .avx2].filter(\.isAvailable) {
            let got = try QuantExecutor(model: espdl.model, gemm: gemm).run(images)[0]
            #expect(got.data == reference.data, "\(export) \(gemm)")
        }
    }
}
