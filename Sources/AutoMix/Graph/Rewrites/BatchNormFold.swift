/// Folds inference-mode BatchNormalization into the Conv or Gemm whose output it alone reads:
/// `W'[c] = W[c]·s[c]`, `b'[c] = b[c]·s[c] + t[c]` with `s = γ/√(σ²+ε)`, `t = β − μ·s`.
enum BatchNormFold {
    /// Per-channel scale and shift of a batch normalization, computed in Double and rounded once.
    static func affine(scale: [Float], bias: [Float], mean: [Float], variance: [Float], epsilon: Float) -> ([Float], [Float]) {
        var s = [Float](repeating: 0, count: scale.count), t = s
        for c in scale.indices {
            let sd = Double(scale[c]) / (Double(variance[c]) + Double(epsilon)).squareRoot()
            s[c] = Float(sd)
            t[c] = Float(Double(bias[c]) - Double(mean[c]) * sd)
        }
        return (s, t)
    }

    /// ESP-PPQ's `fuse_bn` arithmetic, float32 in its order, so that folded weights and biases are ESP-PPQ's to the
    /// bit: `s = γ/√(σ²+ε)`, `b' = γ·(b − μ)/√(σ²+ε) + β`.
    struct Folding {
        let gamma: [Float], beta: [Float], mean: [Float], root: [Float]
        init(gamma: [Float], beta: [Float], mean: [Float], variance: [Float], epsilon: Float) {
            self.gamma = gamma; self.beta = beta; self.mean = mean
            root = variance.map { ($0 + epsilon).squareRoot() }
        }
        var scale: [Float] { zip(gamma, root).map { $0 / $1 } }
        func bias(from b: [Float]) -> [Float] { b.indices.map { c in gamma[c] * (b[c] - mean[c]) / root[c] + beta[c] } }
    }

    static func apply(_ graph: Graph) -> Graph {
        var g = graph
        g.rewriteUntilStable { g in
            let producers = g.producerIndex(), consumers = g.consumers()
            for (i, bn) in g.nodes.enumerated() where bn.op == .batchNormalization {
                guard bn.outputs.count == 1, let p = producers[bn.inputs[0]], consumers[bn.inputs[0]]?.count == 1,
                      !g.outputs.contains(where: { $0.name == bn.inputs[0] }),
                      let params = (1...4).map({ g.constant(bn.inputs[$0])?.floatTensor.data }) as [[Float]?]?,
                      let gamma = params[0], let beta = params[1], let mean = params[2], let variance = params[3]
                else { continue }
                let folding = Folding(gamma: gamma, beta: beta, mean: mean, variance: variance, epsilon: bn.float("epsilon", default: 1e-5))
                guard let folded = fold(into: g.nodes[p], folding, graph: &g) else { continue }
                g.nodes[p] = folded
                g.nodes[p].outputs = [bn.outputs[0]]
                g.nodes.remove(at: i)
                return true
            }
            return false
        }
        g.pruneConstants()
        return g
    }

    /// The producer with the affine folded into its weights and bias, or nil if it cannot take it.
    private static func fold(into node: Node, _ folding: Folding, graph g: inout Graph) -> Node? {
        var n = node
        let s = folding.scale
        guard n.inputs.count >= 2, var w = g.constant(n.inputs[1])?.floatTensor else { return nil }
        let channels = s.count
        var bias: [Float]
        switch n.op {
        case .conv:
            guard w.shape[0] == channels else { return nil }
            let per = w.count / channels
            for c in 0..<channels { for k in 0..<per { w.data[c * per + k] *= s[c] } }
            bias = n.inputs.count > 2 ? (g.constant(n.inputs[2])?.floatTensor.data ?? []) : [Float](repeating: 0, count: channels)
        case .gemm:
            let transB = n.int("transB", default: 0) != 0
            guard w.shape.count == 2, (transB ? w.shape[0] : w.shape[1]) == channels else { return nil }
            for r in 0..<w.shape[0] { for c in 0..<w.shape[1] { w.data[r * w.shape[1] + c] *= s[transB ? r : c] } }
            let beta = n.float("beta", default: 1)
            if n.inputs.count > 2, !n.inputs[2].isEmpty {
                guard let c = g.constant(n.inputs[2])?.floatTensor, c.count == channels || c.count == 1 else { return nil }
                bias = (0..<channels).map { c.data[c.count == 1 ? 0 : $0] * beta }
            } else {
                bias = [Float](repeating: 0, count: channels)
            }
            n.attributes["beta"] = nil   // folded into the bias; ONNX's default is 1
        default:
            return nil
        }
        guard bias.count == channels else { return nil }
        bias = folding.bias(from: bias)
        let wName = n.inputs[1] + "_bnfolded", bName = n.name + "_bias_bnfolded"
        g.constants[wName] = .float(w)
        g.constants[bName] = .float(Tensor(shape: [channels], data: bias))
        n.inputs = [n.inputs[0], wName, bName]
        return n
    }
}
