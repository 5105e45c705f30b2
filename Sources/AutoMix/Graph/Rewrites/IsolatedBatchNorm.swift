/// A BatchNormalization that no Conv/Gemm before it can absorb (after a Relu, say) becomes what ESP-DL runs: on a
/// feature map a depthwise 1×1 Conv with weight `s` and bias `t` (ESP-PPQ's `replace_batchnorm_to_conv`), on a
/// vector (BatchNorm1d after a Gemm) a Mul by `s` and an Add of `t` (ESP-PPQ's `replace_batchnorm_to_scale`).
/// Needs shapes.
enum IsolatedBatchNorm {
    static func apply(_ graph: Graph) -> Graph {
        var g = graph
        var nodes: [Node] = []
        for bn in g.nodes {
            guard bn.op == .batchNormalization, bn.outputs.count == 1, let rank = g.shapes[bn.inputs[0]]?.count,
                  let params = (1...4).map({ g.constant(bn.inputs[$0])?.floatTensor.data }) as [[Float]?]?,
                  let gamma = params[0], let beta = params[1], let mean = params[2], let variance = params[3]
            else { nodes.append(bn); continue }
            let folding = BatchNormFold.Folding(gamma: gamma, beta: beta, mean: mean, variance: variance,
                                                epsilon: bn.float("epsilon", default: 1e-5))
            let (s, t) = (folding.scale, folding.bias(from: [Float](repeating: 0, count: gamma.count)))
            let c = s.count
            if rank == 4 {
                g.constants[bn.name + "::weight"] = .float(Tensor(shape: [c, 1, 1, 1], data: s))
                g.constants[bn.name + "::bias"] = .float(Tensor(shape: [c], data: t))
                nodes.append(Node(name: bn.name, op: .conv, inputs: [bn.inputs[0], bn.name + "::weight", bn.name + "::bias"],
                                  outputs: bn.outputs, attributes: ["group": .int(c), "kernel_shape": .ints([1, 1]), "strides": .ints([1, 1]),
                                                                    "dilations": .ints([1, 1]), "pads": .ints([0, 0, 0, 0])]))
            } else {
                let trailing = [Int](repeating: 1, count: max(rank - 2, 0))
                g.constants[bn.name + "::scale"] = .float(Tensor(shape: [c] + trailing, data: s))
                g.constants[bn.name + "::shift"] = .float(Tensor(shape: [c] + trailing, data: t))
                nodes.append(Node(name: bn.name + "::mul", op: .mul, inputs: [bn.inputs[0], bn.name + "::scale"],
                                  outputs: [bn.outputs[0] + "::scaled"]))
                nodes.append(Node(name: bn.name, op: .add, inputs: [bn.outputs[0] + "::scaled", bn.name + "::shift"], outputs: bn.outputs))
            }
        }
        g.nodes = nodes
        g.pruneConstants()
        return g
    }
}
