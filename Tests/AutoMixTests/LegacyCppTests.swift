import Foundation
import Testing
@testable import AutoMix

/// ESP-DL's legacy coefficient export (`--format cpp`).
@Suite struct LegacyCppTests {
    /// The smallest `dl_constant.hpp` the generated files need: ESP-DL v1's Filter/Bias/Activation constructors.
    static let stub = """
        #pragma once
        #include <vector>
        namespace dl {
        enum activation_type_t { Linear, ReLU, LeakyReLU, PReLU };
        template <typename T> struct Constant {
            const T *element; const int exponent; const std::vector<int> shape;
            Constant(const T *e, int x, std::vector<int> s) : element(e), exponent(x), shape(s) {}
        };
        template <typename T> struct Filter : Constant<T> {
            std::vector<int> dilation;
            Filter(const T *e, int x, std::vector<int> s, std::vector<int> d) : Constant<T>(e, x, s), dilation(d) {}
        };
        template <typename T> struct Bias : Constant<T> { Bias(const T *e, int x, std::vector<int> s) : Constant<T>(e, x, s) {} };
        template <typename T> struct Activation { activation_type_t type; Activation(activation_type_t t) : type(t) {} };
        }
        """

    @Test("fmnist_cnn at int16 per-tensor minmax: the .cpp compiles with g++, and the printed exponents are the plan's")
    func fmnistCNN() throws {
        let dir = Fixtures.temporaryDirectory()
        let r = try runCLI(["export", "--model", Fixtures.model("fmnist_cnn"), "--calib", Fixtures.fashion + "/calib",
                            "--format", "cpp", "--bits", "16", "--granularity", "per-tensor", "--calibration", "minmax",
                            "--results", dir.path])
        #expect(r.status == 0, "\(r.err)")
        try Self.stub.write(to: dir.appendingPathComponent("dl_constant.hpp"), atomically: true, encoding: .utf8)
        let gxx = Process()
        gxx.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gxx.arguments = ["g++", "-std=c++11", "-Wall", "-Werror", "-c", dir.appendingPathComponent("fmnist_cnn_coefficient.cpp").path,
                         "-I", dir.path, "-o", dir.appendingPathComponent("coefficient.o").path]
        let err = Pipe()
        gxx.standardError = err
        try gxx.run()
        gxx.waitUntilExit()
        #expect(gxx.terminationStatus == 0, "\(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")

        // the same plan through the API
        let graph = try Graph.prepared(onnx: Fixtures.model("fmnist_cnn"))
        var config = QuantizationConfig(target: .esp32p4, bits: 16, activationObserver8: .minmax, activationObserver16: .minmax)
        config.weightGranularity = .perTensor
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)),
                                              on: QuantizationTests.calib)
        let model = try Quantizer(graph: graph, config: config, calibration: calibration).build()
        let printed = r.out.split(separator: "\n").filter { $0.contains("layer name: ") }
        let layers = Quantizer.layers(of: model.graph)
        #expect(printed.filter { $0.hasPrefix("Conv") || $0.hasPrefix("Gemm") }.count == layers.count)
        for n in layers {
            let e = try #require(model.formats[n.outputs[0]]?.exponent)
            #expect(printed.contains("\(n.op.rawValue) layer name: \(LegacyCppExport.identifier(n.name)), output_exponent: \(e)"))
            #expect(model.parameters[n.inputs[1]]?.exponents.count == 1)
        }
        #expect(printed.contains { $0.hasPrefix("Gemm layer name: ") && $0.hasSuffix("output_exponent: -11") })
        let source = try String(contentsOf: dir.appendingPathComponent("fmnist_cnn_coefficient.cpp"), encoding: .utf8)
        #expect(source.contains("Filter<int16_t>") && source.contains("Activation<int16_t>"))
    }

    @Test("per-channel weights are refused with the layer named, and nothing is written")
    func perChannelRefused() throws {
        let dir = Fixtures.temporaryDirectory()
        let r = try runCLI(["export", "--model", Fixtures.model("fmnist_cnn"), "--calib", Fixtures.fashion + "/calib", "--calib-limit", "32",
                            "--format", "cpp", "--bits", "8", "--target", "esp32p4", "--results", dir.path])
        #expect(r.status != 0)
        #expect(r.err.contains("per-channel") && r.err.contains("Conv"))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.isEmpty ?? true)
    }
}
