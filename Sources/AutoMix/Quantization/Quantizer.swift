import Foundation
import Kernels

/// Builds the quantized model from a prepared float graph, a config and calibration statistics, following
/// ESP-PPQ's rules (shared/specs/espdl-format-and-quantization.md §2.4): Relu fused into Conv/Gemm, Clip sharing
/// its producer's exponent, passive ops sharing their input's, Add/Sub/Concat inputs aligned to the output
/// (by moving a single-consumer producer, else with a RequantizeLinear), and a Requantize/Quantize/
/// DequantizeLinear node wherever a value reaches a consumer of another width or a float layer.
public struct Quantizer {
    public let graph: Graph
    public let config: QuantizationConfig
    public let calibration: Calibration
    /// Exponents to take instead of calibrating (by value and initializer name), e.g. from an ESP-PPQ export.
    public var imposed: QuantizedModel?

    public init(graph: Graph, config: QuantizationConfig, calibration: Calibration, imposed: QuantizedModel? = nil) {
        self.graph = graph; self.config = config; self.calibration = calibration; self.imposed = imposed
    }

    /// Ops that keep their input's codes (and so its format).
    static let passive: Set<OpKind> = [.maxPool, .flatten, .reshape, .squeeze, .unsqueeze, .identity, .transpose, .pad, .dropout]
    /// Ops whose inputs ESP-PPQ aligns to the output exponent.
    static let aligned: Set<OpKind> = [.add, .sub, .concat, .resize]
    static let integerOps: Set<OpKind> = passive.union(aligned).union([
        .conv, .gemm, .relu, .clip, .leakyRelu, .sigmoid, .hardSigmoid, .hardSwish, .tanh, .swish, .gelu, .elu, .mul, .div,
        .globalAveragePool, .averagePool, .softmax])

    /// Element-wise arithmetic whose second input may be a constant (in-graph normalisation, BatchNorm1d's scale).
    static let arithmetic: Set<OpKind> = [.add, .sub, .mul, .div]

    /// The compute layers a plan assigns precisions to, in graph order.
    public static func layers(of graph: Graph) -> [Node] { graph.nodes.filter { $0.op == .conv || $0.op == .gemm } }

    func canRunInteger(_ n: Node) -> Bool {
        guard Self.integerOps.contains(n.op) else { return false }
        if n.op == .gemm {
            return n.int("transA", default: 0) == 0 && n.float("alpha", default: 1) == 1 && n.float("beta", default: 1) == 1
                && graph.constant(n.inputs[1]) != nil
        }
        if n.op == .conv { return graph.constant(n.inputs[1]) != nil }
        if Self.arithmetic.contains(n.op) {
            // a constant operand is quantized as the second input; ESP-DL has no constant-first form
            return graph.constant(n.inputs[0]) == nil && n.inputs.contains { graph.constant($0) == nil }
        }
        return true
    }

    /// Precision of every node: compute layers from the config; other ops follow the widest data they receive.
    func precisions() throws -> [String: Precision] {
        let producer = graph.producerIndex()
        var result: [String: Precision] = [:]
        let rank: [Precision: Int] = [.int8: 0, .int16: 1, .float: 2]
        func layerPrecision(_ n: Node) -> Precision { config.layers[n.name] ?? config.defaultPrecision }
        // ops before the first compute layer (in-graph input normalisation) take the widest precision of the layers
        // they feed, so that a first layer in int16 or float gets its input at that width too
        let consumers = graph.consumers()
        var downstream: [String: Precision] = [:]
        for n in graph.nodes.reversed() where n.op != .conv && n.op != .gemm {
            var fed: [Precision] = []
            for o in n.outputs {
                for c in (consumers[o] ?? []).map({ graph.nodes[$0] }) {
                    if let p = c.op == .conv || c.op == .gemm ? layerPrecision(c) : downstream[c.name] { fed.append(p) }
                }
            }
            downstream[n.name] = fed.max { rank[$0]! < rank[$1]! }
        }
        for n in graph.nodes {
            var p: Precision
            if let explicit = config.layers[n.name] {
                p = explicit
            } else if n.op == .conv || n.op == .gemm {
                p = config.defaultPrecision
            } else {
                let incoming = n.inputs.compactMap { producer[$0].map { result[graph.nodes[$0].name]! } }
                p = incoming.max { rank[$0]! < rank[$1]! } ?? downstream[n.name] ?? config.defaultPrecision
            }
            if p != .float && !canRunInteger(n) {
                if config.layers[n.name] != nil {
                    throw AutoMixError.invalidNode(node: n.name, op: n.op.rawValue, reason: "has no integer kernel; it can only be float")
                }
                p = .float
            }
            result[n.name] = p
        }
        for name in Set(config.layers.keys).union(config.observerOverrides.keys) where !graph.nodes.contains(where: { $0.name == name }) {
            throw AutoMixError.invalidArgument("the config names layer '\(name)', which the model does not have")
        }
        return result
    }

    public func build() throws -> QuantizedModel {
        var g = graph
        var precision = try precisions()
        let graphOutputs = Set(g.outputs.map(\.name))

        // Relu fused into an integer Conv/Gemm of the same precision
        var consumers = g.consumers()
        var removed = Set<Int>()
        for (i, n) in g.nodes.enumerated() where (n.op == .conv || n.op == .gemm) && precision[n.name] != .float {
            g.nodes[i].attributes["activation"] = .string("Linear")
            guard let users = consumers[n.outputs[0]], users.count == 1, !graphOutputs.contains(n.outputs[0]) else { continue }
            let r = g.nodes[users[0]]
            guard r.op == .relu, precision[r.name] == precision[n.name] else { continue }
            g.nodes[i].attributes["activation"] = .string("Relu")
            g.nodes[i].outputs = r.outputs
            removed.insert(users[0])
            precision[r.name] = nil
        }
        g.nodes = g.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        consumers = g.consumers()
        let producer = g.producerIndex()
        func bits(of node: Node) -> Int? { precision[node.name]?.bits }

        // groups of values that share one format
        var parent: [String: String] = [:]
        func find(_ v: String) -> String {
            var r = v
            while let p = parent[r], p != r { r = p }
            return r
        }
        func union(_ a: String, _ b: String) { let (ra, rb) = (find(a), find(b)); if ra != rb { parent[ra] = rb } }
        for n in g.nodes where bits(of: n) != nil {
            if n.op == .conv || n.op == .gemm, let users = consumers[n.outputs[0]], users.count == 1,
               !graphOutputs.contains(n.outputs[0]), g.nodes[users[0]].op == .clip, precision[g.nodes[users[0]].name] == precision[n.name] {
                union(n.outputs[0], g.nodes[users[0]].outputs[0])
            }
            if Self.passive.contains(n.op), let p = producer[n.inputs[0]], bits(of: g.nodes[p]) == bits(of: n) {
                union(n.outputs[0], n.inputs[0])
            }
        }

        // each group's width and exponent, calibrated on its last non-passive member that calibration saw
        let inputName = g.inputs[0].name
        var groupBits: [String: Int] = [:]
        var master: [String: String] = [:]
        var groupLayers: [String: [String]] = [:]   // the nodes whose outputs share the format, for observer overrides
        func note(_ value: String, bits: Int, layer: String?) {
            let root = find(value)
            if groupBits[root] == nil { groupBits[root] = bits }
            if let layer { groupLayers[root, default: []].append(layer) }
            if calibration.statistics[value] != nil { master[root] = value }
        }
        if let first = consumers[inputName]?.first, let b = bits(of: g.nodes[first]) { note(inputName, bits: b, layer: nil) }
        for n in g.nodes {
            guard let b = bits(of: n), n.op != .softmax else { continue }
            for o in n.outputs where !(Self.passive.contains(n.op) && master[find(o)] != nil) { note(o, bits: b, layer: n.name) }
        }
        var groupExponent: [String: Int] = [:]
        for (root, b) in groupBits {
            guard let m = master[root] else {
                throw AutoMixError.invalidArgument("value '\(root)' was not seen during calibration")
            }
            groupExponent[root] = try calibration.statistics(of: m).exponent(
                config.activationObserver(bits: b, layers: groupLayers[root] ?? []), bits: b)
        }
        // Align to Output: a single-consumer input moves to the output's exponent
        for n in g.nodes where Self.aligned.contains(n.op) && bits(of: n) != nil {
            let out = find(n.outputs[0])
            for v in n.inputs where !v.isEmpty && v != inputName && g.constant(v) == nil {
                let root = find(v)
                guard root != out, groupBits[root] == groupBits[out], consumers[v]?.count == 1 else { continue }
                groupExponent[root] = groupExponent[out]
            }
        }
        var formats: [String: QuantFormat] = [:]
        for v in Set(parent.keys).union(master.values).union(groupBits.keys) {
            let root = find(v)
            if let b = groupBits[root], let e = groupExponent[root] { formats[v] = QuantFormat(bits: b, exponent: e) }
        }
        for n in g.nodes where bits(of: n) != nil && n.op != .softmax {
            for o in n.outputs where formats[o] == nil {
                let root = find(o)
                if let b = groupBits[root], let e = groupExponent[root] { formats[o] = QuantFormat(bits: b, exponent: e) }
            }
        }

        if let imposed {
            for (v, q) in imposed.formats where formats[v]?.bits == q.bits { formats[v] = q }
        }

        // conversions on edges whose consumer needs another format
        var nodes: [Node] = []
        var conversions: [String: String] = [:]   // "value|format" -> converted value name
        var parameters: [String: QuantizedParameter] = [:]
        for var n in g.nodes {
            let b = bits(of: n)
            for (k, v) in n.inputs.enumerated() where !v.isEmpty && g.constant(v) == nil {
                let have = formats[v]
                let want: QuantFormat?
                if let b {
                    if Self.aligned.contains(n.op) {
                        want = formats[n.outputs[0]]
                    } else if let have, have.bits == b {
                        want = have
                    } else if let q = imposed?.formats[v], q.bits == b {
                        want = q
                    } else {
                        let source = master[find(v)] ?? v
                        want = QuantFormat(bits: b, exponent: try calibration.statistics(of: source).exponent(
                            config.activationObserver(bits: b, layers: []), bits: b))
                    }
                } else {
                    want = nil
                }
                guard have != want else { continue }
                let key = "\(v)|\(want.map { "\($0.bits),\($0.exponent)" } ?? "float")"
                if let c = conversions[key] { n.inputs[k] = c; continue }
                let name = "\(v)::\(want.map { "int\($0.bits)e\($0.exponent)" } ?? "float")"
                let op: OpKind = have == nil ? .quantizeLinear : want == nil ? .dequantizeLinear : .requantizeLinear
                let convName = "\(op.rawValue)::\(v)::\(want.map { "int\($0.bits)e\($0.exponent)" } ?? "float")"
                nodes.append(Node(name: convName, op: op, inputs: [v], outputs: [name]))
                precision[convName] = want.flatMap { Precision(bits: $0.bits) } ?? .float
                formats[name] = want
                conversions[key] = name
                n.inputs[k] = name
            }
            if let b, n.op == .conv || n.op == .gemm {
                try quantizeParameters(&n, bits: b, input: formats[n.inputs[0]]!, into: &parameters, graph: &g)
            } else if let b, Self.arithmetic.contains(n.op) {
                quantizeOperands(&n, bits: b, output: formats[n.outputs[0]], into: &parameters, graph: g)
            }
            nodes.append(n)
        }
        g.nodes = nodes
        for (name, p) in parameters { g.constants[name] = .float(p.dequantized) }
        g.pruneConstants()
        try g.inferShapes()
        return QuantizedModel(graph: g, target: config.target, precisions: precision, formats: formats, parameters: parameters)
    }

    /// Weights per output channel (esp32p4) or per tensor (esp32s3); the bias at the accumulator's exponent.
    func quantizeParameters(_ n: inout Node, bits: Int, input: QuantFormat, into parameters: inout [String: QuantizedParameter],
                            graph g: inout Graph) throws {
        guard var w = g.constant(n.inputs[1])?.floatTensor else { throw ShapeInference.fail(n, "the weight is not a constant") }
        if n.op == .gemm && n.int("transB", default: 0) == 0 {
            w = LayoutOps.transpose(w, perm: [1, 0])
            n.attributes["transB"] = .int(1)
        }
        let (codes, exponents) = quantizeWeight(w, bits: bits, exponents: imposed?.parameters[n.inputs[1]]?.exponents)
        let weightName = uniqueName(n.inputs[1], for: n, in: parameters)
        parameters[weightName] = QuantizedParameter(shape: w.shape, codes: codes, exponents: exponents, bits: bits)
        n.inputs[1] = weightName
        if n.inputs.count > 2, !n.inputs[2].isEmpty, let b = g.constant(n.inputs[2])?.floatTensor {
            let biasBits = config.target.biasBits(forBits: bits)
            let biasExponents = exponents.map { input.exponent + $0 }
            let codes = b.data.enumerated().map { c, x in
                QuantFormat(bits: biasBits, exponent: biasExponents.count == 1 ? biasExponents[0] : biasExponents[c])
                    .quantize(Double(x), config.target.rounding)
            }
            let biasName = uniqueName(n.inputs[2], for: n, in: parameters)
            parameters[biasName] = QuantizedParameter(shape: [b.count], codes: codes, exponents: biasExponents, bits: biasBits)
            n.inputs[2] = biasName
        }
    }

    /// Constant operands of Add/Sub/Mul/Div at the op's width: Add/Sub's at the output's exponent (ESP-PPQ aligns their
    /// inputs to the output), Mul/Div's at the power-of-two exponent of their largest magnitude.
    func quantizeOperands(_ n: inout Node, bits: Int, output: QuantFormat?, into parameters: inout [String: QuantizedParameter], graph g: Graph) {
        for k in n.inputs.indices.dropFirst() {
            guard let c = g.constant(n.inputs[k])?.floatTensor else { continue }
            var s = ValueStatistics()
            s.min = Swift.min(c.data.min() ?? 0, 0); s.max = Swift.max(c.data.max() ?? 0, 0)
            let exponent = Self.aligned.contains(n.op) ? output?.exponent ?? s.exponent(.minmax, bits: bits) : s.exponent(.minmax, bits: bits)
            let q = QuantFormat(bits: bits, exponent: exponent)
            let name = uniqueName(n.inputs[k], for: n, in: parameters)
            parameters[name] = QuantizedParameter(shape: c.shape, codes: c.data.map { q.quantize(Double($0), config.target.rounding) },
                                                  exponents: [exponent], bits: bits)
            n.inputs[k] = name
        }
    }

    /// Codes and exponents of a weight `[N, …]`: per output channel (esp32p4) or per tensor (esp32s3).
    func quantizeWeight(_ w: Tensor, bits: Int, exponents given: [Int]? = nil) -> (codes: [Int64], exponents: [Int]) {
        let channels = w.shape[0]
        let perChannel = w.count / channels
        let observer = config.weightObserver(bits: bits)
        var exponents: [Int]
        if let given {
            exponents = given
        } else if config.perChannelWeights {
            exponents = (0..<channels).map { c in
                var s = ValueStatistics()
                let slice = w.data[(c * perChannel)..<((c + 1) * perChannel)]
                s.min = slice.min() ?? 0; s.max = slice.max() ?? 0
                return s.exponent(observer == .percentile ? .minmax : observer, bits: bits)
            }
        } else {
            var s = ValueStatistics()
            s.min = w.data.min() ?? 0; s.max = w.data.max() ?? 0
            if observer == .percentile {
                // torch.kthvalue positions of ESP-PPQ's percentile observer, over the whole tensor
                let count = w.count, q = ValueStatistics.percentile
                var copy = w.data
                copy.withUnsafeMutableBufferPointer {
                    s.percentileLow = Double(kthSmallest($0.baseAddress!, count: count, k: Int(Double(count) * (1 - q)) + 1))
                    s.percentileHigh = Double(kthSmallest($0.baseAddress!, count: count, k: Swift.min(Int(Double(count) * q), count - 1) + 1))
                }
                s.batches = 1
            }
            exponents = [s.exponent(observer == .kl ? .minmax : observer, bits: bits)]
        }
        let mode = config.target.rounding
        let codes = w.data.enumerated().map { i, x -> Int64 in
            QuantFormat(bits: bits, exponent: exponents.count == 1 ? exponents[0] : exponents[i / perChannel]).quantize(Double(x), mode)
        }
        return (codes, exponents)
    }

    /// The float graph with every Conv/Gemm's weights replaced by their quantized values at the config's default
    /// width: ESP-PPQ quantizes parameters before it calibrates activations, so its observers see these. Per-layer
    /// overrides are left out on purpose, so that one calibration serves every plan of a search and
    /// `quantize --config` with the final plan calibrates exactly as the search did.
    public static func weightQuantizedGraph(_ graph: Graph, config: QuantizationConfig) throws -> Graph {
        var base = config
        base.layers = [:]
        let q = weightsOnly(graph, config: base)
        let precision = try q.precisions()
        var g = graph
        for n in graph.nodes where n.op == .conv || n.op == .gemm {
            guard let bits = precision[n.name]?.bits, let w = graph.constant(n.inputs[1])?.floatTensor else { continue }
            g.constants[n.inputs[1]] = .float(q.fakeQuantizedWeight(n, w, bits: bits))
        }
        return g
    }

    /// A Conv/Gemm weight (in the graph's layout) quantized at `bits` with the config's weight observer, and back.
    func fakeQuantizedWeight(_ n: Node, _ w: Tensor, bits: Int) -> Tensor {
        let transposed = n.op == .gemm && n.int("transB", default: 0) == 0
        let w = transposed ? LayoutOps.transpose(w, perm: [1, 0]) : w
        let (codes, exponents) = quantizeWeight(w, bits: bits)
        let fake = QuantizedParameter(shape: w.shape, codes: codes, exponents: exponents, bits: bits).dequantized
        return transposed ? LayoutOps.transpose(fake, perm: [1, 0]) : fake
    }

    /// A quantizer for weights only (no calibration statistics).
    static func weightsOnly(_ graph: Graph, config: QuantizationConfig) -> Quantizer {
        Quantizer(graph: graph, config: config, calibration: Calibration(statistics: [:], images: 0, batchSize: 0, seconds: 0))
    }

    /// Initializers shared by several layers get one integer copy per layer.
    func uniqueName(_ name: String, for n: Node, in parameters: [String: QuantizedParameter]) -> String {
        parameters[name] == nil ? name : "\(name)::\(n.name)"
    }
}
