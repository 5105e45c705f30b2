/// The passes over the float graph that run before calibration (ESP-DL's "advanced PTQ"): ReLU6 read as Relu,
/// layerwise equalization, horizontal layer split, and bias correction. A final config records them, so
/// `quantize`, `search` and `export` rebuild the same graph from the same model and calibration images.
public struct GraphPreparation: Codable, Equatable, Sendable {
    /// Clip(0, 6) becomes Relu, so equalization can cross it. This changes the float model.
    public var relu6AsRelu: Bool
    public var equalization: Equalization.Settings?
    public var split: LayerSplit.Settings?
    public var biasCorrection: Bool

    public init(relu6AsRelu: Bool = false, equalization: Equalization.Settings? = nil, split: LayerSplit.Settings? = nil,
                biasCorrection: Bool = false) {
        self.relu6AsRelu = relu6AsRelu; self.equalization = equalization; self.split = split; self.biasCorrection = biasCorrection
    }

    public var isEmpty: Bool { self == GraphPreparation() }

    /// What the passes did, for the log.
    public struct Outcome: Sendable {
        public var graph: Graph
        public var notes: [String] = []
        public var equalization: Equalization.Report?
        /// Set when bias correction is on: applies it for a plan (a search calls it once per plan).
        public var biasCorrection: BiasCorrection?
        /// The bias-corrected graph for the config `apply` was given, which quantize and export ask for again.
        var corrected: (config: QuantizationConfig, graph: Graph)?

        /// The graph a plan is quantized from: `graph`, bias-corrected for `config` when asked.
        public func graph(for config: QuantizationConfig) throws -> Graph {
            if let corrected, corrected.config == config { return corrected.graph }
            return try biasCorrection.map { try $0.apply(config).0 } ?? graph
        }
    }

    /// Runs the passes in ESP-PPQ's order (equalization, then split, then bias correction on the result).
    /// `batches` (calibration images) are read only for bias correction.
    public func apply(to graph: Graph, config: QuantizationConfig, batches: [Tensor]) throws -> Outcome {
        var out = Outcome(graph: graph)
        if relu6AsRelu {
            var count = 0
            for i in out.graph.nodes.indices where out.graph.nodes[i].op == .clip
                && out.graph.nodes[i].float("min", default: -1) == 0 && out.graph.nodes[i].float("max", default: 0) == 6 {
                out.graph.nodes[i].op = .relu
                out.graph.nodes[i].attributes = [:]
                count += 1
            }
            out.notes.append("ReLU6 read as Relu: \(count) Clip(0, 6) nodes")
        }
        if let equalization {
            let (g, report) = try Equalization.apply(out.graph, settings: equalization, config: config)
            out.graph = g
            out.equalization = report
            out.notes.append(report.summary)
        }
        if let split {
            let (g, counts) = try LayerSplit.apply(out.graph, settings: split)
            out.graph = g
            out.notes.append("layer split: " + split.layers.map { "\($0) \(counts[$0] ?? 0) weights" }.joined(separator: ", "))
        }
        if biasCorrection {
            let correction = try BiasCorrection(graph: out.graph, batches: batches)
            out.biasCorrection = correction
            let (corrected, shifts) = try correction.apply(config)
            out.corrected = (config, corrected)
            out.notes.append(String(format: "bias correction: %d layers, largest shift %.3g", shifts.count, shifts.values.max() ?? 0))
        }
        return out
    }
}
