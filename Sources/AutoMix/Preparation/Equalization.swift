import Foundation

/// ESP-PPQ's layerwise (cross-layer) equalization (`LayerwiseEqualizationPass`, Nagel et al. 2019): for each
/// pair of Conv/Gemm layers joined only by ops that commute with a positive per-channel scale, output channel c
/// of the upstream layers is multiplied by s_c and input channel c of the downstream layers divided by it, with
/// s_c = sqrt(max|w_down[c]| / max|w_up[c]|) clamped to [0.1, 10], so both see similar ranges. The float
/// function is unchanged. Unlike ESP-PPQ, a pair is kept only if it lowers its layers' weight quantization
/// error, measured in the original parametrisation, so equalization cannot make weights worse.
public enum Equalization {
    public struct Settings: Codable, Equatable, Sendable, CustomStringConvertible {
        /// 1: pairs joined by Relu/pooling; 2: also across Add/Sub (several upstream layers at once).
        public var level: Int
        public var iterations: Int
        /// Channels whose up + down key is below this keep scale 1.
        public var valueThreshold: Float
        /// Upstream bias (× 0.5) counts in the upstream key, as ESP-PPQ's `including_bias`.
        public var includingBias: Bool
        /// Layers a pair may start from; empty = all.
        public var layers: [String]

        /// ESP-PPQ's defaults (`EqualizationSetting`).
        public init(level: Int = 1, iterations: Int = 10, valueThreshold: Float = 0.5, includingBias: Bool = false, layers: [String] = []) {
            self.level = level; self.iterations = iterations; self.valueThreshold = valueThreshold
            self.includingBias = includingBias; self.layers = layers
        }

        public var description: String {
            "level \(level), \(iterations) iterations, threshold \(valueThreshold)" + (includingBias ? ", bias included" : "")
                + (layers.isEmpty ? "" : ", from \(layers.count) layers")
        }
    }

    public struct Pair: Sendable {
        public let upstream: [String]
        public let downstream: [String]
        /// Σ over the pair's layers of ‖Q(w) − w‖² / ‖w‖², before and after (original parametrisation).
        public var errorBefore = 0.0
        public var errorAfter = 0.0
        public var kept = false
    }

    public struct Report: Sendable {
        public var pairs: [Pair]
        public var kept: Int { pairs.filter(\.kept).count }
        public var summary: String {
            let before = pairs.filter(\.kept).reduce(0) { $0 + $1.errorBefore }, after = pairs.filter(\.kept).reduce(0) { $0 + $1.errorAfter }
            return String(format: "equalization: %d pairs found, %d equalized (weight quantization error of those %.4g → %.4g), %d left unchanged",
                          pairs.count, kept, before, after, pairs.count - kept)
        }
    }

    /// Ops a per-channel scale crosses: level 1 single-input ones, level 2 also Add/Sub (both inputs scaled alike).
    static func passesScale(_ op: OpKind, level: Int) -> Bool {
        op.rule.scalesThrough && (level == 2 || op.rule.format != .aligned)
    }

    /// The equalized graph; `config` decides the weight quantizer the error check uses (its default width).
    public static func apply(_ graph: Graph, settings: Settings, config: QuantizationConfig) throws -> (Graph, Report) {
        guard settings.level == 1 || settings.level == 2 else {
            throw AutoMixError.invalidArgument("equalization level must be 1 or 2, not \(settings.level)")
        }
        for name in settings.layers where !graph.nodes.contains(where: { $0.name == name }) {
            throw AutoMixError.invalidArgument("equalization layer '\(name)' is not a node of model '\(graph.name)'")
        }
        let pairs = findPairs(graph, settings: settings)
        var layers: [String: LinearWeights] = [:]
        for p in pairs { for name in p.upstream + p.downstream { layers[name] = LinearWeights(graph.nodes.first { $0.name == name }!, in: graph) } }
        let original = layers
        var biases: [String: [Float]] = [:]
        for (name, l) in layers where l.node.inputs.count > 2 { biases[name] = graph.constant(l.node.inputs[2])?.floatTensor.data }

        // ESP-PPQ's iterations: every pair in turn on the current weights, accumulating each pair's scale
        var scales = pairs.map { p in [Float](repeating: 1, count: layers[p.upstream[0]]!.outChannels) }
        for _ in 0..<settings.iterations {
            for (k, p) in pairs.enumerated() {
                var up = [Float](repeating: 0, count: scales[k].count), down = up
                for name in p.upstream {
                    let key = layers[name]!.absMax(perOutput: true)
                    for c in up.indices { up[c] = max(up[c], key[c]) }
                    if settings.includingBias, let b = biases[name] {
                        for c in up.indices { up[c] = max(up[c], abs(b[c]) * 0.5) }
                    }
                }
                for name in p.downstream {
                    let key = layers[name]!.absMax(perOutput: false)
                    for c in down.indices { down[c] = max(down[c], key[c]) }
                }
                let s = up.indices.map { c -> Float in
                    let s = min(max(1 / (up[c] / down[c]).squareRoot(), 0.1), 10)
                    return up[c] + down[c] < settings.valueThreshold || !s.isFinite ? 1 : s
                }
                for name in p.upstream {
                    layers[name]!.weights = layers[name]!.scaled(out: s, in: nil)
                    biases[name] = biases[name].map { zip($0, s).map { $0 * $1 } }
                }
                for name in p.downstream { layers[name]!.weights = layers[name]!.scaled(out: nil, in: s) }
                for c in s.indices { scales[k][c] *= s[c] }
            }
        }

        // keep a pair only where it lowers its layers' weight error; pairs own distinct axes, so each is undone exactly
        let quantizer = Quantizer.weightsOnly(graph, config: config)
        let bits = config.bits
        func outScale(_ name: String, _ kept: [Bool]) -> [Float]? {
            pairs.indices.first { kept[$0] && pairs[$0].upstream.contains(name) }.map { scales[$0] }
        }
        func inScale(_ name: String, _ kept: [Bool]) -> [Float]? {
            pairs.indices.first { kept[$0] && pairs[$0].downstream.contains(name) }.map { scales[$0] }
        }
        func error(_ k: Int, _ kept: [Bool]) -> Double {
            (pairs[k].upstream + pairs[k].downstream).reduce(0) { sum, name in
                let l = original[name]!
                let so = outScale(name, kept), si = inScale(name, kept)
                let w = l.scaled(out: so, in: si)
                let q = quantizer.fakeQuantizedWeight(l.node, w, bits: bits)
                var num = 0.0, den = 0.0
                for i in w.data.indices {
                    let (o, c) = l.channels(i)
                    let back = Double(q.data[i] - w.data[i]) / Double(so?[o] ?? 1) * Double(si?[c] ?? 1)
                    num += back * back
                    den += Double(l.weights.data[i]) * Double(l.weights.data[i])
                }
                return sum + num / max(den, 1e-30)
            }
        }
        let none = [Bool](repeating: false, count: pairs.count)
        let before = pairs.indices.map { error($0, none) }
        var kept = [Bool](repeating: true, count: pairs.count)
        var after = before
        var changed = true
        while changed {   // the last round changes nothing, so `after` holds every kept pair's final error
            changed = false
            for k in pairs.indices where kept[k] {
                after[k] = error(k, kept)
                if after[k] >= before[k] {
                    kept[k] = false
                    after[k] = before[k]
                    changed = true
                }
            }
        }
        var report = Report(pairs: pairs)
        for k in pairs.indices {
            report.pairs[k].errorBefore = before[k]
            report.pairs[k].errorAfter = after[k]
            report.pairs[k].kept = kept[k]
        }

        var g = graph
        for (name, l) in original {
            let so = outScale(name, kept), si = inScale(name, kept)
            guard so != nil || si != nil else { continue }
            g.constants[l.node.inputs[1]] = .float(l.scaled(out: so, in: si))
            if let so, l.node.inputs.count > 2, let b = g.constant(l.node.inputs[2])?.floatTensor {
                g.constants[l.node.inputs[2]] = .float(Tensor(shape: b.shape, data: zip(b.data, so).map { $0 * $1 }))
            }
        }
        return (g, report)
    }

    /// ESP-PPQ's pair search, closed in both directions: from a layer down through pass-through ops to the layers
    /// it reaches, back up from those to every layer feeding them, until neither set grows. A pair is dropped when
    /// an end is not a Conv/Gemm with constant weights of its own, or the scaled values reach a graph output.
    static func findPairs(_ graph: Graph, settings: Settings) -> [Pair] {
        let consumers = graph.consumers(), producers = graph.producerIndex()
        let outputs = Set(graph.outputs.map(\.name))
        var weightUsers: [String: Int] = [:]
        for n in graph.nodes where n.inputs.count > 1 { weightUsers[n.inputs[1], default: 0] += 1 }
        func equalizable(_ n: Node) -> Bool {
            LinearWeights(n, in: graph) != nil && weightUsers[n.inputs[1]] == 1
                && (n.inputs.count < 3 || n.inputs[2].isEmpty || graph.constant(n.inputs[2]) != nil)
        }
        let interested = Set(settings.layers)
        var visited = Set<String>(), pairs: [Pair] = []
        for start in graph.nodes where (start.op == .conv || start.op == .gemm) && !visited.contains(start.name)
            && (interested.isEmpty || interested.contains(start.name)) {
            var up: Set<Int> = [graph.nodes.firstIndex { $0.name == start.name }!], down = Set<Int>(), valid = true
            var grew = true
            while grew && valid {
                grew = false
                // down from every upstream layer
                var stack = up.map { graph.nodes[$0].outputs[0] }, seen = Set<String>()
                while let v = stack.popLast(), valid {
                    guard seen.insert(v).inserted else { continue }
                    if outputs.contains(v) { valid = false; break }
                    for c in consumers[v] ?? [] {
                        let n = graph.nodes[c]
                        if passesScale(n.op, level: settings.level) {
                            if [.add, .sub].contains(n.op), n.inputs.contains(where: { graph.constant($0) != nil }) { valid = false }
                            if [.pRelu].contains(n.op), n.inputs[0] != v { valid = false }
                            stack.append(n.outputs[0])
                        } else if n.inputs[0] == v && n.inputs.dropFirst().allSatisfy({ $0 != v }) {
                            if down.insert(c).inserted { grew = true }
                        } else {
                            valid = false
                        }
                    }
                }
                // up from every downstream layer
                stack = down.map { graph.nodes[$0].inputs[0] }
                seen = []
                while let v = stack.popLast(), valid {
                    guard seen.insert(v).inserted else { continue }
                    guard let p = producers[v] else { valid = false; break }   // the graph input
                    let n = graph.nodes[p]
                    if passesScale(n.op, level: settings.level) {
                        stack.append(contentsOf: n.op == .add || n.op == .sub ? n.inputs : [n.inputs[0]])
                    } else if up.insert(p).inserted {
                        grew = true
                    }
                }
            }
            visited.formUnion(up.map { graph.nodes[$0].name })
            guard valid, !down.isEmpty,
                  up.allSatisfy({ equalizable(graph.nodes[$0]) }), down.allSatisfy({ equalizable(graph.nodes[$0]) }) else { continue }
            let upLayers = up.sorted().map { LinearWeights(graph.nodes[$0], in: graph)! }
            let channels = upLayers[0].outChannels
            guard upLayers.allSatisfy({ $0.outChannels == channels }),
                  down.allSatisfy({ LinearWeights(graph.nodes[$0], in: graph)!.inChannels == channels }) else { continue }
            pairs.append(Pair(upstream: up.sorted().map { graph.nodes[$0].name }, downstream: down.sorted().map { graph.nodes[$0].name }))
        }
        return pairs
    }
}
