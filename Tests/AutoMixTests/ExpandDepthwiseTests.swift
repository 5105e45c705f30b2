import Foundation
import Testing
@testable import AutoMix

/// An int8 Conv and the depthwise Conv that alone reads it run as one step, panel by panel (`ExpandDepthwise`): the
/// same codes as the two steps apart, and ESP-PPQ's embedded test values with every such pair fused.
@Suite struct ExpandDepthwiseTests {
    /// Odd sizes the panels do not divide: a 3×3 Conv (im2col) 3 → 21 channels with a Clip, a stride-2 depthwise on a
    /// 23×23 plane with a Relu; a 1×1 Conv 21 → 19 with a Relu, a stride-1 depthwise; a global pool.
    static func graph() throws -> Graph {
        var constants: [String: ConstantValue] = [:]
        var nodes: [Node] = []
        func conv(_ name: String, _ x: String, cin: Int, cout: Int, k: Int, stride: Int, group: Int = 1, pad: Int) -> String {
            let count = cout * cin / group * k * k
            constants[name + ".w"] = .float(Tensor(shape: [cout, cin / group, k, k], data: fixedInput([count]).data.map { $0 * 0.4 }))
            constants[name + ".b"] = .float(Tensor(shape: [cout], data: fixedInput([cout]).data.map { $0 * 0.1 }))
            nodes.append(Node(name: name, op: .conv, inputs: [x, name + ".w", name + ".b"], outputs: [name + ".y"],
                              attributes: ["kernel_shape": .ints([k, k]), "strides": .ints([stride, stride]), "group": .int(group),
                                           "pads": .ints(Array(repeating: pad, count: 4))]))
            return name + ".y"
        }
        constants["lo"] = .float(Tensor(shape: [], data: [0]))
        constants["hi"] = .float(Tensor(shape: [], data: [6]))
        var h = conv("expand3x3", "x", cin: 3, cout: 21, k: 3, stride: 1, pad: 1)
        nodes.append(Node(name: "clip", op: .clip, inputs: [h, "lo", "hi"], outputs: ["clipped"]))
        h = conv("depthwise2", "clipped", cin: 21, cout: 21, k: 3, stride: 2, group: 21, pad: 1)
        // a Relu before the 1×1 Conv: its codes are 0…127, so AVX2's int8 kernel streams through its byte path
        nodes.append(Node(name: "relu2", op: .relu, inputs: [h], outputs: ["r2"]))
        h = conv("expand1x1", "r2", cin: 21, cout: 19, k: 1, stride: 1, pad: 0)
        nodes.append(Node(name: "relu", op: .relu, inputs: [h], outputs: ["r"]))
        h = conv("depthwise1", "r", cin: 19, cout: 19, k: 3, stride: 1, group: 19, pad: 1)
        nodes.append(Node(name: "pool", op: .globalAveragePool, inputs: [h], outputs: ["pooled"]))
        var g = Graph(name: "expand_depthwise", nodes: nodes, inputs: [ValueInfo(name: "x", shape: [-1, 3, 23, 23])],
                      outputs: [ValueInfo(name: "pooled", shape: [-1, 19, 1, 1])], constants: constants, opset: 13)
        try g.inferShapes()
        return try g.rewritten()
    }

    static func images(_ n: Int) -> Tensor { Tensor(shape: [n, 3, 23, 23], data: fixedInput([n * 3 * 23 * 23]).data.map { $0 * 3 }) }

    static func fusedSteps(_ e: QuantExecutor) -> Int {
        e.fastSteps.filter { if case .expandDepthwise = $0.kernel { true } else { false } }.count
    }

    @Test("fused and apart give the same codes, bit for bit: int8 and int16, both chips' roundings, every integer kernel",
          arguments: [(Target.esp32p4, 8), (.esp32s3, 8), (.esp32p4, 16), (.esp32s3, 16)], ESPDLTests.backends)
    func sameCodes(_ format: (target: Target, bits: Int), _ gemm: GemmBackend) throws {
        let graph = try Self.graph()
        let config = QuantizationConfig(target: format.target, bits: format.bits)
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)),
                                              batches: [Self.images(4)])
        let model = try Quantizer(graph: graph, config: config, calibration: calibration).build()
        let fused = try QuantExecutor(model: model, gemm: gemm, fusedFromBytes: 0)
        let apart = try QuantExecutor(model: model, gemm: gemm, fusedFromBytes: .max)
        // the integer kernels stream their panels; the float-held sums (OpenBLAS) do not, and nothing is fused
        #expect(Self.fusedSteps(fused) == (IntegerKernel.of(gemm) == nil ? 0 : 2), "\(gemm) int\(format.bits)")
        #expect(Self.fusedSteps(apart) == 0)
        let x = Self.images(5)
        let (a, b) = (try fused.runCodes(x)[0], try apart.runCodes(x)[0])
        #expect(a.shape == b.shape && a.data.map(\.bitPattern) == b.data.map(\.bitPattern))
        // the codes vary (not all saturated or zero): the comparison can fail
        #expect(Set(b.data).count > 10)
    }

    static func model(_ graph: Graph) throws -> QuantizedModel {
        let config = QuantizationConfig(target: .esp32p4, bits: 8)
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)),
                                              batches: [Self.images(2)])
        return try Quantizer(graph: graph, config: config, calibration: calibration).build()
    }

    static func fusedNames(_ e: QuantExecutor) -> [String] {
        e.fastSteps.compactMap { if case .expandDepthwise = $0.kernel { $0.node.name } else { nil } }
    }

    @Test("a Conv whose output is a graph output is not fused; the other pair is")
    func soleReaderOnly() throws {
        guard IntegerKernel.of(.preferred) != nil else { return }
        var graph = try Self.graph()
        graph.outputs.append(ValueInfo(name: "clipped", shape: graph.shapes["clipped"] ?? []))
        #expect(Self.fusedNames(try QuantExecutor(model: try Self.model(graph), fusedFromBytes: 0)) == ["expand1x1 + depthwise1"])
    }

    @Test("only pairs whose middle value per image reaches the threshold are fused")
    func threshold() throws {
        guard IntegerKernel.of(.preferred) != nil else { return }
        let model = try Self.model(try Self.graph())
        // the middle values: 21 × 23 × 23 floats (44 436 bytes) and 19 × 12 × 12 (10 944 bytes)
        #expect(Self.fusedNames(try QuantExecutor(model: model, fusedFromBytes: 44_436)) == ["expand3x3 + depthwise2"])
        #expect(Self.fusedNames(try QuantExecutor(model: model, fusedFromBytes: 44_437)) == [])
        #expect(Self.fusedNames(try QuantExecutor(model: model, fusedFromBytes: 10_944)).count == 2)
    }
}
