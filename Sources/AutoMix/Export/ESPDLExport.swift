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

    /// Ops ESP-DL has a module for (`dl_module_creator.hpp`), within AutoMix's vocabulary.
    static let deviceOps: Set<OpKind> = [
        .conv, .gemm, .matMul, .add, .sub, .mul, .div, .relu, .clip, .leakyRelu, .pRelu, .sigmoid, .hardSigmoid,
        .hardSwish, .tanh, .softmax, .maxPool, .averagePool, .globalAveragePool, .flatten, .reshape, .transpose,
        .concat, .pad, .squeeze, .unsqueeze, .identity, .resize, .quantizeLinear, .dequantizeLinear, .requantizeLinear,
        .sqrt, .swish, .gelu, .elu, .exp, .lut, .split, .slice, .reduceMean, .insertZeros,
    ]
    static let convLike: Set<OpKind> = [.conv, .maxPool, .averagePool, .globalAveragePool]
    static let inheritsLayout: Set<OpKind> = [
        .add, .sub, .mul, .div, .relu, .clip, .leakyRelu, .sigmoid, .hardSigmoid, .hardSwish, .tanh, .identity,
        .sqrt, .swish, .gelu, .elu, .exp, .pRelu, .quantizeLinear, .dequantizeLinear, .requantizeLinear, .concat,
    ]
    static let lookupOps = ActivationTable.ops.subtracting([.lut])
    static let toNCHW = [0, 3, 1, 2]
    /// Metadata naming the writer: AutoMix's test values are the chip's exact integer results, ESP-PPQ's come
    /// from its float32 simulation, so a checker picks the arithmetic by it.
    public static let producerKey = "producer"
    /// ESP-PPQ's metadata key for the chip the file was made for (`esp32p4`, `esp32s3`, `c`).
    public static let targetKey = "target"

    /// Refuses, before anything is written, every node ESP-DL cannot run or AutoMix cannot yet export.
    public func check() throws {
        var problems: [(op: String, node: String)] = []
        for n in model.graph.nodes {
            let p = model.precision(of: n)
            let unsupported = !Self.deviceOps.contains(n.op)
                || (n.op == .matMul && p != .float)
                || (n.op == .pRelu && p != .float)
            if unsupported && !problems.contains(where: { $0.op == n.op.rawValue }) { problems.append((n.op.rawValue, n.name)) }
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
        let formats = model.formats
        var nhwc = Set<String>()
        var nodes: [ESPDLFile.Node] = []
        var initializers: [String: ESPDLFile.TensorData] = [:]
        var lutOrder: [String] = [], paramOrder: [String] = [], otherOrder: [String] = []
        var luts: [[Int64]: String] = [:]
        var valueShapes: [String: [Int]] = [:]
        var extraFormats: [String: QuantFormat] = [:]

        func shape(_ v: String) -> [Int] {
            var s = valueShapes[v] ?? g.shapes[v] ?? g.inputs.first { $0.name == v }?.shape ?? []
            if !s.isEmpty && s[0] < 0 { s[0] = 1 }
            return s
        }
        func format(_ v: String) -> QuantFormat? { formats[v] ?? extraFormats[v] }
        func dtype(_ q: QuantFormat?) -> ESPDLFile.DataType { q.map { $0.bits == 16 ? .int16 : .int8 } ?? .float }
        func quantType(_ p: Precision) -> String { p == .int8 ? "S8" : p == .int16 ? "S16" : "F32" }
        func addInitializer(_ t: ESPDLFile.TensorData, into order: inout [String]) {
            if initializers[t.name] == nil { order.append(t.name) }
            initializers[t.name] = t
        }
        var constantCount = 0
        func scalar(_ base: String, _ type: ESPDLFile.DataType, int: Int64 = 0, float: Float = 0, dims: [Int] = [], exponent: Int = 0) -> String {
            constantCount += 1
            let name = "\(base)::c\(constantCount)"
            addInitializer(.init(name: name, dataType: type, dims: dims, exponents: [exponent],
                                 ints: type == .float ? [] : [int], floats: type == .float ? [float] : [], doc: "layout ==> UNK"),
                           into: &otherOrder)
            return name
        }
        /// A Transpose on the device graph, made once per value: NHWC → NCHW before an op that needs the original
        /// layout, or NCHW → NHWC (an input after an in-graph normalisation, say) as ESP-PPQ inserts before a
        /// conv-like op.
        var transposed: [String: String] = [:]
        func transpose(_ v: String, toDevice: Bool, precision: Precision) -> String {
            if let t = transposed[v] { return t }
            let out = "\(v)::\(toDevice ? "nhwc" : "nchw")"
            nodes.append(.init(name: "Transpose::\(v)", opType: "Transpose", inputs: [v], outputs: [out],
                               attributes: ["perm": .ints(toDevice ? [0, 2, 3, 1] : Self.toNCHW), "quant_type": .string(quantType(precision))]))
            valueShapes[out] = g.shapes[v]
            if let q = format(v) { extraFormats[out] = q }
            if toDevice { nhwc.insert(out) }
            transposed[v] = out
            return out
        }
        func toOriginalLayout(_ v: String, precision: Precision) -> String { transpose(v, toDevice: false, precision: precision) }
        func toDeviceLayout(_ v: String, precision: Precision) -> String { transpose(v, toDevice: true, precision: precision) }

        for n in g.nodes {
            let precision = model.precision(of: n)
            var attributes = n.attributes
            attributes["quant_type"] = .string(quantType(precision))
            var inputs = n.inputs
            let dataInputs = inputs.indices.filter { !inputs[$0].isEmpty && g.constant(inputs[$0]) == nil }
            let anyNHWC = dataInputs.contains { nhwc.contains(inputs[$0]) }
            var outputNHWC = false

            if Self.convLike.contains(n.op) {
                for i in dataInputs where !nhwc.contains(inputs[i]) {
                    guard shape(inputs[i]).count == 4 else { throw ShapeInference.fail(n, "ESP-DL export handles 2-D feature maps only") }
                    if g.inputs.contains(where: { $0.name == inputs[i] }) { nhwc.insert(inputs[i]) } else {
                        inputs[i] = toDeviceLayout(inputs[i], precision: precision)
                    }
                }
                outputNHWC = true
            } else if Self.inheritsLayout.contains(n.op) {
                if anyNHWC {
                    // an NCHW operand beside a device-layout one goes to the device layout, as ESP-PPQ's BypassAddLikePattern does
                    for i in dataInputs where !nhwc.contains(inputs[i]) && shape(inputs[i]).count == 4 {
                        inputs[i] = toDeviceLayout(inputs[i], precision: precision)
                    }
                    for i in inputs.indices where !inputs[i].isEmpty && g.constant(inputs[i]) != nil && i != 0 && n.op != .clip {
                        if let c = g.constant(inputs[i]), c.shape.count == 4 {
                            throw ShapeInference.fail(n, "a 4-D constant operand would need the device layout; not supported")
                        }
                    }
                    if n.op == .concat {
                        let axis = n.int("axis", default: 1)
                        attributes["axis"] = .int(Self.toNCHW[(axis + 4) % 4])
                    }
                    outputNHWC = true
                }
            } else if n.op == .transpose && anyNHWC {
                let perm = n.ints("perm") ?? [0, 3, 2, 1]
                attributes["perm"] = .ints(perm.map { Self.toNCHW[$0] })
            } else if anyNHWC {
                for i in dataInputs where nhwc.contains(inputs[i]) { inputs[i] = toOriginalLayout(inputs[i], precision: precision) }
            }

            switch n.op {
            case .conv, .gemm:
                if precision != .float || model.parameters[inputs[1]] != nil {
                    guard let w = model.parameters[inputs[1]] else { throw ShapeInference.fail(n, "weight has no integer codes") }
                    addInitializer(Self.packedWeight(inputs[1], w, node: n, target: model.target), into: &paramOrder)
                    if inputs.count > 2, !inputs[2].isEmpty, let b = model.parameters[inputs[2]] {
                        addInitializer(.init(name: inputs[2], dataType: w.bits == 16 ? .int64 : .int32, dims: [b.codes.count],
                                             exponents: b.exponents, ints: b.codes, floats: [], doc: "layout ==> UNK"), into: &paramOrder)
                    }
                } else {
                    guard let w = g.constant(inputs[1])?.floatTensor else { throw ShapeInference.fail(n, "weight is not a constant") }
                    var wt = w
                    if n.op == .gemm && n.int("transB", default: 0) == 0 { wt = LayoutOps.transpose(w, perm: [1, 0]) }
                    addInitializer(Self.packedFloatWeight(inputs[1], wt, node: n), into: &paramOrder)
                    if inputs.count > 2, !inputs[2].isEmpty, let b = g.constant(inputs[2])?.floatTensor {
                        addInitializer(.init(name: inputs[2], dataType: .float, dims: [b.count], exponents: [0], ints: [],
                                             floats: b.data, doc: "layout ==> UNK"), into: &paramOrder)
                    }
                    attributes["activation"] = .string("Linear")
                }
                if n.op == .gemm {
                    attributes["transB"] = .int(0)
                    attributes["transA"] = nil
                }
            case .clip:
                let lo = n.float("min", default: -.greatestFiniteMagnitude), hi = n.float("max", default: .greatestFiniteMagnitude)
                attributes["min"] = nil; attributes["max"] = nil
                if let q = format(inputs[0]), precision != .float {
                    let mode = model.target.rounding
                    inputs = [inputs[0],
                              scalar(n.name + "::min", dtype(q), int: q.quantize(Double(lo), mode), dims: [1], exponent: q.exponent),
                              scalar(n.name + "::max", dtype(q), int: q.quantize(Double(hi), mode), dims: [1], exponent: q.exponent)]
                } else {
                    inputs = [inputs[0], scalar(n.name + "::min", .float, float: lo, dims: [1]),
                              scalar(n.name + "::max", .float, float: hi, dims: [1])]
                }
            case .quantizeLinear, .dequantizeLinear, .requantizeLinear:
                let (a, b) = (format(inputs[0]), format(n.outputs[0]))
                let scale = Float(n.op == .quantizeLinear ? b!.scale : n.op == .dequantizeLinear ? a!.scale : b!.scale / a!.scale)
                let zeroType = dtype(n.op == .dequantizeLinear ? a : b)
                inputs = [inputs[0], scalar(n.name + "::scale", .float, float: scale), scalar(n.name + "::zero_point", zeroType)]
                attributes["quant_type"] = .string(quantType(Precision(bits: (n.op == .dequantizeLinear ? a : b)!.bits)!))
            default:
                for i in inputs.indices.dropFirst() where !inputs[i].isEmpty {
                    guard let c = g.constant(inputs[i]) else { continue }
                    let t: ESPDLFile.TensorData
                    if let p = model.parameters[inputs[i]], precision != .float {
                        // a quantized constant operand (Add/Sub/Mul/Div) keeps the exponent the quantizer gave it
                        addInitializer(.init(name: inputs[i], dataType: dtype(QuantFormat(bits: p.bits, exponent: 0)), dims: p.shape,
                                             exponents: p.exponents, ints: p.codes, floats: [], doc: "layout ==> UNK"), into: &otherOrder)
                        continue
                    }
                    switch c {
                    case let .int(s, v): t = .init(name: inputs[i], dataType: .int64, dims: s, exponents: [0], ints: v, floats: [], doc: "layout ==> UNK")
                    case let .float(x):
                        if let q = format(inputs[0]), precision != .float {
                            let mode = model.target.rounding
                            t = .init(name: inputs[i], dataType: dtype(q), dims: x.shape, exponents: [q.exponent],
                                      ints: x.data.map { q.quantize(Double($0), mode) }, floats: [], doc: "layout ==> UNK")
                        } else {
                            t = .init(name: inputs[i], dataType: .float, dims: x.shape, exponents: [0], ints: [], floats: x.data, doc: "layout ==> UNK")
                        }
                    }
                    addInitializer(t, into: &otherOrder)
                }
            }
            var opType = n.op.rawValue
            if Self.lookupOps.contains(n.op), precision != .float, let a = format(inputs[0]), let b = format(n.outputs[0]) {
                let int16LUT = ActivationTable.isInt16LUT(n, input: a, output: b)
                if int16LUT {
                    // ESP-PPQ 1.3.12's EspdlLUTFusionPass: the op becomes a LUT that remembers what it was
                    attributes["original_op_type"] = .string(n.op.rawValue)
                    attributes["int16_lut_step"] = .int(ActivationTable.int16Step)
                    opType = OpKind.lut.rawValue
                }
                let table = int16LUT ? ActivationTable.codes(n, input: a, output: b, step: ActivationTable.int16Step, model.target.rounding)
                                     : Self.lookupTable(n, input: a, output: b, model.target.rounding)
                let key = table + [Int64(b.bits), Int64(b.exponent)]
                let lutName: String
                if let existing = luts[key] { lutName = existing } else {
                    lutName = "\(opType)_lut_\(luts.count)"
                    luts[key] = lutName
                    addInitializer(.init(name: lutName, dataType: dtype(b), dims: [table.count], exponents: [b.exponent],
                                         ints: table, floats: [], doc: ""), into: &lutOrder)
                }
                attributes["lut"] = .string(lutName)
            }
            if outputNHWC { for o in n.outputs where shape(o).count == 4 { nhwc.insert(o) } }
            nodes.append(.init(name: n.name, opType: opType, inputs: inputs, outputs: n.outputs, attributes: attributes))
        }

        var rank: [String: Int] = [:]
        let originals = g.nodes.filter { !$0.op.isQuantOnly }, conversions = g.nodes.filter { $0.op.isQuantOnly }
        for (i, n) in originals.enumerated() { rank[n.name] = i }
        for (i, n) in nodes.filter({ $0.name.hasPrefix("Transpose::") }).enumerated() { rank[n.name] = originals.count + i }
        for (i, n) in conversions.enumerated() { rank[n.name] = 2 * originals.count + i }
        nodes = Self.waveOrder(nodes, available: Set(g.inputs.map(\.name)).union(initializers.keys), rank: rank)

        func info(_ v: String) -> ESPDLFile.ValueInfo {
            var s = shape(v)
            if nhwc.contains(v), s.count == 4 { s = [s[0], s[2], s[3], s[1]] }
            let q = format(v)
            return .init(name: v, dataType: dtype(q), shape: s, exponent: q?.exponent ?? 0)
        }
        var valueInfo: [String: ESPDLFile.ValueInfo] = [:]
        for v in g.inputs.map(\.name) + nodes.flatMap(\.outputs) { valueInfo[v] = info(v) }

        // test values: the integer executor on one input, stored in the device layout
        let input = g.inputs[0]
        var x = testInput ?? Self.normalInput(shape: shape(input.name))
        if x.shape.first != 1 { x = Tensor(shape: [1] + Array(x.shape.dropFirst()), data: Array(x.data.prefix(x.count / max(x.shape.first ?? 1, 1)))) }
        let executor = try QuantExecutor(model: model)
        let inFormat = format(input.name)
        let inputCodes = inFormat.map { QuantExecutor.quantize(x, $0, model.target.rounding) } ?? x
        let outputs = try executor.runCodes(inputCodes)
        func testValue(_ v: String, _ t: Tensor) -> ESPDLFile.TensorData {
            var t = t
            if nhwc.contains(v), t.shape.count == 4 { t = LayoutOps.transpose(t, perm: [0, 2, 3, 1]) }
            let q = format(v)
            return .init(name: v, dataType: dtype(q), dims: t.shape.isEmpty ? [1] : t.shape, exponents: [q?.exponent ?? 0],
                         ints: q == nil ? [] : t.data.map { Int64($0) }, floats: q == nil ? t.data : [])
        }

        return ESPDLFile(
            path: "", irVersion: 8, graphName: name, metadata: [Self.producerKey: "automix", Self.targetKey: model.target.rawValue], nodes: nodes, initializers: initializers,
            initializerOrder: lutOrder + paramOrder + otherOrder,
            inputs: g.inputs.map { info($0.name) }, outputs: g.outputs.map { info($0.name) }, valueInfo: valueInfo,
            testInputs: [testValue(input.name, inputCodes)],
            testOutputs: zip(g.outputs, outputs).map { testValue($0.name, $1) })
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

    /// int8: every input code; int16 Clip: every 256th code, which a linear op interpolates exactly.
    static func lookupTable(_ n: Node, input: QuantFormat, output: QuantFormat, _ mode: RoundingMode) -> [Int64] {
        ActivationTable.codes(n, input: input, output: output, step: 256, mode)
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
