/// What a precision plan costs on the chip: weight bytes, and multiply-accumulates weighted by how much slower
/// each precision runs there. The factors are AutoMix's assumptions, stated so plans compare openly: ESP32 SIMD
/// handles half as many int16 lanes as int8, and float runs on the scalar FPU.
public struct PlanCost: Sendable, Codable, Equatable {
    public static let macFactor: [Precision: Double] = [.int8: 1, .int16: 2, .float: 8]

    public var weightBytes: Int
    public var macCost: Double

    public init(plan: [String: Precision], layers: [Node], graph: Graph) {
        var bytes = 0, cost = 0.0
        for n in layers {
            let p = plan[n.name] ?? .int8
            let weights = LayerCost.weights(n, in: graph)
            let channels = graph.constant(n.inputs.count > 1 ? n.inputs[1] : "")?.shape.first ?? 0
            let (w, b) = p == .int8 ? (1, 4) : p == .int16 ? (2, 8) : (4, 4)
            bytes += weights * w + channels * b
            cost += Double(LayerCost.macs(n, in: graph)) * Self.macFactor[p]!
        }
        weightBytes = bytes
        macCost = cost
    }
}
