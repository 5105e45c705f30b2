/// Output shapes of one node from its input shapes. Works on concrete shapes (the executor) and on
/// shapes whose batch dimension is -1 (import-time inference).
enum ShapeInference {
    static func fail(_ n: Node, _ reason: String) -> AutoMixError {
        AutoMixError.invalidNode(node: n.name, op: n.op.rawValue, reason: reason)
    }

    static func broadcast(_ a: [Int], _ b: [Int], node: Node) throws -> [Int] {
        let r = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: r - a.count) + a, pb = [Int](repeating: 1, count: r - b.count) + b
        return try (0..<r).map { i in
            let x = pa[i], y = pb[i]
            if x == y || y == 1 { return x }
            if x == 1 { return y }
            if x == -1 { return y }
            if y == -1 { return x }
            throw fail(node, "shapes \(a) and \(b) do not broadcast")
        }
    }

    /// An integer list given as an attribute (older opsets) or as a constant input (newer opsets).
    static func intParameter(_ n: Node, _ attribute: String, input: Int, _ constant: (String) -> ConstantValue?) -> [Int]? {
        if let v = n.ints(attribute) { return v }
        return input < n.inputs.count ? constant(n.inputs[input])?.ints : nil
    }

    static func normalizedAxis(_ axis: Int, rank: Int, node: Node) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else { throw fail(node, "axis \(axis) is out of range for rank \(rank)") }
        return a
    }

    /// Resolves 0 (copy) and -1 (infer) in a Reshape target. A copied dynamic (batch) dimension stays -1
    /// and does not count as the inferred one.
    static func reshape(_ input: [Int], to target: [Int], allowZero: Bool, node: Node) throws -> [Int] {
        let copied = target.indices.map { target[$0] == 0 && !allowZero && $0 < input.count }
        var out = target.indices.map { copied[$0] ? input[$0] : target[$0] }
        let inferAt = target.indices.filter { target[$0] == -1 }
        guard inferAt.count <= 1 else { throw fail(node, "Reshape target \(target) has more than one -1") }
        let dynamicIn = input.filter { $0 < 0 }.count
        let dynamicCopied = out.indices.filter { copied[$0] && out[$0] < 0 }.count
        let knownIn = input.filter { $0 >= 0 }.reduce(1, *)
        let knownOut = out.indices.filter { !inferAt.contains($0) && out[$0] >= 0 }.map { out[$0] }.reduce(1, *)
        if let i = inferAt.first {
            if dynamicIn == dynamicCopied {
                guard knownOut > 0, knownIn % knownOut == 0 else { throw fail(node, "cannot reshape \(input) to \(target)") }
                out[i] = knownIn / knownOut
            } else {
                out[i] = -1   // the batch folds into the inferred dimension
            }
        } else if dynamicIn == 0, knownOut != knownIn {
            throw fail(node, "cannot reshape \(input) to \(target)")
        }
        return out
    }

    static func outputShapes(_ n: Node, _ ins: [[Int]?], constant: (String) -> ConstantValue?) throws -> [[Int]] {
        func input(_ i: Int) throws -> [Int] {
            guard i < ins.count, let s = ins[i] else { throw fail(n, "input \(i) is missing") }
            return s
        }
        let x = try input(0)
        switch n.op {
        case .conv:
            let w = try input(1)
            guard x.count == 4, w.count == 4 else { throw fail(n, "only 2-D convolution (4-D tensors) is supported, got \(x) and \(w)") }
            let group = n.int("group", default: 1)
            guard x[1] < 0 || x[1] == w[1] * group else { throw fail(n, "input has \(x[1]) channels, weights expect \(w[1] * group)") }
            let k = n.ints("kernel_shape") ?? [w[2], w[3]]
            let g = try ConvGeometry(node: n, inH: x[2], inW: x[3], kernel: (k[0], k[1]))
            return [[x[0], w[0], g.out.h, g.out.w]]
        case .maxPool, .averagePool:
            guard x.count == 4, let k = n.ints("kernel_shape"), k.count == 2 else { throw fail(n, "only 2-D pooling is supported") }
            let g = try ConvGeometry(node: n, inH: x[2], inW: x[3], kernel: (k[0], k[1]), ceilMode: n.int("ceil_mode", default: 0) != 0)
            return [[x[0], x[1], g.out.h, g.out.w]]
        case .globalAveragePool:
            return [Array(x.prefix(2)) + [Int](repeating: 1, count: max(0, x.count - 2))]
        case .gemm:
            let b = try input(1)
            guard x.count == 2, b.count == 2 else { throw fail(n, "Gemm needs 2-D inputs, got \(x) and \(b)") }
            let m = n.int("transA", default: 0) != 0 ? x[1] : x[0]
            let cols = n.int("transB", default: 0) != 0 ? b[0] : b[1]
            return [[m, cols]]
        case .matMul:
            let b = try input(1)
            guard x.count >= 2, b.count >= 2 else { throw fail(n, "MatMul of 1-D tensors is not supported") }
            let batch = try broadcast(Array(x.dropLast(2)), Array(b.dropLast(2)), node: n)
            return [batch + [x[x.count - 2], b[b.count - 1]]]
        case .add, .sub, .mul, .div, .pRelu:
            return [try broadcast(x, try input(1), node: n)]
        case .quantizeLinear, .dequantizeLinear, .requantizeLinear: return [x]
        case .relu, .clip, .leakyRelu, .sigmoid, .hardSigmoid, .hardSwish, .tanh, .round, .floor, .softmax, .batchNormalization,
             .identity, .dropout, .cast, .sqrt, .swish, .gelu, .elu, .exp, .erf, .lut:
            return n.outputs.count > 1 && n.op == .dropout ? [x, x] : [x]
        case .flatten:
            let axis = n.int("axis", default: 1)
            let a = axis < 0 ? axis + x.count : axis
            let lead = x.prefix(a), tail = x.dropFirst(a)
            let l = lead.contains(-1) ? -1 : lead.reduce(1, *), t = tail.contains(-1) ? -1 : tail.reduce(1, *)
            return [[l, t]]
        case .reshape:
            guard let target = constant(n.inputs.count > 1 ? n.inputs[1] : "")?.ints else { throw fail(n, "Reshape target shape is not a constant") }
            return [try reshape(x, to: target, allowZero: n.int("allowzero", default: 0) != 0, node: n)]
        case .transpose:
            let perm = n.ints("perm") ?? Array((0..<x.count).reversed())
            guard perm.sorted() == Array(0..<x.count) else { throw fail(n, "perm \(perm) does not match rank \(x.count)") }
            return [perm.map { x[$0] }]
        case .concat:
            let axis = try normalizedAxis(n.int("axis", default: 0), rank: x.count, node: n)
            var out = x
            for i in 1..<ins.count {
                let s = try input(i)
                guard s.count == x.count else { throw fail(n, "Concat inputs have ranks \(x.count) and \(s.count)") }
                for d in s.indices where d != axis && s[d] >= 0 && x[d] >= 0 && s[d] != x[d] {
                    throw fail(n, "Concat inputs \(x) and \(s) differ outside axis \(axis)")
                }
                out[axis] = (out[axis] < 0 || s[axis] < 0) ? -1 : out[axis] + s[axis]
            }
            return [out]
        case .pad:
            guard let pads = intParameter(n, "pads", input: 1, constant), pads.count == 2 * x.count else { throw fail(n, "pads must be a constant of length \(2 * x.count)") }
            return [x.enumerated().map { i, d in d < 0 ? -1 : d + pads[i] + pads[i + x.count] }]
        case .squeeze:
            let axes = try (intParameter(n, "axes", input: 1, constant) ?? x.indices.filter { x[$0] == 1 }).map { try normalizedAxis($0, rank: x.count, node: n) }
            return [x.enumerated().filter { !axes.contains($0.offset) }.map(\.element)]
        case .unsqueeze:
            guard let raw = intParameter(n, "axes", input: 1, constant) else { throw fail(n, "axes must be a constant") }
            let rank = x.count + raw.count
            let axes = try raw.map { try normalizedAxis($0, rank: rank, node: n) }
            var out: [Int] = []
            var it = x.makeIterator()
            for i in 0..<rank { out.append(axes.contains(i) ? 1 : it.next()!) }
            return [out]
        case .resize:
            return [try ResizeGeometry(node: n, inputShape: x, constant: constant).outputShape]
        case .slice:
            // a dynamic batch is sliced as one image: a slice that keeps it keeps it dynamic
            let p = try SelectOps.sliceParameters(n, constant)
            var out = try SelectOps.sliceMap(n, shape: x.map { max($0, 1) }, starts: p.starts, ends: p.ends, axes: p.axes, steps: p.steps).shape
            if let b = x.first, b < 0 {
                guard out[0] == 1 else { throw fail(n, "slices the dynamic batch axis away") }
                out[0] = -1
            }
            return [out]
        case .split:
            let (axis, sizes) = try SelectOps.splitSizes(n, shape: x, constant)
            return sizes.map { s in var o = x; o[axis] = s; return o }
        case .insertZeros:
            return [try SelectOps.insertZerosShape(n, x)]
        case .depthToSpace, .spaceToDepth:
            return [try BlockOps.shape(n, x)]
        case .reduceMean:
            return [SelectOps.reduceShape(n, x, axes: try SelectOps.reduceAxes(n, rank: x.count, constant))]
        case .shape, .gather, .constant, .constantOfShape:
            throw fail(n, "shape arithmetic that depends on runtime values is not supported")
        case .convTranspose:
            let w = try input(1)
            guard x.count == 4, w.count == 4 else { throw fail(n, "only 2-D ConvTranspose is supported, got \(x) and \(w)") }
            let s = n.ints("strides") ?? [1, 1], d = n.ints("dilations") ?? [1, 1], p = n.ints("pads") ?? [0, 0, 0, 0]
            let extra = n.ints("output_padding") ?? [0, 0]
            guard s.count == 2, d.count == 2, p.count == 4, extra.count == 2 else { throw fail(n, "only 2-D ConvTranspose is supported") }
            func size(_ i: Int, _ axis: Int) -> Int {
                x[i] < 0 ? -1 : s[axis] * (x[i] - 1) + extra[axis] + (w[i] - 1) * d[axis] + 1 - p[axis] - p[axis + 2]
            }
            return [[x[0], w[1] * n.int("group", default: 1), size(2, 0), size(3, 1)]]
        }
    }
}

extension Graph {
    /// Fills `shapes` for every value from the input shapes (batch -1), checking every node.
    public mutating func inferShapes() throws {
        var shapes: [String: [Int]] = [:]
        for i in inputs { shapes[i.name] = i.shape }
        for n in nodes {
            let ins = n.inputs.map { v -> [Int]? in v.isEmpty ? nil : (shapes[v] ?? constants[v]?.shape) }
            let outs = try ShapeInference.outputShapes(n, ins) { self.constant($0) }
            for (o, s) in zip(n.outputs, outs) { shapes[o] = s }
        }
        self.shapes = shapes
        for i in outputs.indices { outputs[i].shape = shapes[outputs[i].name] ?? outputs[i].shape }
    }
}
