/// Evaluates every node whose inputs are all constants (weight transposes, Shape→Gather→Concat chains
/// feeding Reshape, Constant nodes) and drops it. The dynamic batch dimension of a `Shape` result is
/// carried as a sentinel; a Reshape target that holds it gets 0 ("copy the input's dimension") there.
enum ConstantFold {
    static let dynamicDim: Int64 = -(1 << 40)

    static func isDynamic(_ v: Int64) -> Bool { v <= dynamicDim / 2 && v >= dynamicDim * 2 }

    static func apply(_ graph: Graph) throws -> Graph {
        var g = graph
        var shapes: [String: [Int]] = [:]
        for i in g.inputs { shapes[i.name] = i.shape }
        var kept: [Node] = []
        for n in g.nodes {
            let known = n.inputs.allSatisfy { $0.isEmpty || g.constants[$0] != nil }
            if let values = try evaluate(n, known: known, shapes: shapes, graph: g) {
                for (o, v) in zip(n.outputs, values) { g.constants[o] = v }
                continue
            }
            var node = n
            if n.op == .reshape, n.inputs.count > 1, case let .int(shape, values)? = g.constants[n.inputs[1]],
               values.contains(where: isDynamic) {
                let fixed = values.map { isDynamic($0) ? 0 : $0 }
                let name = n.inputs[1] + "_static"
                g.constants[name] = .int(shape: shape, values: fixed)
                node.inputs[1] = name
            }
            let ins = node.inputs.map { v -> [Int]? in v.isEmpty ? nil : (shapes[v] ?? g.constants[v]?.shape) }
            let outs = try ShapeInference.outputShapes(node, ins) { g.constant($0) }
            for (o, s) in zip(node.outputs, outs) { shapes[o] = s }
            kept.append(node)
        }
        g.nodes = kept
        // graph outputs that became constants stay computed by an Identity of the constant
        for o in g.outputs where g.constants[o.name] != nil && !kept.contains(where: { $0.outputs.contains(o.name) }) {
            throw AutoMixError.invalidArgument("graph output '\(o.name)' is a constant; nothing to run")
        }
        for n in kept {
            for v in n.inputs where !v.isEmpty {
                if case let .int(_, values)? = g.constants[v], values.contains(where: isDynamic) {
                    throw ShapeInference.fail(n, "input '\(v)' depends on the dynamic batch size, which AutoMix cannot fold here")
                }
            }
        }
        g.pruneConstants()
        return g
    }

    /// The node's outputs when they can be computed now, nil otherwise.
    static func evaluate(_ n: Node, known: Bool, shapes: [String: [Int]], graph g: Graph) throws -> [ConstantValue]? {
        switch n.op {
        case .constant:
            if case let .tensor(v)? = n.attributes["value"] { return [v] }
            if case let .float(f)? = n.attributes["value_float"] { return [.float(Tensor(shape: [], data: [f]))] }
            if case let .floats(f)? = n.attributes["value_floats"] { return [.float(Tensor(shape: [f.count], data: f))] }
            if case let .int(i)? = n.attributes["value_int"] { return [.int(shape: [], values: [Int64(i)])] }
            if case let .ints(i)? = n.attributes["value_ints"] { return [.int(shape: [i.count], values: i.map(Int64.init))] }
            throw ShapeInference.fail(n, "Constant without a supported value attribute")
        case .shape:
            guard let s = shapes[n.inputs[0]] ?? g.constants[n.inputs[0]]?.shape else { return nil }
            let start = n.int("start", default: 0), end = n.int("end", default: s.count)
            let lo = max(0, start < 0 ? start + s.count : start), hi = min(s.count, end < 0 ? end + s.count : end)
            let dims = lo < hi ? Array(s[lo..<hi]) : []
            return [.int(shape: [dims.count], values: dims.map { $0 < 0 ? dynamicDim : Int64($0) })]
        default:
            break
        }
        guard known, n.op != .dropout || n.outputs.count == 1 else { return nil }
        let inputs = n.inputs.map { $0.isEmpty ? nil : g.constants[$0] }
        if inputs.contains(where: { if case .int = $0 { return true } else { return false } }) || n.op.isFoldOnly {
            return try IntegerEvaluator.evaluate(n, inputs)
        }
        let tensors = inputs.map { $0?.floatTensor }
        return try FloatOps.evaluate(n, tensors, opset: g.opset).map { .float($0) }
    }
}
