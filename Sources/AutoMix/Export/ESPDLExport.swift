import Foundation
import Kernels

/// Turns the plan's `QuantizedModel` into the graph ESP-DL loads, as ESP-PPQ 1.3.12's exporter does
/// (shared/specs/espdl-format-and-quantization.md §1.4–§1.7, §2.3–§2.4): feature maps NHWC from the first
/// conv-like op on, a Transpose back to NCHW before ops that need the original layout, packed filters,
/// int32/int64 bias, scale/zero-point inputs on the quant nodes, lookup tables for activation ops, `quant_type`
/// and `activation` on every node, and test values from the integer executor. The result is the same plain
/// `ESPDLFile` the reader produces, so the `.espdl`, the deploy ONNX and the `.info` are three views of one value.
public struct ESPDLExporter {
    public let model: QuantizedModel
    public var name: String

    public init(model: QuantizedModel, name: String? = nil) {
        self.model = model
        self.name = name ?? model.graph.name
    }

    /// Metadata naming the writer: AutoMix's test values are the chip's exact integer results, ESP-PPQ's come
    /// from its float32 simulation, so a checker picks the arithmetic by it.
    public static let producerKey = "producer"
    /// ESP-PPQ's metadata key for the chip the file was made for (`esp32p4`, `esp32s3`, `c`).
    public static let targetKey = "target"

    /// Refuses, before anything is written, every node ESP-DL cannot run or AutoMix cannot yet write in its precision.
    public func check() throws {
        var problems: [(op: String, node: String)] = []
        for n in model.graph.nodes {
            let p = model.precision(of: n), rule = n.op.rule
            let unsupported = !rule.onDevice || !rule.precisions.contains(p)
            if unsupported && !problems.contains(where: { $0.op == n.op.rawValue }) { problems.append((n.op.rawValue, n.name)) }
            if let why = n.op.deviceMismatch(n, inputShape: model.graph.shapes[n.inputs[0]] ?? [], constant: model.graph.constant) {
                throw AutoMixError.invalidNode(node: n.name, op: n.op.rawValue, reason: "cannot be exported to ESP-DL: \(why)")
            }
        }
        guard problems.isEmpty else {
            let list = problems.map { "\($0.op) (node '\($0.node)')" }.joined(separator: ", ")
            throw AutoMixError.invalidArgument("cannot export to ESP-DL: unsupported op\(problems.count > 1 ? "s" : "") \(list)")
        }
    }

    /// The device graph with test values computed by the integer executor on `testInput` (NCHW real values; of a batch,
    /// the first image); without one, a fixed pseudo-random normal input as ESP-PPQ uses.
    public func export(testInput: Tensor? = nil) throws -> ESPDLFile {
        let file = try deviceGraph(testInput: testInput)
        try verifyReadBack(file)
        return file
    }

    /// The device graph, not yet checked by reading it back.
    func deviceGraph(testInput: Tensor?) throws -> ESPDLFile {
        try check()
        let g = model.graph
        var builder = DeviceGraphBuilder(model: model)
        for n in g.nodes { try builder.add(n) }
        let nodes = builder.ordered()
        var valueInfo: [String: ESPDLFile.ValueInfo] = [:]
        for v in g.inputs.map(\.name) + nodes.flatMap(\.outputs) { valueInfo[v] = builder.info(v) }

        // test values: the integer executor on one input, stored in the device layout
        let input = g.inputs[0]
        var x = testInput ?? Self.normalInput(shape: builder.shape(input.name))
        if x.shape.first != 1 { x = Tensor(shape: [1] + Array(x.shape.dropFirst()), data: Array(x.data.prefix(x.count / max(x.shape.first ?? 1, 1)))) }
        let inputCodes = builder.format(input.name).map { QuantExecutor.quantize(x, $0, model.target.rounding) } ?? x
        let outputs = try QuantExecutor(model: model).runCodes(inputCodes)
        return ESPDLFile(
            path: "", irVersion: 8, graphName: name, metadata: [Self.producerKey: "automix", Self.targetKey: model.target.rawValue],
            nodes: nodes, initializers: builder.initializers,
            initializerOrder: builder.lutOrder + builder.paramOrder + builder.otherOrder,
            inputs: g.inputs.map { builder.info($0.name) }, outputs: g.outputs.map { builder.info($0.name) }, valueInfo: valueInfo,
            testInputs: [builder.testValue(input.name, inputCodes)],
            testOutputs: zip(g.outputs, outputs).map { builder.testValue($0.name, $1) })
    }

    /// ESP-PPQ's node order: a topological sort in waves (every node whose inputs are all available, then the
    /// next wave), within a wave the graph's own ops first in model order, then the ops the exporter inserted
    /// (layout Transposes, then format conversions) in the order they were made.
    static func waveOrder(_ nodes: [ESPDLFile.Node], available: Set<String>, rank: [String: Int]) -> [ESPDLFile.Node] {
        var ready = available
        var left = nodes.enumerated().map { ($0.offset, $0.element) }
        var order: [ESPDLFile.Node] = []
        while !left.isEmpty {
            let wave = left.filter { $0.1.inputs.allSatisfy { $0.isEmpty || ready.contains($0) } }
            guard !wave.isEmpty else { return order + left.map(\.1) }   // a cycle cannot come from a valid graph
            let done = Set(wave.map(\.0))
            order += wave.sorted { (rank[$0.1.name] ?? $0.0, $0.0) < (rank[$1.1.name] ?? $1.0, $1.0) }.map(\.1)
            for (_, n) in wave { ready.formUnion(n.outputs) }
            left.removeAll { done.contains($0.0) }
        }
        return order
    }

    /// ONNX `[N,C,KH,KW]` (Conv) or `[N,K]` (Gemm, transB = 1) codes in ESP-DL's packed layout (§1.5).
    static func packedWeight(_ name: String, _ w: QuantizedParameter, node: Node, target: Target) -> ESPDLFile.TensorData {
        let depthwise = node.op == .conv && node.int("group", default: 1) > 1
        let (n, c) = (w.shape[0], w.shape[1])
        let (kH, kW) = w.shape.count == 4 ? (w.shape[2], w.shape[3]) : (1, 1)
        let a = WeightLayout.blockSize(bits: w.bits)
        let layout = !target.packsFilters ? (depthwise ? "HWCN" : "NHWC") : "(N/\(a))HWC\(a)" + (n % a == 0 ? "" : "_UNALIGNED")
        return .init(name: name, dataType: w.bits == 16 ? .int16 : .int8,
                     dims: depthwise ? [kH, kW, n, c] : [kH, kW, c, n], exponents: w.exponents,
                     ints: WeightLayout.pack(w.codes, n: n, c: c, kH: kH, kW: kW, depthwise: depthwise, bits: w.bits,
                                             blocks: target.packsFilters),
                     floats: [], doc: "layout ==> \(layout)")
    }

    /// A float layer's weight: the same dims as an integer one, elements in plain NHWC order (no blocks).
    static func packedFloatWeight(_ name: String, _ w: Tensor, node: Node) -> ESPDLFile.TensorData {
        let depthwise = node.op == .conv && node.int("group", default: 1) > 1
        let (n, c) = (w.shape[0], w.shape[1])
        let (kH, kW) = w.shape.count == 4 ? (w.shape[2], w.shape[3]) : (1, 1)
        let index = WeightLayout.packedIndex(n: n, c: c, kH: kH, kW: kW, depthwise: depthwise, bits: 32)
        var data = [Float](repeating: 0, count: w.count)
        for (i, p) in index.enumerated() { data[p] = w.data[i] }
        return .init(name: name, dataType: .float, dims: depthwise ? [kH, kW, n, c] : [kH, kW, c, n], exponents: [0],
                     ints: [], floats: data, doc: "layout ==> NHWC")
    }

    /// ESP-PPQ's default test input is `torch.randn`; this is a fixed Box–Muller normal draw.
    static func normalInput(shape: [Int]) -> Tensor {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, data: (0..<count).map { _ in Float((-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform())) })
    }
}
