import Kernels

/// Runs one node in float. `inputs` holds a tensor per node input (constants included), nil where omitted.
enum FloatOps {
    /// `clamp` is a following Relu/Clip fused into a Conv; `packed` the Conv's weights (input 1) packed for the
    /// AVX-512 kernel.
    static func evaluate(_ n: Node, _ inputs: [Tensor?], opset: Int, clamp: Clamp = .none,
                         packed: PackedConvWeights? = nil, backend: GemmBackend = .preferred) throws -> [Tensor] {
        func input(_ i: Int) throws -> Tensor {
            guard i < inputs.count, let t = inputs[i] else { throw ShapeInference.fail(n, "input \(i) is missing") }
            return t
        }
        func optional(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }
        let constant: (String) -> ConstantValue? = { name in
            guard !name.isEmpty, let i = n.inputs.firstIndex(of: name), let t = optional(i) else { return nil }
            return .float(t)
        }
        let outShape = try ShapeInference.outputShapes(n, inputs.map { $0?.shape }, constant: constant)[0]
        let x = try input(0)
        switch n.op {
        case .conv: return [try ConvOp.run(n, x: x, w: try input(1), bias: optional(2), outShape: outShape, clamp: clamp,
                                           packed: packed, backend: backend)]
        case .gemm: return [try GemmOp.gemm(n, a: x, b: try input(1), c: optional(2), outShape: outShape)]
        case .matMul: return [GemmOp.matMul(a: x, b: try input(1), outShape: outShape)]
        case .add: return [ElementwiseOps.binary(.add, x, try input(1), outShape: outShape)]
        case .sub: return [ElementwiseOps.binary(.sub, x, try input(1), outShape: outShape)]
        case .mul: return [ElementwiseOps.binary(.mul, x, try input(1), outShape: outShape)]
        case .div: return [ElementwiseOps.binary(.div, x, try input(1), outShape: outShape)]
        case .pRelu: return [ElementwiseOps.prelu(x, slope: try input(1))]
        case .relu, .clip, .leakyRelu, .sigmoid, .hardSigmoid, .hardSwish, .tanh, .round, .floor, .sqrt, .swish, .gelu, .elu, .exp, .erf:
            return [ElementwiseOps.unary(ElementwiseOps.function(of: n, inputs), x)]
        case .softmax: return [try ElementwiseOps.softmax(n, x, opset: opset)]
        case .batchNormalization:
            return [ElementwiseOps.batchNorm(n, x: x, scale: try input(1), bias: try input(2), mean: try input(3), variance: try input(4))]
        case .maxPool, .averagePool: return [try PoolOps.pool(n, x, outShape: outShape)]
        case .globalAveragePool: return [PoolOps.globalAverage(x, outShape: outShape)]
        case .flatten, .reshape, .squeeze, .unsqueeze, .identity, .cast:
            return [Tensor(shape: outShape, data: x.data)]
        case .dropout:
            return n.outputs.count > 1 ? [x, Tensor(shape: x.shape, data: [Float](repeating: 1, count: x.count))] : [x]
        case .transpose: return [LayoutOps.transpose(x, perm: n.ints("perm") ?? Array((0..<x.shape.count).reversed()))]
        case .concat:
            let axis = try ShapeInference.normalizedAxis(n.int("axis", default: 0), rank: x.shape.count, node: n)
            return [LayoutOps.concat(try inputs.indices.map(input), axis: axis, outShape: outShape)]
        case .pad:
            let pads = ShapeInference.intParameter(n, "pads", input: 1, constant) ?? []
            let value = optional(2)?.data.first ?? n.float("value", default: 0)
            return [try LayoutOps.pad(n, x, pads: pads, value: value, outShape: outShape)]
        case .resize:
            let geometry = try ResizeGeometry(node: n, inputShape: x.shape, constant: constant)
            guard geometry.linear else { return [LayoutOps.resizeNearest(n, x, geometry: geometry)] }
            guard (3...4).contains(x.shape.count), geometry.resizesSpatialOnly(rank: x.shape.count) else {
                throw ShapeInference.fail(n, "linear Resize of axes other than H and W is not supported")
            }
            let (rows, cols, shape) = LayoutOps.linearTaps(n, x.shape, geometry, chip: false)
            return [LayoutOps.resizeLinear(x, outShape: shape, rows: rows, cols: cols)]
        case .quantizeLinear, .dequantizeLinear, .requantizeLinear:
            throw ShapeInference.fail(n, "is a quantized-model op; only the integer executor runs it")
        case .slice: return [try SelectOps.slice(n, x, constant)]
        case .split: return try SelectOps.split(n, x, constant)
        case .insertZeros: return [try SelectOps.insertZeros(n, x)]
        case .depthToSpace, .spaceToDepth: return [try BlockOps.run(n, x)]
        case .reduceMean: return [try SelectOps.reduceMean(n, x, constant)]
        case .convTranspose:
            // prepared graphs hold its InsertZeros + Conv; a fake-quant graph writes InsertZeros as this
            let (spread, conv, filter) = try ConvTransposeDecompose.lower(n, weight: try input(1))
            let y = try spread.map { try SelectOps.insertZeros($0, x) } ?? x
            let shape = try ShapeInference.outputShapes(conv, [y.shape, filter.shape, optional(2)?.shape], constant: { _ in nil })[0]
            return [try ConvOp.run(conv, x: y, w: filter, bias: optional(2), outShape: shape, clamp: clamp, packed: nil)]
        case .lut: throw ShapeInference.fail(n, "is a lookup table with no float form; only the integer executor runs it")
        case .shape, .gather, .constant, .constantOfShape:
            throw ShapeInference.fail(n, "is shape arithmetic and must be folded away before execution")
        }
    }
}
