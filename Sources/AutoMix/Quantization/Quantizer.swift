import Foundation
import Kernels

/// Builds the quantized model from a prepared float graph, a config and calibration statistics, following
/// ESP-PPQ's rules (shared/specs/espdl-format-and-quantization.md §2.4), as a sequence of named passes over a
/// `Draft` (QuantizerPasses.swift). What each op allows and how its format is chosen comes from `OpKind.rule`.
public struct Quantizer {
    public let graph: Graph
    public let config: QuantizationConfig
    public let calibration: Calibration
    /// Exponents to take instead of calibrating (by value and initializer name), e.g. from an ESP-PPQ export.
    public var imposed: QuantizedModel?
    /// Weight codes and dequantized weights kept from the search's earlier trials (see `RebuildCache`).
    public var cache: RebuildCache?

    public init(graph: Graph, config: QuantizationConfig, calibration: Calibration, imposed: QuantizedModel? = nil,
                cache: RebuildCache? = nil) {
        self.graph = graph; self.config = config; self.calibration = calibration; self.imposed = imposed; self.cache = cache
    }

    /// The compute layers a plan assigns precisions to, in graph order.
    public static func layers(of graph: Graph) -> [Node] { graph.nodes.filter { $0.op.rule.format == .layer } }

    public func build() throws -> QuantizedModel {
        var draft = Draft(graph: graph, precision: try precisions())
        fuseRelu(&draft)
        groupSharedFormats(&draft)
        try calibrateGroups(&draft)
        alignInputsToOutputs(&draft)
        assignFormats(&draft)
        try insertConversions(&draft)
        try quantizeConstants(&draft)
        recordActivationForms(&draft)
        return try draft.model(target: config.target, cache: cache)
    }

    /// Whether `n` can run on integer codes at `p`: its rule allows `p`, a layer's weight is a constant (and a Gemm
    /// has the plain form ESP-DL runs), a constant operand comes second (ESP-DL has no constant-first form).
    func canRun(_ n: Node, at p: Precision) -> Bool {
        let rule = n.op.rule
        guard rule.precisions.contains(p) else { return false }
        if rule.format == .layer {
            guard n.inputs.count > 1, graph.constant(n.inputs[1]) != nil else { return false }
            return n.op != .gemm
                || n.int("transA", default: 0) == 0 && n.float("alpha", default: 1) == 1 && n.float("beta", default: 1) == 1
        }
        if rule.constantOperand != .none {
            return graph.constant(n.inputs[0]) == nil && n.inputs.contains { graph.constant($0) == nil }
        }
        return true
    }

    /// Precision of every node: compute layers from the config; other ops follow the widest data they receive, and
    /// ops before the first layer (in-graph input normalisation) the widest layer they feed. An op its rule keeps
    /// float is float; a config that names it otherwise is refused.
    func precisions() throws -> [String: Precision] {
        let producer = graph.producerIndex()
        let consumers = graph.consumers()
        let rank: [Precision: Int] = [.int8: 0, .int16: 1, .float: 2]
        func widest(_ ps: [Precision]) -> Precision? { ps.max { rank[$0]! < rank[$1]! } }
        func isLayer(_ n: Node) -> Bool { n.op.rule.format == .layer }
        func layerPrecision(_ n: Node) -> Precision { config.layers[n.name] ?? config.defaultPrecision }
        var downstream: [String: Precision] = [:]
        for n in graph.nodes.reversed() where !isLayer(n) {
            let fed = n.outputs.flatMap { consumers[$0] ?? [] }.map { graph.nodes[$0] }
            downstream[n.name] = widest(fed.compactMap { isLayer($0) ? layerPrecision($0) : downstream[$0.name] })
        }
        var result: [String: Precision] = [:]
        for n in graph.nodes {
            var p: Precision
            if let explicit = config.layers[n.name] {
                p = explicit
            } else if isLayer(n) {
                p = config.defaultPrecision
            } else {
                let incoming = n.inputs.compactMap { producer[$0].map { result[graph.nodes[$0].name]! } }
                p = widest(incoming) ?? downstream[n.name] ?? config.defaultPrecision
            }
            // an op ESP-DL runs only on integers (Resize) reading float data runs at int16, its input quantized
            if p == .float && !n.op.rule.precisions.contains(.float), config.layers[n.name] == nil,
               let q = [Precision.int16, .int8].first(where: { canRun(n, at: $0) }) {
                p = q
            }
            if p != .float && !canRun(n, at: p) {
                if config.layers[n.name] != nil {
                    throw AutoMixError.invalidNode(node: n.name, op: n.op.rawValue,
                                                   reason: "has no \(p.rawValue) kernel on ESP-DL in AutoMix; it can only be float")
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
}
