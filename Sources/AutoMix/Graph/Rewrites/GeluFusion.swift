/// torch's GELU before opset 20, `Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5)` (the 0.5 on either side), becomes one
/// Gelu: ESP-DL runs Gelu as one lookup, and the spelled-out form would quantize Erf, Add and two Muls separately.
enum GeluFusion {
    static func apply(_ graph: Graph) -> Graph {
        var g = graph
        g.rewriteUntilStable { g in
            let producers = g.producerIndex(), consumers = g.consumers()
            func scalar(_ v: String) -> Float? { g.constant(v).flatMap { $0.shape.reduce(1, *) == 1 ? $0.floatTensor.data.first : nil } }
            func only(_ v: String) -> Bool { consumers[v]?.count == 1 && !g.outputs.contains { $0.name == v } }
            for (e, erf) in g.nodes.enumerated() where erf.op == .erf {
                guard let d = producers[erf.inputs[0]], g.nodes[d].op == .div, let root2 = scalar(g.nodes[d].inputs[1]),
                      abs(root2 - 1.4142135) < 1e-5, only(erf.inputs[0]), only(erf.outputs[0]),
                      let a = consumers[erf.outputs[0]]?.first, g.nodes[a].op == .add,
                      let one = g.nodes[a].inputs.compactMap(scalar).first, one == 1, only(g.nodes[a].outputs[0]),
                      let m1 = consumers[g.nodes[a].outputs[0]]?.first, g.nodes[m1].op == .mul
                else { continue }
                let x = g.nodes[d].inputs[0]
                // x·(1 + erf)·0.5, the 0.5 applied to x first or to the product last
                var inner = g.nodes[m1].inputs.first { $0 != g.nodes[a].outputs[0] } ?? ""
                var half: Int?
                if inner != x, let p = producers[inner], g.nodes[p].op == .mul, g.nodes[p].inputs.contains(x),
                   g.nodes[p].inputs.compactMap(scalar).first == 0.5, only(inner) {
                    half = p; inner = x
                }
                guard inner == x else { continue }
                var last = m1
                if half == nil {
                    guard only(g.nodes[m1].outputs[0]), let m2 = consumers[g.nodes[m1].outputs[0]]?.first, g.nodes[m2].op == .mul,
                          g.nodes[m2].inputs.compactMap(scalar).first == 0.5 else { continue }
                    last = m2
                }
                let gelu = Node(name: g.nodes[last].name, op: .gelu, inputs: [x], outputs: g.nodes[last].outputs)
                let drop = Set([d, e, a, m1, last] + (half.map { [$0] } ?? []))
                g.nodes[last] = gelu
                g.nodes = g.nodes.enumerated().filter { !drop.contains($0.offset) || $0.offset == last }.map(\.element)
                return true
            }
            return false
        }
        g.pruneConstants()
        return g
    }
}
