/// Folds a zero constant Pad on the spatial axes into the pads of the Conv that alone reads it
/// (how exporters write TensorFlow-style "SAME" padding).
enum PadIntoConv {
    static func apply(_ graph: Graph) -> Graph {
        var g = graph
        g.rewriteUntilStable { g in
            let consumers = g.consumers()
            for (i, pad) in g.nodes.enumerated() where pad.op == .pad {
                guard pad.string("mode", default: "constant") == "constant", pad.float("value", default: 0) == 0,
                      let p = pad.ints("pads"), p.count == 8, p[0] == 0, p[1] == 0, p[4] == 0, p[5] == 0,
                      let users = consumers[pad.outputs[0]], users.count == 1,
                      !g.outputs.contains(where: { $0.name == pad.outputs[0] }) else { continue }
                let c = users[0]
                var conv = g.nodes[c]
                guard conv.op == .conv, conv.inputs[0] == pad.outputs[0],
                      conv.string("auto_pad", default: "NOTSET") == "NOTSET" else { continue }
                let old = conv.ints("pads") ?? [0, 0, 0, 0]
                conv.attributes["pads"] = .ints([old[0] + p[2], old[1] + p[3], old[2] + p[6], old[3] + p[7]])
                conv.inputs[0] = pad.inputs[0]
                g.nodes[c] = conv
                g.nodes.remove(at: i)
                return true
            }
            return false
        }
        return g
    }
}
