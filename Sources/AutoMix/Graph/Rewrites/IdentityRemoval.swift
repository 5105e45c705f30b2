/// Removes Identity nodes, reading their input directly. An Identity that maps a graph input straight
/// to a graph output stays (there is nothing else to carry the output name).
enum IdentityRemoval {
    static func apply(_ graph: Graph) -> Graph {
        var g = graph
        while let i = g.nodes.firstIndex(where: { n in
            n.op == .identity && !(g.outputs.contains { $0.name == n.outputs[0] } && g.producerIndex()[n.inputs[0]] == nil)
        }) {
            let n = g.nodes.remove(at: i)
            g.replaceUses(of: n.outputs[0], with: n.inputs[0])
        }
        return g
    }
}
