import Kernels

enum ElementwiseOps {
    /// `f(a, b)` broadcast to `outShape`, saturated to `clamp` when given (an aligned integer Add/Sub); a same-shaped
    /// Add or Sub (a residual) in one flat pass.
    static func binary(_ f: BinaryFunction, _ a: Tensor, _ b: Tensor, outShape: [Int], clamp: (lo: Float, hi: Float)? = nil) -> Tensor {
        if (f == .add || f == .sub), a.shape == outShape, b.shape == outShape {
            var out = Tensor(uninitialized: outShape)
            a.data.withUnsafeBufferPointer { ap in b.data.withUnsafeBufferPointer { bp in out.data.withUnsafeMutableBufferPointer { op in
                addSameShape(ap.baseAddress!, bp.baseAddress!, count: op.count, subtract: f == .sub, clamp: clamp, op.baseAddress!)
            }}}
            return out
        }
        var out = binaryBroadcast(f, a, b, outShape: outShape)
        if let clamp {
            out.data.withUnsafeMutableBufferPointer {
                applyUnary(.clip(min: clamp.lo, max: clamp.hi), UnsafePointer($0.baseAddress!), $0.baseAddress!, count: $0.count)
            }
        }
        return out
    }

    /// `binary` for any broadcast, clamp aside.
    private static func binaryBroadcast(_ f: BinaryFunction, _ a: Tensor, _ b: Tensor, outShape: [Int]) -> Tensor {
        var out = Tensor(zeros: outShape)
        let sa = broadcastStrides(a.shape, to: outShape), sb = broadcastStrides(b.shape, to: outShape)
        a.data.withUnsafeBufferPointer { ap in
        b.data.withUnsafeBufferPointer { bp in
        out.data.withUnsafeMutableBufferPointer { op in
            broadcastBinary(f, shape: outShape, ap.baseAddress!, aStrides: sa, bp.baseAddress!, bStrides: sb, op.baseAddress!)
        }}}
        return out
    }

    /// PRelu's slope broadcasts unidirectionally onto X; a per-channel `[C]` slope means axis 1 for NCHW.
    static func prelu(_ x: Tensor, slope: Tensor) -> Tensor {
        var s = slope
        if s.shape.count == 1, x.shape.count > 2, s.shape[0] == x.shape[1], s.shape[0] != x.shape.last {
            s.shape = [s.shape[0]] + [Int](repeating: 1, count: x.shape.count - 2)
        }
        return binary(.prelu, x, s, outShape: x.shape)
    }

    static func unary(_ f: UnaryFunction, _ x: Tensor) -> Tensor {
        var x = x
        x.data.withUnsafeMutableBufferPointer { p in applyUnary(f, UnsafePointer(p.baseAddress!), p.baseAddress!, count: p.count) }
        return x
    }

    /// The element-wise function of an activation node; Clip reads min/max from attributes or inputs.
    static func function(of n: Node, _ inputs: [Tensor?]) -> UnaryFunction {
        switch n.op {
        case .relu: return .relu
        case .clip:
            let lo = inputs.count > 1 ? inputs[1]?.data.first : nil, hi = inputs.count > 2 ? inputs[2]?.data.first : nil
            return .clip(min: lo ?? n.float("min", default: -.greatestFiniteMagnitude),
                         max: hi ?? n.float("max", default: .greatestFiniteMagnitude))
        case .leakyRelu: return .leakyRelu(alpha: n.float("alpha", default: 0.01))
        case .sigmoid: return .sigmoid
        case .hardSigmoid: return .hardSigmoid(alpha: n.float("alpha", default: 0.2), beta: n.float("beta", default: 0.5))
        case .hardSwish: return .hardSwish
        case .tanh: return .tanh
        case .round: return .round
        case .floor: return .floor
        case .sqrt: return .sqrt
        case .swish: return .swish
        case .gelu: return .gelu(tanhApproximation: n.string("approximate", default: "none") == "tanh")
        case .elu: return .elu(alpha: n.float("alpha", default: 1))
        case .exp: return .exp
        case .erf: return .erf
        default: return .identity
        }
    }

    /// Softmax over `axis` (opset 13+) or over the flattened trailing block from `axis` (opset < 13).
    static func softmax(_ n: Node, _ x: Tensor, opset: Int) throws -> Tensor {
        let rank = x.shape.count
        let axis = try ShapeInference.normalizedAxis(n.int("axis", default: opset >= 13 ? -1 : 1), rank: rank, node: n)
        var out = Tensor(zeros: x.shape)
        if opset < 13 || axis == rank - 1 {
            let inner = x.shape[axis...].reduce(1, *)
            x.data.withUnsafeBufferPointer { xp in out.data.withUnsafeMutableBufferPointer { op in
                softmaxRows(xp.baseAddress!, rows: x.count / max(inner, 1), n: inner, op.baseAddress!)
            }}
            return out
        }
        // move the axis last, soft-max the rows, move it back
        var perm = Array(0..<rank); perm.remove(at: axis); perm.append(axis)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        let moved = LayoutOps.transpose(x, perm: perm)
        var soft = Tensor(zeros: moved.shape)
        moved.data.withUnsafeBufferPointer { xp in soft.data.withUnsafeMutableBufferPointer { op in
            softmaxRows(xp.baseAddress!, rows: moved.count / x.shape[axis], n: x.shape[axis], op.baseAddress!)
        }}
        return LayoutOps.transpose(soft, perm: inverse)
    }

    /// Inference-mode batch normalization over axis 1.
    static func batchNorm(_ n: Node, x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor) -> Tensor {
        let (s, t) = BatchNormFold.affine(scale: scale.data, bias: bias.data, mean: mean.data, variance: variance.data,
                                          epsilon: n.float("epsilon", default: 1e-5))
        let channels = x.shape.count > 1 ? x.shape[1] : 1
        let planeSize = x.shape.count > 2 ? x.shape[2...].reduce(1, *) : 1
        var out = Tensor(zeros: x.shape)
        x.data.withUnsafeBufferPointer { xp in s.withUnsafeBufferPointer { sp in t.withUnsafeBufferPointer { tp in
            out.data.withUnsafeMutableBufferPointer { op in
                channelAffine(xp.baseAddress!, planes: x.count / max(planeSize, 1), channels: channels, planeSize: planeSize,
                              scale: sp.baseAddress!, shift: tp.baseAddress!, op.baseAddress!)
            }
        }}}
        return out
    }
}
