/// Constant evaluation of the shape-arithmetic ops (and int64 tensors in general) during folding.
/// Layout ops are computed as index maps so they apply to int64 and float constants alike.
enum IntegerEvaluator {
    static func evaluate(_ n: Node, _ inputs: [ConstantValue?]) throws -> [ConstantValue] {
        func input(_ i: Int) throws -> ConstantValue {
            guard i < inputs.count, let v = inputs[i] else { throw ShapeInference.fail(n, "input \(i) is missing") }
            return v
        }
        let x = try input(0)
        let shape = x.shape
        switch n.op {
        case .cast:
            let to = n.int("to", default: 1)
            switch to {
            case 1, 10, 11: return [.float(x.floatTensor)]
            default: return [.int(shape: shape, values: x.ints.map(Int64.init))]
            }
        case .constantOfShape:
            let dims = x.ints
            let count = dims.reduce(1, *)
            if case let .tensor(v)? = n.attributes["value"], case .int = v { return [.int(shape: dims, values: .init(repeating: Int64(v.ints.first ?? 0), count: count))] }
            let f: Float = { if case let .tensor(v)? = n.attributes["value"] { return v.floatTensor.data.first ?? 0 }; return 0 }()
            return [.float(Tensor(shape: dims, data: .init(repeating: f, count: count)))]
        case .add, .sub, .mul, .div:
            let y = try input(1)
            guard case .int = x, case .int = y else { break }
            let out = try ShapeInference.broadcast(shape, y.shape, node: n)
            let a = broadcastOffsets(shape, to: out), b = broadcastOffsets(y.shape, to: out)
            let xv = x.ints, yv = y.ints
            let values: [Int64] = try zip(a, b).map { i, j in
                let (p, q) = (Int64(xv[i]), Int64(yv[j]))
                switch n.op {
                case .add: return p + q
                case .sub: return p - q
                case .mul: return p * q
                default:
                    guard q != 0 else { throw ShapeInference.fail(n, "integer division by zero") }
                    return p / q   // truncates toward zero, as onnxruntime's integer Div
                }
            }
            return [.int(shape: out, values: values)]
        case .gather:
            let idx = try input(1)
            let axis = try ShapeInference.normalizedAxis(n.int("axis", default: 0), rank: shape.count, node: n)
            let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
            var map: [Int] = []
            for o in 0..<outer {
                for k in idx.ints {
                    let kk = k < 0 ? k + shape[axis] : k
                    guard kk >= 0, kk < shape[axis] else { throw ShapeInference.fail(n, "index \(k) out of range") }
                    for i in 0..<inner { map.append((o * shape[axis] + kk) * inner + i) }
                }
            }
            return [pick(x, map, shape: Array(shape[..<axis]) + idx.shape + Array(shape[(axis + 1)...]))]
        case .slice:
            let axes = inputs.count > 3 ? inputs[3]?.ints : nil, steps = inputs.count > 4 ? inputs[4]?.ints : nil
            let (map, out) = try SelectOps.sliceMap(n, shape: shape, starts: try input(1).ints, ends: try input(2).ints, axes: axes, steps: steps)
            return [pick(x, map, shape: out)]
        case .concat:
            let parts = try inputs.indices.map(input)
            if parts.allSatisfy({ if case .int = $0 { return true } else { return false } }) {
                let axis = try ShapeInference.normalizedAxis(n.int("axis", default: 0), rank: shape.count, node: n)
                let out = try ShapeInference.outputShapes(n, parts.map(\.shape)) { _ in nil }[0]
                let joined = LayoutOps.concat(parts.map(\.floatTensor), axis: axis, outShape: out)
                return [.int(shape: out, values: joined.data.map { Int64($0) })]
            }
        default:
            break
        }
        // layout ops on int64 values, via their float index image
        if case let .int(_, values) = x, [.reshape, .unsqueeze, .squeeze, .flatten, .identity, .transpose].contains(n.op) {
            let indices = Tensor(shape: shape, data: (0..<values.count).map { Float($0) })
            let ins = inputs.enumerated().map { i, v in i == 0 ? indices : v?.floatTensor }
            let out = try FloatOps.evaluate(n, ins, opset: 13)[0]
            return [.int(shape: out.shape, values: out.data.map { values[Int($0)] })]
        }
        return try FloatOps.evaluate(n, inputs.map { $0?.floatTensor }, opset: 13).map { .float($0) }
    }

    static func pick(_ x: ConstantValue, _ map: [Int], shape: [Int]) -> ConstantValue {
        switch x {
        case let .float(t): return .float(Tensor(shape: shape, data: map.map { t.data[$0] }))
        case let .int(_, v): return .int(shape: shape, values: map.map { v[$0] })
        }
    }

}
