/// ESP-PPQ's horizontal layer split (`HorizontalLayerSplitPass`): a listed Conv/Gemm `Y = W·X + b` becomes
/// `(W₁·X + b) + W₂·X`, joined by an Add, where the weights above `threshold` in magnitude are halved
/// (`balance`) or split at a random fraction (`random`) between W₁ and W₂. The per-tensor range shrinks, so
/// a power-of-two weight scale can be one step finer; the cost is a second layer and an Add.
public enum LayerSplit {
    public enum Method: String, Codable, Sendable, CaseIterable { case balance, random }

    public struct Settings: Codable, Equatable, Sendable {
        public var layers: [String]
        public var threshold: Float
        public var method: Method
        /// ESP-PPQ's `WeightSplitSetting` defaults.
        public init(layers: [String], threshold: Float = 2.0, method: Method = .balance) {
            self.layers = layers; self.threshold = threshold; self.method = method
        }
    }

    /// The split graph and, per listed layer, how many weights were split (0: left as it was).
    public static func apply(_ graph: Graph, settings: Settings) throws -> (Graph, [String: Int]) {
        var g = graph
        var counts: [String: Int] = [:]
        var random = SplitMix64(seed: 0x5EED)
        for name in settings.layers {
            guard let i = g.nodes.firstIndex(where: { $0.name == name }) else {
                throw AutoMixError.invalidArgument("--split-layer: '\(name)' is not a node of model '\(graph.name)'")
            }
            let n = g.nodes[i]
            guard n.op == .conv || n.op == .gemm, let w = g.constant(n.inputs[1])?.floatTensor else {
                throw AutoMixError.invalidArgument("--split-layer: '\(name)' is a \(n.op.rawValue), not a Conv/Gemm with constant weights")
            }
            var kept = w, split = w
            var count = 0
            for k in w.data.indices {
                let x = w.data[k]
                guard abs(x) > settings.threshold else { split.data[k] = 0; continue }
                let part = settings.method == .balance ? x / 2 : x * Float(random.nextUnit())
                split.data[k] = part
                kept.data[k] = x - part
                count += 1
            }
            counts[name] = count
            guard count > 0 else { continue }
            let out = n.outputs[0]
            var first = n, second = n
            first.outputs = [out + "::split_a"]
            second.name = name + "::split"
            second.inputs = [n.inputs[0], n.inputs[1] + "::split"]
            second.outputs = [out + "::split_b"]
            let add = Node(name: name + "::split_add", op: .add, inputs: [first.outputs[0], second.outputs[0]], outputs: [out], attributes: [:])
            g.constants[n.inputs[1]] = .float(kept)
            g.constants[n.inputs[1] + "::split"] = .float(split)
            g.nodes.replaceSubrange(i...i, with: [first, second, add])
        }
        try g.inferShapes()
        return (g, counts)
    }
}

/// A small seeded generator, so a `random` split is the same on every run (and in `export`).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
