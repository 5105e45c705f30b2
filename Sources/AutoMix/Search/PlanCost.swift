/// What a precision plan costs on the chip (`CostModel`): `chipCost` in int8 Conv multiply-accumulates, the weight
/// bytes, and the precision boundaries the plan inserts. `macCost` is the first model (MACs × 1/2/8), kept so older
/// journals and reports compare.
public struct PlanCost: Sendable, Codable, Equatable {
    public var weightBytes: Int
    public var macCost: Double
    public var chipCost: Double
    /// RequantizeLinear (int8 ↔ int16) and Quantize/Dequantize (int ↔ float) nodes the plan's precision changes insert.
    public var boundaries: Int

    public init(weightBytes: Int, macCost: Double, chipCost: Double, boundaries: Int) {
        self.weightBytes = weightBytes; self.macCost = macCost; self.chipCost = chipCost; self.boundaries = boundaries
    }

    public init(plan: [String: Precision], layers: [Node], graph: Graph) {
        self = CostModel(layers: layers, graph: graph).cost(plan)
    }

    enum CodingKeys: String, CodingKey { case weightBytes, macCost, chipCost, boundaries }
    /// Journals written before the chip cost existed still resume (their costs are recomputed from the plan).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        weightBytes = try c.decode(Int.self, forKey: .weightBytes)
        macCost = try c.decode(Double.self, forKey: .macCost)
        chipCost = try c.decodeIfPresent(Double.self, forKey: .chipCost) ?? macCost
        boundaries = try c.decodeIfPresent(Int.self, forKey: .boundaries) ?? 0
    }
}

/// AutoMix's model of what a layer costs on the ESP32-P4/S3, in units of one int8 multiply-accumulate of a Conv.
/// The figures follow the SIMD width ESP-DL's kernels use (128-bit PIE: 16 int8 lanes, 8 int16 lanes; float runs as
/// scalar C on the FPU), plus what a kind of layer wastes of it, plus the nodes a precision change inserts:
///
/// | kind | int8 | int16 | float |
/// |---|---|---|---|
/// | Conv (group 1), Gemm, MatMul: per MAC | 1 | 2 | 16 |
/// | depthwise Conv: per MAC (k×k MACs per output, little reuse of what is loaded) | 2 | 4 | 16 |
/// | boundary: per element of the layer's input (RequantizeLinear int8↔int16 / Quantize, Dequantize to float) | 1 | 1 | 4 |
///
/// These are assumptions, stated so plans compare openly; they are not measured on a chip. Weight bytes are counted
/// apart (int8 weights + int32 bias, int16 + int64 bias, float32 both).
public struct CostModel: Sendable {
    public enum Kind: String, Sendable { case conv, depthwise, gemm }
    public static let perMAC: [Kind: [Precision: Double]] = [
        .conv: [.int8: 1, .int16: 2, .float: 16],
        .depthwise: [.int8: 2, .int16: 4, .float: 16],
        .gemm: [.int8: 1, .int16: 2, .float: 16],
    ]
    public static let flatFactor: [Precision: Double] = [.int8: 1, .int16: 2, .float: 8]
    /// Per element converted: between the two integer widths, or to or from float.
    public static let boundaryInteger = 1.0, boundaryFloat = 4.0

    struct Layer: Sendable {
        let name: String
        let kind: Kind
        let macs: Int
        let weights: Int
        let channels: Int
        let inputElements: Int
        /// The layers whose outputs reach this layer's input through layer-free ops (empty: the graph input).
        let sources: [String]
    }
    let layers: [Layer]

    public init(layers nodes: [Node], graph: Graph) {
        let names = Set(nodes.map(\.name))
        var producer: [String: Node] = [:]
        for n in graph.nodes { for o in n.outputs { producer[o] = n } }
        /// The plan's layers that feed `tensor`, walking back through the ops in between.
        func sources(_ tensor: String) -> [String] {
            var found: [String] = [], seen = Set<String>(), stack = [tensor]
            while let t = stack.popLast() {
                guard seen.insert(t).inserted, let p = producer[t] else { continue }
                if names.contains(p.name) { found.append(p.name); continue }
                stack += p.inputs.filter { graph.constant($0) == nil }
            }
            return found.sorted()
        }
        layers = nodes.map { n in
            let w = graph.constant(n.inputs.count > 1 ? n.inputs[1] : "")?.shape ?? []
            let group = n.int("group", default: 1)
            let kind: Kind = n.op == .conv ? (group > 1 ? .depthwise : .conv) : .gemm
            let input = graph.shapes[n.inputs.first ?? ""]?.dropFirst().reduce(1, *) ?? 0
            return Layer(name: n.name, kind: kind, macs: LayerCost.macs(n, in: graph), weights: LayerCost.weights(n, in: graph),
                         channels: w.first ?? 0, inputElements: input, sources: n.inputs.first.map(sources) ?? [])
        }
    }

    public func cost(_ plan: [String: Precision]) -> PlanCost {
        var bytes = 0, flat = 0.0, chip = 0.0, boundaries = 0
        for l in layers {
            let p = plan[l.name] ?? .int8
            let (w, b) = p == .int8 ? (1, 4) : p == .int16 ? (2, 8) : (4, 4)
            bytes += l.weights * w + l.channels * b
            flat += Double(l.macs) * Self.flatFactor[p]!
            chip += Double(l.macs) * Self.perMAC[l.kind]![p]!
            for s in l.sources where (plan[s] ?? .int8) != p {
                boundaries += 1
                chip += Double(l.inputElements) * (p == .float || plan[s] == .float ? Self.boundaryFloat : Self.boundaryInteger)
            }
        }
        return PlanCost(weightBytes: bytes, macCost: flat, chipCost: chip, boundaries: boundaries)
    }
}
