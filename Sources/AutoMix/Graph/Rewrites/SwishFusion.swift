/// `x·Sigmoid(x)` (how torch exports SiLU) becomes one Swish, as ESP-PPQ's `fuse_swish` does by default: the chip then
/// runs one lookup instead of a Sigmoid table and an integer Mul, which round differently.
enum SwishFusion {
    static func apply(_ graph: Graph) -> Graph {
        var g = graph
        g.rewriteUntilStable { g in
            let producers = g.producerIndex(), consumers = g.consumers()
            for (i, mul) in g.nodes.enumerated() where mul.op == .mul && mul.inputs.count == 2 {
                for k in 0..<2 {
                    let (x, s) = (mul.inputs[k], mul.inputs[1 - k])
                    guard let p = producers[s], g.nodes[p].op == .sigmoid, g.nodes[p].inputs[0] == x,
                          consumers[s]?.count == 1, !g.outputs.contains(where: { $0.name == s }) else { continue }
                    g.nodes[i] = Node(name: mul.name, op: .swish, inputs: [x], outputs: mul.outputs)
                    g.nodes.remove(at: p)
                    return true
                }
            }
            return false
        }
        return g
    }
}
