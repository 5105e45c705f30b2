import Foundation
import Testing
@testable import AutoMix

/// The float-graph passes before calibration: equalization, ReLU6 as Relu, layer split, bias correction, and
/// their reproduction from a config by `export`.
@Suite(.serialized) struct PreparationTests {
    static func outputs(_ graph: Graph, _ x: Tensor) throws -> [Float] { try FloatExecutor(graph: graph).run(x)[0].data }

    @Test("equalization without the ReLU6 swap leaves the float outputs unchanged (1e-4), and lowers the weight error of every pair it keeps",
          arguments: [("fmnist_mbv2s", 1, 10, Target.esp32s3), ("fmnist_mbv2s", 2, 10, .esp32p4), ("mobilenetv2_imagenet", 2, 2, .esp32s3)])
    func equalizationIsReparametrisation(_ model: String, _ level: Int, _ iterations: Int, _ target: Target) throws {
        let graph = try Graph.prepared(onnx: Fixtures.model(model))
        let (equalized, report) = try Equalization.apply(graph, settings: .init(level: level, iterations: iterations),
                                                         config: QuantizationConfig(target: target))
        #expect(report.kept > 0, "no pair equalized: the test would not show anything")
        for p in report.pairs where p.kept { #expect(p.errorAfter < p.errorBefore, "\(p.upstream) → \(p.downstream)") }
        let shape = [2] + graph.inputs[0].shape.dropFirst()
        let x = fixedInput(shape)
        let before = try Self.outputs(graph, x), after = try Self.outputs(equalized, x)
        #expect(maxAbsDiff(before, after) < 1e-4)
        // and the weights really changed
        let changed = Quantizer.layers(of: graph).filter { graph.constant($0.inputs[1]) != equalized.constant($0.inputs[1]) }
        #expect(!changed.isEmpty)
    }

    @Test("ReLU6 as Relu lets equalization cross MobileNetV2's activations and changes the float model")
    func relu6Swap() throws {
        let graph = try Graph.prepared(onnx: Fixtures.model("mobilenetv2_imagenet"))
        let config = QuantizationConfig(target: .esp32s3)
        let plain = try GraphPreparation(equalization: .init(iterations: 1)).apply(to: graph, config: config, batches: [])
        let swapped = try GraphPreparation(relu6AsRelu: true, equalization: .init(iterations: 1)).apply(to: graph, config: config, batches: [])
        #expect(swapped.equalization!.pairs.count > plain.equalization!.pairs.count + 10)
        #expect(!swapped.graph.nodes.contains { $0.op == .clip })
        let x = fixedInput([1, 3, 224, 224])
        #expect(maxAbsDiff(try Self.outputs(graph, x), try Self.outputs(swapped.graph, x)) > 1e-3)
    }

    @Test("a balanced layer split keeps the float outputs, adds a layer and an Add, and narrows the split weights")
    func layerSplit() throws {
        let graph = try Graph.prepared(onnx: Fixtures.model("fmnist_cnn"))
        let layer = Quantizer.layers(of: graph)[0]
        let w = graph.constant(layer.inputs[1])!.floatTensor
        let threshold = (w.data.map(abs).max() ?? 0) / 2
        let (split, counts) = try LayerSplit.apply(graph, settings: .init(layers: [layer.name], threshold: threshold))
        #expect((counts[layer.name] ?? 0) > 0)
        #expect(Quantizer.layers(of: split).count == Quantizer.layers(of: graph).count + 1)
        #expect(split.nodes.contains { $0.name == layer.name + "::split_add" && $0.op == .add })
        #expect((split.constant(layer.inputs[1])!.floatTensor.data.map(abs).max() ?? 0) < (w.data.map(abs).max() ?? 0))
        let x = fixedInput([2, 1, 28, 28])
        #expect(maxAbsDiff(try Self.outputs(graph, x), try Self.outputs(split, x)) < 1e-4)
        #expect(throws: AutoMixError.self) { try LayerSplit.apply(graph, settings: .init(layers: ["no such layer"])) }
    }

    @Test("bias correction: each layer's mean output with quantized weights equals the float layer's again (padding included)")
    func biasCorrection() throws {
        let graph = try Graph.prepared(onnx: Fixtures.model("fmnist_mbv2s"))
        let config = QuantizationConfig(target: .esp32s3)
        let batch = QuantizationTests.calib.batch(0..<32)
        let corrected = try BiasCorrection(graph: graph, batches: [batch]).apply(config).0
        let quantizedWeights = try Quantizer.weightQuantizedGraph(graph, config: config)
        let layers = Quantizer.layers(of: graph)
        let picked = [layers[0], layers.first { $0.int("group", default: 1) > 1 }!, layers[layers.count / 2], layers.last!]
        func channelMeans(_ g: Graph, _ value: String) throws -> [Double] {
            let box = ValueBox()
            _ = try FloatExecutor(graph: g, fuseActivations: false).run(batch, split: false) { name, t in if name == value { box.value = t } }
            let t = try #require(box.value)
            let channels = t.shape[1], inner = t.count / t.shape[0] / channels
            var m = [Double](repeating: 0, count: channels)
            for i in t.data.indices { m[(i / inner) % channels] += Double(t.data[i]) / Double(t.shape[0] * inner) }
            return m
        }
        for n in picked {
            // only this layer quantized, so its input is the float model's
            var plain = graph, fixed = graph
            plain.constants[n.inputs[1]] = quantizedWeights.constants[n.inputs[1]]
            fixed.constants[n.inputs[1]] = quantizedWeights.constants[n.inputs[1]]
            let biasName = corrected.nodes.first { $0.name == n.name }!.inputs[2]
            fixed.constants[biasName] = corrected.constants[biasName]
            if n.inputs.count < 3 { fixed.nodes[fixed.nodes.firstIndex { $0.name == n.name }!].inputs.append(biasName) }
            let reference = try channelMeans(graph, n.outputs[0])
            let before = zip(try channelMeans(plain, n.outputs[0]), reference).map { abs($0 - $1) }.max()!
            let after = zip(try channelMeans(fixed, n.outputs[0]), reference).map { abs($0 - $1) }.max()!
            #expect(after < 1e-4 + before * 0.01, "\(n.name): largest channel mean shift \(before) → \(after)")
            #expect(before > 1e-4, "\(n.name): weight quantization shifted no mean; the test shows nothing")
        }
    }

    @Test("export --config reproduces the passes a config records: the same .espdl as the flags that made it")
    func exportReproduces() throws {
        let dir = Fixtures.temporaryDirectory()
        let common = ["export", "--model", Fixtures.model("fmnist_mbv2s"), "--calib", Fixtures.fashion + "/calib", "--calib-limit", "64"]
        let flags = try runCLI(common + ["--target", "esp32s3", "--equalization", "--bias-correction", "--results", dir.appendingPathComponent("a").path])
        #expect(flags.status == 0, "\(flags.err)")
        #expect(flags.out.contains("equalization:") && flags.out.contains("bias correction:"))
        let config = QuantizationConfig(target: .esp32s3, preparation: GraphPreparation(equalization: .init(), biasCorrection: true))
        let configPath = dir.appendingPathComponent("config.json")
        try SearchOutputs.finalConfig(config, extra: [:]).write(to: configPath)
        #expect(try SearchOutputs.readConfig(configPath.path) == config)
        let fromConfig = try runCLI(common + ["--config", configPath.path, "--results", dir.appendingPathComponent("b").path])
        #expect(fromConfig.status == 0, "\(fromConfig.err)")
        let a = try Data(contentsOf: dir.appendingPathComponent("a/fmnist_mbv2s.espdl"))
        let b = try Data(contentsOf: dir.appendingPathComponent("b/fmnist_mbv2s.espdl"))
        #expect(a == b)
        let plain = try runCLI(common + ["--target", "esp32s3", "--results", dir.appendingPathComponent("c").path])
        #expect(plain.status == 0)
        #expect(try Data(contentsOf: dir.appendingPathComponent("c/fmnist_mbv2s.espdl")) != a)
    }
}

final class ValueBox: @unchecked Sendable { var value: Tensor? }
