import Foundation
import Testing
@testable import AutoMix

/// The op-coverage classifiers of Scripts/make_coverage_models.py: float = onnxruntime, and the `.espdl` AutoMix
/// writes, read back from its bytes, computes exactly the plan's integers on both chips.
@Suite(.serialized) struct CoverageModelTests {
    static func path(_ name: String) -> String { Fixtures.root.appendingPathComponent("coverage/\(name).onnx").path }
    /// open_size_cls leaves its height and width open, as paddle2onnx does: the tests give them.
    static func graph(_ name: String) throws -> Graph {
        try Graph.prepared(onnx: path(name), inputShape: name == "open_size_cls" ? [1, 1, 28, 28] : nil)
    }

    static let models = ["fire_resnet", "mbv3_se", "bn_norm", "open_size_cls", "torch_mixed", "shuffle_block", "subpixel", "deconv", "upsample"]

    static func plan(_ name: String, _ target: Target, layers: [String: Precision] = [:], bits: Int = 8) throws -> QuantizedModel {
        let graph = try Self.graph(name)
        var config = QuantizationConfig(target: target, bits: bits)
        config.layers = layers
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)),
                                              on: QuantizationTests.calib)
        return try Quantizer(graph: graph, config: config, calibration: calibration).build()
    }

    @Test("float outputs equal onnxruntime's (1e-4)", arguments: models)
    func floatMatchesONNXRuntime(_ name: String) throws {
        let graph = try Self.graph(name)
        let out = try FloatExecutor(graph: graph).run(fixedInput([2, 1, 28, 28]))[0]
        let expected = try Fixtures.floats(Fixtures.root.appendingPathComponent("coverage/\(name).out.bin"))
        #expect(maxAbsDiff(out.data, expected) < 1e-4)
    }

    @Test("the written .espdl reads back and reproduces the plan exactly on 16 images",
          arguments: models, [Target.esp32p4, .esp32s3])
    func writtenFileComputesThePlan(_ name: String, _ target: Target) throws {
        let plan = try Self.plan(name, target)
        let dir = Fixtures.temporaryDirectory()
        _ = try ModelWriters.write(plan, formats: [.espdl], directory: dir.path, name: "m")
        let back = try ESPDLModel.load(dir.appendingPathComponent("m.espdl").path)
        #expect(try back.checkTestValues(arithmetic: .exact).maxAbsDiff == 0)
        let images = QuantizationTests.val.batch(0..<16)
        #expect(try QuantExecutor(model: back.model).run(images) == (try QuantExecutor(model: plan).run(images)))
    }

    /// (Models with table activations write them as a Gather on computed indices, which only onnxruntime runs:
    /// Scripts/check_fake_quant.py checks those, in Scripts/coverage_report.sh.)
    @Test("the fake-quant ONNX graph (standard ops, InsertZeros as a ConvTranspose) computes the int8 plan exactly",
          arguments: ["bn_norm", "shuffle_block", "subpixel", "deconv", "upsample"], [Target.esp32p4, .esp32s3])
    func fakeQuantIsThePlan(_ name: String, _ target: Target) throws {
        let plan = try Self.plan(name, target)
        let fq = try FakeQuantGraph(model: plan).graph()
        #expect(!fq.nodes.contains { $0.op == .insertZeros || $0.op == .lut || $0.op.isQuantOnly && $0.op != .quantizeLinear && $0.op != .dequantizeLinear })
        let images = QuantizationTests.val.batch(0..<24)
        let a = try FloatExecutor(graph: fq).run(images)[0], b = try QuantExecutor(model: plan).run(images)[0]
        let step = plan.formats[plan.graph.outputs[0].name].map { Float($0.scale) } ?? 1e-6
        #expect(maxAbsDiff(a.data, b.data) <= step * 1e-3, "\(name): \(maxAbsDiff(a.data, b.data) / step) steps")
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

extension CoverageModelTests {
    @Test("int16 HardSwish/HardSigmoid/Swish are written as ESP-PPQ 1.3.12's LUT op (step 32, 2049 entries) and read back exactly",
          arguments: ["mbv3_se", "fire_resnet"], [Target.esp32p4, .esp32s3])
    func int16ActivationsAsLUT(_ name: String, _ target: Target) throws {
        let plan = try Self.plan(name, target, bits: 16)
        let file = try ESPDLExporter(model: plan).export()
        let luts = file.nodes.filter { $0.opType == "LUT" }
        #expect(!luts.isEmpty)
        for n in luts {
            #expect(n.attributes["int16_lut_step"] == .int(32))
            guard case let .string(table)? = n.attributes["lut"] else { Issue.record("\(n.name) has no table"); continue }
            #expect(file.initializers[table]?.count == 2049 && file.initializers[table]?.dataType == .int16)
        }
        let back = try ESPDLModel.load(file: try ESPDLFile.read(bytes: file.serialized(), path: "m.espdl"), target: target)
        let images = QuantizationTests.val.batch(0..<8)
        #expect(try QuantExecutor(model: back.model).run(images) == (try QuantExecutor(model: plan).run(images)))
    }

    @Test("graph forms: x·Sigmoid(x) is one Swish, a BatchNorm after a Relu a depthwise 1x1 Conv, BatchNorm1d a Mul and an Add")
    func rewrittenForms() throws {
        // torch's opset-13 spellings: GELU as the Erf formula, SiLU as x·Sigmoid(x)
        let torch = try Self.graph("torch_mixed").nodes.map(\.op)
        #expect(torch.contains(.gelu) && torch.contains(.swish) && !torch.contains(.erf) && !torch.contains(.batchNormalization))
        let fire = try Self.graph("fire_resnet").nodes.map(\.op)
        #expect(fire.contains(.swish) && !fire.contains(.sigmoid))
        let bn = try Self.graph("bn_norm")
        #expect(!bn.nodes.contains { $0.op == .batchNormalization })
        #expect(bn.nodes.contains { $0.op == .conv && $0.int("group", default: 1) == 16 })
        // its BatchNorm1d follows a Gemm: folded into it
        #expect(bn.nodes.filter { $0.op == .gemm }.count == 2 && !bn.nodes.contains { $0.op == .mul })
        // one after a Relu on a vector becomes Mul + Add and computes the same
        let c: [String: ConstantValue] = ["g": .float(Tensor(shape: [3], data: [1.5, -2, 0.5])), "b": .float(Tensor(shape: [3], data: [0.1, 0.2, -0.3])),
                                          "m": .float(Tensor(shape: [3], data: [0.5, -1, 2])), "v": .float(Tensor(shape: [3], data: [4, 0.25, 1]))]
        var g = Graph(name: "bn1d", nodes: [Node(name: "r", op: .relu, inputs: ["x"], outputs: ["h"]),
                                            Node(name: "bn", op: .batchNormalization, inputs: ["h", "g", "b", "m", "v"], outputs: ["y"])],
                      inputs: [ValueInfo(name: "x", shape: [-1, 3])], outputs: [ValueInfo(name: "y", shape: [-1, 3])], constants: c, opset: 13)
        try g.inferShapes()
        let x = Tensor(shape: [2, 3], data: [1, -1, 3, 0.5, 2, -4])
        let before = try FloatExecutor(graph: g).run(x)[0]
        let rewritten = try g.rewritten()
        #expect(rewritten.nodes.map(\.op) == [.relu, .mul, .add])
        #expect(maxAbsDiff(try FloatExecutor(graph: rewritten).run(x)[0].data, before.data) < 1e-6)
    }

    @Test("constant operands of Sub/Div/Mul/Add are integer codes: Add/Sub at the output's exponent, Mul/Div at their own")
    func constantOperands() throws {
        let plan = try Self.plan("bn_norm", .esp32p4)
        for n in plan.graph.nodes where n.op.rule.constantOperand != .none {
            #expect(plan.precision(of: n) == .int8, "\(n.name)")
            let c = try #require(plan.parameters[n.inputs[1]], "\(n.name): the constant has no codes")
            if n.op == .add || n.op == .sub { #expect(c.exponents == [plan.formats[n.outputs[0]]!.exponent], "\(n.name)") }
        }
    }

    @Test("a model whose input size is open says how to give it; with --input-shape it runs")
    func openInputSize() throws {
        #expect(throws: AutoMixError.self) { try Graph.prepared(onnx: Self.path("open_size_cls")) }
        do { _ = try Graph.prepared(onnx: Self.path("open_size_cls")) } catch let e as AutoMixError {
            #expect(e.description.contains("--input-shape") && e.description.contains("[N,1,?,?]"))
        }
        #expect(throws: AutoMixError.self) { try Graph.prepared(onnx: Self.path("open_size_cls"), inputShape: [1, 3, 28, 28]) }
        #expect(try Self.graph("open_size_cls").inputs[0].shape == [-1, 1, 28, 28])
    }

    @Test("ops before the first layer follow it: a first layer in float gets a float input normalisation")
    func inputOpsFollowTheFirstLayer() throws {
        let graph = try Self.graph("open_size_cls")
        let first = try #require(Quantizer.layers(of: graph).first)
        let plan = try Self.plan("open_size_cls", .esp32p4, layers: [first.name: .float])
        for n in plan.graph.nodes where n.op == .mul || n.op == .add {
            if n.inputs.contains(graph.inputs[0].name) || n.outputs.contains(first.inputs[0]) { #expect(plan.precision(of: n) == .float, "\(n.name)") }
        }
    }
}

/// ESP-PPQ 1.3.12's own exports of the coverage classifiers (Scripts/make_ppq_coverage.py): AutoMix reads them and
/// reproduces their test values, and given their exponents writes the same graph.
@Suite(.serialized) struct ESPPPQCoverageTests {
    static let directory = Fixtures.root.appendingPathComponent("esp-ppq-coverage")
    static let exports = ["fire_resnet", "mbv3_se", "bn_norm", "subpixel", "deconv", "upsample"].flatMap { m in
        [("esp32p4", 8), ("esp32s3", 8), ("esp32p4", 16)].map { (m, Target(rawValue: $0.0)!, $0.1) }
    }
    static func path(_ m: String, _ t: Target, _ bits: Int) -> String { directory.appendingPathComponent("\(m)_\(t.rawValue)_int\(bits).espdl").path }

    @Test("automix run reproduces ESP-PPQ's embedded test values (Swish, HardSwish, HardSigmoid, LUT, depthwise BN, constants)",
          arguments: exports)
    func reproducesTestValues(_ m: String, _ t: Target, _ bits: Int) throws {
        let file = try ESPDLModel.load(Self.path(m, t, bits))
        #expect(file.model.target == t)
        #expect(try file.checkTestValues(arithmetic: .espPPQ).passes)
    }

    @Test("given ESP-PPQ's exponents, AutoMix writes ESP-PPQ's graph: ops, attributes, initializer bytes, LUTs, int8 test outputs",
          arguments: exports.filter { $0.0 != "bn_norm" })
    func sameGraph(_ m: String, _ t: Target, _ bits: Int) throws {
        let theirs = try ESPDLFile.read(Self.path(m, t, bits))
        let graph = try Graph.prepared(onnx: CoverageModelTests.path(m))
        let config = QuantizationConfig(target: t, bits: bits)
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)),
                                              on: QuantizationTests.calib)
        let plan = try Quantizer(graph: graph, config: config, calibration: calibration,
                                 imposed: try ESPDLModel.load(Self.path(m, t, bits)).model).build()
        let ours = try ESPDLExporter(model: plan).export(testInput: QuantizationTests.calib.batch(0..<1))
        #expect(ours.nodes.map(\.opType) == theirs.nodes.map(\.opType))
        for (x, y) in zip(ours.nodes, theirs.nodes) {
            #expect(x.attributes.filter { $0.key != "lut" } == y.attributes.filter { $0.key != "lut" }, "\(x.name)")
            var pairs = zip(x.inputs, y.inputs).compactMap { u, v in ours.initializers[u].map { ($0, theirs.initializers[v]) } }
            if case let .string(l)? = x.attributes["lut"], case let .string(r)? = y.attributes["lut"] { pairs.append((ours.initializers[l]!, theirs.initializers[r])) }
            for (a, b) in pairs {
                guard let b else { Issue.record("\(x.name): \(a.name) is an initializer only in AutoMix's file"); continue }
                #expect(a.dataType == b.dataType && a.dims == b.dims && a.exponents == b.exponents && a.ints == b.ints && a.floats == b.floats,
                        "\(x.name): \(a.name)")
            }
        }
        #expect(ours.testInputs.map(\.ints) == theirs.testInputs.map(\.ints))
        if bits == 8 { #expect(ours.testOutputs.map(\.ints) == theirs.testOutputs.map(\.ints)) }
    }
}

extension CoverageModelTests {
    @Test("DepthToSpace/SpaceToDepth where ESP-DL's kernel orders channels unlike ONNX are refused at export, naming the node")
    func subpixelMismatchRefused() throws {
        let plan = try Self.plan("subpixel", .esp32p4)
        // the CRD block has 4 output channels for a block size of 2: in DCR mode ESP-DL's kernel would misplace them
        var dcr = plan
        let i = try #require(dcr.graph.nodes.firstIndex { $0.op == .depthToSpace && $0.string("mode", default: "") == "CRD" })
        dcr.graph.nodes[i].attributes["mode"] = .string("DCR")
        #expect { _ = try ESPDLExporter(model: dcr).export() } throws: {
            "\($0)".contains("'\(dcr.graph.nodes[i].name)' (DepthToSpace)") && "\($0)".contains("mode CRD")
        }
        // SpaceToDepth agrees with ESP-DL's channel order for one input channel only
        var s2d = plan
        let j = try #require(s2d.graph.nodes.firstIndex { $0.op == .spaceToDepth })
        s2d.graph.shapes[s2d.graph.nodes[j].inputs[0]] = [1, 3, 28, 28]
        #expect { _ = try ESPDLExporter(model: s2d).export() } throws: { "\($0)".contains("(SpaceToDepth)") }
    }

    @Test("a Resize after a float layer runs at int16 (ESP-DL has no float Resize): the plan exports and reads back exactly")
    func resizeAfterFloatLayer() throws {
        let graph = try Self.graph("upsample")
        let resize = try #require(graph.nodes.first { $0.op == .resize })
        let before = try #require(graph.nodes.first { $0.outputs.contains(resize.inputs[0]) || $0.op == .conv && graph.consumers()[$0.outputs[0]]?.contains(where: { graph.nodes[$0].outputs.contains(resize.inputs[0]) }) == true })
        let plan = try Self.plan("upsample", .esp32p4, layers: [before.name: .float])
        #expect(plan.precision(of: resize) == .int16)
        let dir = Fixtures.temporaryDirectory()
        _ = try ModelWriters.write(plan, formats: [.espdl], directory: dir.path, name: "m")
        #expect(try ESPDLModel.load(dir.appendingPathComponent("m.espdl").path).checkTestValues(arithmetic: .exact).maxAbsDiff == 0)
    }

    @Test("a final config records the input size it was searched with, and reading it back gives the same graph")
    func finalConfigRecordsInputShape() throws {
        var config = QuantizationConfig(target: .esp32p4)
        config.inputShape = [1, 1, 28, 28]
        let dir = Fixtures.temporaryDirectory()
        let path = dir.appendingPathComponent("final.json")
        try SearchOutputs.finalConfig(config, extra: ["model": Self.path("open_size_cls")]).write(to: path)
        #expect(try String(contentsOf: path, encoding: .utf8).contains("\"input_shape\""))
        let back = try SearchOutputs.readConfig(path.path)
        #expect(back.inputShape == [1, 1, 28, 28])
        let graph = try Graph.prepared(onnx: Self.path("open_size_cls"), inputShape: back.inputShape)
        #expect(graph.inputs[0].shape == (try Self.graph("open_size_cls")).inputs[0].shape)
    }
}
