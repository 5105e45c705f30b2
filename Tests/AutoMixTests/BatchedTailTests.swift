import Foundation
import Testing
@testable import AutoMix

/// The executors run a network's head image by image and its small tail on all of a worker's images at once
/// (`BatchedTail`), with the tail's 1×1 Convs folding the images into one product (`FoldedImages`): a batch gives
/// the outputs of its images run one at a time, bit for bit, in float and in exact integers.
@Suite struct BatchedTailTests {
    /// 32×96×96 after the first Conv (large: the head), then 24×24 planes and smaller (the tail): a 3×3 Conv, a 1×1
    /// Conv on a 576-column plane (not folded), a depthwise, folded 1×1 Convs on 12×12, a residual Add, a global
    /// pool and the classifier.
    static func graph() throws -> Graph {
        var constants: [String: ConstantValue] = [:]
        var nodes: [Node] = []
        var scale: Float = 0.5
        func conv(_ name: String, _ x: String, cin: Int, cout: Int, k: Int, stride: Int, group: Int = 1, relu: Bool = true) -> String {
            constants[name + ".w"] = .float(Tensor(shape: [cout, cin / group, k, k], data: fixedInput([cout * cin / group * k * k]).data.map { $0 * scale }))
            constants[name + ".b"] = .float(Tensor(shape: [cout], data: fixedInput([cout]).data.map { $0 * 0.1 }))
            scale = scale == 0.5 ? 0.25 : 0.5
            nodes.append(Node(name: name, op: .conv, inputs: [x, name + ".w", name + ".b"], outputs: [name + ".y"],
                              attributes: ["kernel_shape": .ints([k, k]), "strides": .ints([stride, stride]), "group": .int(group),
                                           "pads": .ints(Array(repeating: k / 2, count: 4))]))
            guard relu else { return name + ".y" }
            nodes.append(Node(name: name + ".relu", op: .relu, inputs: [name + ".y"], outputs: [name + ".r"]))
            return name + ".r"
        }
        var h = conv("c0", "x", cin: 3, cout: 32, k: 3, stride: 1)
        h = conv("c1", h, cin: 32, cout: 32, k: 3, stride: 2, group: 32)
        h = conv("c2", h, cin: 32, cout: 64, k: 3, stride: 2)
        h = conv("c3", h, cin: 64, cout: 96, k: 1, stride: 1)
        h = conv("c4", h, cin: 96, cout: 96, k: 3, stride: 2, group: 96)
        h = conv("c5", h, cin: 96, cout: 128, k: 1, stride: 1, relu: false)
        let branch = conv("c6", h, cin: 128, cout: 128, k: 1, stride: 1, relu: false)
        nodes.append(Node(name: "add", op: .add, inputs: [h, branch], outputs: ["sum"]))
        nodes.append(Node(name: "pool", op: .globalAveragePool, inputs: ["sum"], outputs: ["pooled"]))
        nodes.append(Node(name: "flat", op: .flatten, inputs: ["pooled"], outputs: ["flat"]))
        constants["fc.w"] = .float(Tensor(shape: [10, 128], data: fixedInput([1280]).data.map { $0 * 0.2 }))
        constants["fc.b"] = .float(Tensor(shape: [10], data: fixedInput([10]).data))
        nodes.append(Node(name: "fc", op: .gemm, inputs: ["flat", "fc.w", "fc.b"], outputs: ["logits"], attributes: ["transB": .int(1)]))
        var g = Graph(name: "tail", nodes: nodes, inputs: [ValueInfo(name: "x", shape: [-1, 3, 96, 96])],
                      outputs: [ValueInfo(name: "logits", shape: [-1, 10])], constants: constants, opset: 13)
        try g.inferShapes()
        return try g.rewritten()
    }

    /// Positions whose bits differ (a count, so a failure does not print two long arrays).
    func differing(_ a: [Float], _ b: [Float]) -> Int {
        a.count == b.count ? zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count : max(a.count, b.count)
    }

    static func images(_ n: Int) -> Tensor {
        Tensor(shape: [n, 3, 96, 96], data: fixedInput([n * 3 * 96 * 96]).data)
    }

    /// Each image alone (at most `chunkLimit` images, so no tail), the outputs side by side.
    static func oneByOne(_ batch: Tensor, _ run: (Tensor) throws -> [Tensor]) throws -> [Float] {
        try (0..<batch.shape[0]).flatMap { try run(batch.images($0..<($0 + 1)))[0].data }
    }

    @Test("float: a batch past chunkLimit runs the head image by image and the tail batched, the same values as image by image")
    func float() throws {
        let executor = try FloatExecutor(graph: try Self.graph())
        let tail = try #require(executor.tail)
        #expect(executor.program.steps[tail.start].node.name == "c3", "the tail starts where every value read or made is small")
        let batch = Self.images(2 * executor.chunkLimit + 3)
        // the last value before the classifier, bit for bit: its 12×12 planes fill whole 48-column tiles either way
        // (`FoldedImages`); the classifier's sgemm sums in an order that depends on its rows
        let sums = Box<[String: [Float]]>([:])
        func observe(_ key: String) -> (String, Tensor) -> Void {
            { name, t in if name == "sum" { sums.value[key, default: []] += t.data } }
        }
        let together = try executor.runChunk(batch, observe: observe("batch"))[0]
        var alone: [Float] = []
        for i in 0..<batch.shape[0] { alone += try executor.runChunk(batch.images(i..<(i + 1)), observe: observe("alone"))[0].data }
        #expect(differing(sums.value["batch"]!, sums.value["alone"]!) == 0)
        #expect(together.shape == [batch.shape[0], 10])
        #expect(maxAbsDiff(together.data, alone) < 1e-5)
        // and the workers' pieces put back in order
        #expect(maxAbsDiff(try executor.run(batch)[0].data, alone) < 1e-5)
    }

    @Test("layerwise analysis: each layer re-run over several traces, batched from the tail on, gives the one-trace values")
    func layerwise() throws {
        let graph = try Self.graph()
        let config = QuantizationConfig(target: .esp32p4)
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)),
                                              batches: [Self.images(4)])
        let model = try Quantizer(graph: graph, config: config, calibration: calibration).build()
        let traced = try FloatExecutor(graph: graph).chunkLimit
        let batches = [Self.images(2 * traced + 3)]
        // one trace per sub-batch (the plain re-run) against three traces in one sub-batch (the batched tail)
        let alone = try Sensitivity.layerwise(float: graph, quantized: model, batches: batches, subBatch: 1)
        let together = try Sensitivity.layerwise(float: graph, quantized: model, batches: batches, subBatch: 16)
        #expect(alone.count == 8 && Set(alone.keys) == Set(together.keys))
        // the ratios are about 1e-8 here, so the classifier's sgemm, which sums 3 or 17 rows in different orders,
        // moves them by about 1e-4 relative; an image paired with another's reference would give about 1
        // and the calibration batches' boundaries do not matter: rounds take images across them, in order
        let split = try Sensitivity.layerwise(float: graph, quantized: model,
                                              batches: [batches[0].images(0..<3), batches[0].images(3..<(2 * traced + 3))], subBatch: 16)
        for (layer, value) in alone {
            #expect(value > 0 && abs(together[layer]! - value) <= 1e-3 * value, "\(layer): \(value) alone, \(together[layer]!) together")
            #expect(abs(split[layer]! - value) <= 1e-3 * value, "\(layer): \(value) alone, \(split[layer]!) from split batches")
        }
        let rounds = Sensitivity.imageRounds([Self.images(3), Self.images(5), Self.images(4)], 5)
        #expect(rounds.map { $0.shape[0] } == [5, 5, 2])
        #expect(rounds[1].data == Array(Self.images(5).images(2..<5).data + Self.images(4).images(0..<2).data))
        // images of another size never share a round
        let small = Tensor(shape: [2, 3, 8, 8], data: [Float](repeating: 1, count: 2 * 3 * 64))
        #expect(Sensitivity.imageRounds([Self.images(3), small, Self.images(1)], 5).map(\.shape) == [[3, 3, 96, 96], [2, 3, 8, 8], [1, 3, 96, 96]])
    }

    @Test("exact int8 and int16: a batch gives the codes of its images run one at a time")
    func integer() throws {
        let graph = try Self.graph()
        for bits in [8, 16] {
            let config = QuantizationConfig(target: .esp32p4, bits: bits)
            let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)),
                                                  batches: [Self.images(4)])
            let executor = try QuantExecutor(model: try Quantizer(graph: graph, config: config, calibration: calibration).build())
            #expect(executor.tail != nil)
            let batch = Self.images(2 * executor.chunkLimit + 3)
            let together = try executor.run(batch)[0]
            #expect(differing(together.data, try Self.oneByOne(batch) { try executor.run($0) }) == 0, "int\(bits)")
        }
    }
}
