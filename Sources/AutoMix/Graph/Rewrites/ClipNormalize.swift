/// One spelling per activation: Clip(0, +∞) is Relu, Clip(0, 6) stays Clip (ReLU6) with numeric bounds.
enum ClipNormalize {
    static func apply(_ graph: Graph) -> Graph {
        var g = graph
        for i in g.nodes.indices where g.nodes[i].op == .clip {
            let lo = g.nodes[i].float("min", default: -.greatestFiniteMagnitude)
            let hi = g.nodes[i].float("max", default: .greatestFiniteMagnitude)
            if lo == 0 && (hi == .greatestFiniteMagnitude || hi == .infinity) {
                g.nodes[i].op = .relu
                g.nodes[i].attributes = [:]
            } else {
                g.nodes[i].attributes = ["min": .float(lo), "max": .float(hi)]
            }
        }
        return g
    }
}
