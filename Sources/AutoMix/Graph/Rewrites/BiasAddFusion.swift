/// Moves a constant per-channel Add after Conv or Gemm into its bias, and turns MatMul(2-D, constant)
/// followed by such an Add into one Gemm, so every layer carries its own bias (as ESP-DL expects).
enum BiasAddFusion {
    static func apply(_ graph: Graph) -> Graph {
        var g = graph
        g.rewriteUntilStable { g in
            let producers = g.producerIndex(), consumers = g.consumers()
            for (i, add) in g.nodes.enumerated() where add.op == .add {
                for (src, constSlot) in [(0, 1), (1, 0)] {
                    guard let p = producers[add.inputs[src]], consumers[add.inputs[src]]?.count == 1,
                          !g.outputs.contains(where: { $0.name == add.inputs[src] }),
                          let addend = g.constant(add.inputs[constSlot])?.floatTensor,
                          let fused = fuse(g.nodes[p], addend: addend, graph: &g) else { continue }
                    g.nodes[p] = fused
                    g.nodes[p].outputs = [add.outputs[0]]
                    g.nodes.remove(at: i)
                    return true
                }
            }
            return false
        }
        g.pruneConstants()
        return g
    }

    private static func fuse(_ node: Node, addend: Tensor, graph g: inout Graph) -> Node? {
        var n = node
        let channels: Int
        switch n.op {
        case .conv:
            guard let w = g.constant(n.inputs[1]) else { return nil }
            channels = w.shape[0]
            // a scalar, or [C,1,1] / [1,C,1,1]: one value per output channel
            var dims = addend.shape
            while dims.count > 3, dims.first == 1 { dims.removeFirst() }
            guard addend.count == 1 || dims == [channels, 1, 1] else { return nil }
        case .gemm:
            guard let w = g.constant(n.inputs[1]), w.shape.count == 2 else { return nil }
            channels = n.int("transB", default: 0) != 0 ? w.shape[0] : w.shape[1]
            guard addend.count == channels || addend.count == 1, addend.shape.count <= 2,
                  addend.shape.count < 2 || addend.shape[0] == 1 else { return nil }
        case .matMul:
            guard let w = g.constant(n.inputs[1]), w.shape.count == 2, g.shapes[n.inputs[0]]?.count == 2 else { return nil }
            channels = w.shape[1]
            guard addend.count == channels || addend.count == 1, addend.shape.count <= 2,
                  addend.shape.count < 2 || addend.shape[0] == 1 else { return nil }
            n.op = .gemm
            n.attributes = [:]
        default:
            return nil
        }
        var bias = [Float](repeating: 0, count: channels)
        if n.inputs.count > 2, !n.inputs[2].isEmpty {
            guard let b = g.constant(n.inputs[2])?.floatTensor, b.count == channels else { return nil }
            let beta = n.op == .gemm ? n.float("beta", default: 1) : 1
            bias = b.data.map { $0 * beta }
        }
        for c in 0..<channels { bias[c] += addend.data[addend.count == 1 ? 0 : c] }
        let name = n.name + "_bias_fused"
        g.constants[name] = .float(Tensor(shape: [channels], data: bias))
        if n.op == .gemm { n.attributes["beta"] = .float(1) }
        n.inputs = [n.inputs[0], n.inputs[1], name]
        return n
    }
}
