/// Brings the opset-dependent forms of one op to one form: Clip bounds, Squeeze/Unsqueeze axes and Pad
/// pads become attributes (opsets ≥ 11/13 pass them as inputs), Dropout becomes Identity.
/// Runs after constant folding, so the moved inputs are constants.
enum NormalizeForms {
    static func apply(_ graph: Graph) throws -> Graph {
        var g = graph
        for i in g.nodes.indices {
            var n = g.nodes[i]
            switch n.op {
            case .clip:
                for (slot, key) in [(1, "min"), (2, "max")] where slot < n.inputs.count && !n.inputs[slot].isEmpty {
                    guard let v = g.constant(n.inputs[slot])?.floatTensor.data.first else {
                        throw ShapeInference.fail(n, "Clip \(key) must be a constant")
                    }
                    n.attributes[key] = .float(v)
                }
                n.inputs = [n.inputs[0]]
            case .squeeze, .unsqueeze:
                if n.inputs.count > 1, !n.inputs[1].isEmpty {
                    guard let axes = g.constant(n.inputs[1])?.ints else { throw ShapeInference.fail(n, "axes must be a constant") }
                    n.attributes["axes"] = .ints(axes)
                }
                n.inputs = [n.inputs[0]]
            case .pad:
                if n.inputs.count > 1 {
                    guard let pads = g.constant(n.inputs[1])?.ints else { throw ShapeInference.fail(n, "pads must be a constant") }
                    n.attributes["pads"] = .ints(pads)
                    if n.inputs.count > 2, !n.inputs[2].isEmpty {
                        guard let v = g.constant(n.inputs[2])?.floatTensor.data.first else {
                            throw ShapeInference.fail(n, "the pad value must be a constant")
                        }
                        n.attributes["value"] = .float(v)
                    }
                    if n.inputs.count > 3, !n.inputs[3].isEmpty { throw ShapeInference.fail(n, "Pad with 'axes' is not supported") }
                }
                n.inputs = [n.inputs[0]]
            case .dropout:
                n.op = .identity
                n.outputs = [n.outputs[0]]
                n.attributes = [:]
                n.inputs = [n.inputs[0]]
            default:
                break
            }
            g.nodes[i] = n
        }
        g.pruneConstants()
        return g
    }
}
