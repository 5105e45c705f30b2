import Foundation

/// Every layer's sensitivity measures, most sensitive first: the file
/// `Results/accuracy_based_auto_calibration_ranking_info.json` (schema in the README).
public struct SensitivityRanking: Sendable, Codable {
    public struct Layer: Sendable, Codable {
        public var name: String
        public var op: String
        /// ESP-PPQ layerwise NOISE:SIGNAL (fraction, higher = more sensitive): this layer quantized alone.
        public var layerwiseNoiseSignal: Double
        /// ESP-PPQ graphwise NOISE:SIGNAL (higher = more error accumulated up to this layer in the all-quantized model).
        public var graphwiseNoiseSignal: Double
        /// AMCT's 0.5 + 0.5·cos of this layer's own output (lower = more sensitive).
        public var cosineSimilarity: Double
        public var macs: Int
        public var weights: Int
        public var rankLayerwise = 0, rankGraphwise = 0, rankCosine = 0

        public init(name: String, op: String, layerwiseNoiseSignal: Double, graphwiseNoiseSignal: Double,
                    cosineSimilarity: Double, macs: Int, weights: Int) {
            self.name = name; self.op = op; self.layerwiseNoiseSignal = layerwiseNoiseSignal
            self.graphwiseNoiseSignal = graphwiseNoiseSignal; self.cosineSimilarity = cosineSimilarity
            self.macs = macs; self.weights = weights
        }
    }

    public var model: String
    public var target: Target
    public var bits: Int
    public var calibrationImages: Int
    public var analysisImages: Int
    public var order = "layerwise_noise_signal, descending: most sensitive first"
    public var polarity = ["layerwise_noise_signal": "higher is more sensitive", "graphwise_noise_signal": "higher is more sensitive",
                           "cosine_similarity": "lower is more sensitive"]
    public var layers: [Layer]

    public init(model: String, target: Target, bits: Int, calibrationImages: Int, analysisImages: Int, layers: [Layer]) {
        self.model = model; self.target = target; self.bits = bits
        self.calibrationImages = calibrationImages; self.analysisImages = analysisImages
        var ls = layers.sorted { $0.layerwiseNoiseSignal > $1.layerwiseNoiseSignal }
        func ranks(_ less: (Layer, Layer) -> Bool) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: ls.sorted(by: less).enumerated().map { ($1.name, $0 + 1) })
        }
        let lw = ranks { $0.layerwiseNoiseSignal > $1.layerwiseNoiseSignal }
        let gw = ranks { $0.graphwiseNoiseSignal > $1.graphwiseNoiseSignal }
        let cs = ranks { $0.cosineSimilarity < $1.cosineSimilarity }
        for i in ls.indices {
            ls[i].rankLayerwise = lw[ls[i].name]!; ls[i].rankGraphwise = gw[ls[i].name]!; ls[i].rankCosine = cs[ls[i].name]!
        }
        self.layers = ls
    }

    /// Measures every layer of `quantized` (all int8) against the float graph it was built from, on the first
    /// `Sensitivity.batchCount` calibration batches: layerwise and graphwise noise/signal (ESP-PPQ) and AMCT's cosine.
    /// `layers`: the Conv/Gemm layers the search may change, in graph order. `measured` hears each measure's values
    /// and seconds as it ends (`analyse` prints them).
    public static func measure(model: String, float graph: Graph, quantized: QuantizedModel, config: QuantizationConfig,
                               layers: [Node], batches: [Tensor], calibrationImages: Int,
                               measured: (_ name: String, _ values: [String: Double], _ seconds: Double) -> Void = { _, _, _ in }) throws -> SensitivityRanking {
        let analysed = Array(batches.prefix(Sensitivity.batchCount))
        func timed(_ name: String, _ body: () throws -> [String: Double]) rethrows -> [String: Double] {
            let t = Date()
            let values = try body()
            measured(name, values, Date().timeIntervalSince(t))
            return values
        }
        let graphwise = try timed("graphwise") {
            try Sensitivity.graphwise(float: graph, quantized: quantized, batches: analysed, progress: Progress("rank: graphwise", total: analysed.count))
        }
        let layerwise = try timed("layerwise") {
            try Sensitivity.layerwise(float: graph, quantized: quantized, batches: analysed,
                                      progress: Progress("rank: layerwise", total: layers.count * analysed.reduce(0) { $0 + $1.shape[0] }))
        }
        let cosine = try timed("cosine") {
            try Sensitivity.cosine(float: graph, quantized: quantized, config: config, batches: analysed,
                                   progress: Progress("rank: cosine", total: analysed.count))
        }
        return SensitivityRanking(
            model: model, target: config.target, bits: config.bits, calibrationImages: calibrationImages,
            analysisImages: analysed.reduce(0) { $0 + $1.shape[0] }, layers: layers.map { n in
                .init(name: n.name, op: n.op.rawValue, layerwiseNoiseSignal: layerwise[n.name] ?? 0,
                      graphwiseNoiseSignal: graphwise[n.name] ?? 0, cosineSimilarity: cosine[n.name] ?? 1,
                      macs: LayerCost.macs(n, in: graph), weights: LayerCost.weights(n, in: graph))
            })
    }

    public func write(to url: URL) throws { try JSONFile.write(self, to: url) }

    public static func read(_ url: URL) throws -> SensitivityRanking {
        try JSONFile.read(SensitivityRanking.self, from: url.path, what: "a ranking file")
    }
}

/// Multiply-accumulates and weight count of a Conv/Gemm per image.
public enum LayerCost {
    public static func macs(_ n: Node, in graph: Graph) -> Int {
        guard let w = graph.constant(n.inputs.count > 1 ? n.inputs[1] : "")?.shape, let out = graph.shapes[n.outputs[0]] else { return 0 }
        if n.op == .conv { return out.dropFirst().reduce(1, *) * w.dropFirst().reduce(1, *) }
        return w.reduce(1, *)
    }
    public static func weights(_ n: Node, in graph: Graph) -> Int {
        graph.constant(n.inputs.count > 1 ? n.inputs[1] : "")?.shape.reduce(1, *) ?? 0
    }
}
