import Kernels

enum LayoutOps {
    static func transpose(_ x: Tensor, perm: [Int]) -> Tensor {
        var out = Tensor(zeros: perm.map { x.shape[$0] })
        x.data.withUnsafeBufferPointer { xp in out.data.withUnsafeMutableBufferPointer { op in
            Kernels.transpose(xp.baseAddress!, shape: x.shape, perm: perm, op.baseAddress!)
        }}
        return out
    }

    static func concat(_ parts: [Tensor], axis: Int, outShape: [Int]) -> Tensor {
        let outer = outShape[..<axis].reduce(1, *)
        let inner = outShape[(axis + 1)...].reduce(1, *)
        var out = [Float]()
        out.reserveCapacity(outShape.reduce(1, *))
        for o in 0..<outer {
            for p in parts {
                let block = p.shape[axis] * inner
                out.append(contentsOf: p.data[(o * block)..<((o + 1) * block)])
            }
        }
        return Tensor(shape: outShape, data: out)
    }

    /// Constant-mode Pad (the mode ESP-DL and the quantizer need); other modes are refused.
    static func pad(_ n: Node, _ x: Tensor, pads: [Int], value: Float, outShape: [Int]) throws -> Tensor {
        let mode = n.string("mode", default: "constant")
        guard mode == "constant" else { throw ShapeInference.fail(n, "Pad mode '\(mode)' is not supported (only constant)") }
        guard pads.allSatisfy({ $0 >= 0 }) else { throw ShapeInference.fail(n, "negative pads \(pads) are not supported") }
        var out = Tensor(shape: outShape, data: [Float](repeating: value, count: outShape.reduce(1, *)))
        let rank = x.shape.count
        guard x.count > 0 else { return out }
        var outStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { outStrides[d] = outStrides[d + 1] * outShape[d + 1] }
        let rowLen = x.shape[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var src = 0
        while src < x.count {
            var dst = pads[rank - 1]
            for d in 0..<(rank - 1) { dst += (index[d] + pads[d]) * outStrides[d] }
            for i in 0..<rowLen { out.data[dst + i] = x.data[src + i] }
            src += rowLen
            var d = rank - 2
            while d >= 0 { index[d] += 1; if index[d] < x.shape[d] { break }; index[d] = 0; d -= 1 }
        }
        return out
    }

    static func resizeNearest(_ n: Node, _ x: Tensor, geometry: ResizeGeometry) -> Tensor {
        let outShape = zip(geometry.outputShape, x.shape).map { $0 < 0 ? $1 : $0 }
        let maps = x.shape.indices.map { d in
            ResizeGeometry.sourceIndices(node: n, inSize: x.shape[d], outSize: outShape[d], scale: geometry.scales[d])
        }
        let rank = x.shape.count
        var inStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * x.shape[d + 1] }
        var out = [Float](repeating: 0, count: outShape.reduce(1, *))
        var index = [Int](repeating: 0, count: rank)
        for o in out.indices {
            var src = 0
            for d in 0..<rank { src += maps[d][index[d]] * inStrides[d] }
            out[o] = x.data[src]
            var d = rank - 1
            while d >= 0 { index[d] += 1; if index[d] < outShape[d] { break }; index[d] = 0; d -= 1 }
        }
        return Tensor(shape: outShape, data: out)
    }
}

extension LayoutOps {
    /// A linear Resize of the spatial axes (H and W of NCHW, W of NCW) through per-axis taps: each row interpolated along
    /// W first, then the two rows along H, in float32, ESP-DL's order. With `codes`, `x` holds codes: they are
    /// dequantized by `inScale` first and the result rounded by `mode` at `outInverse` into `[lo, hi]` (the chip's
    /// integer Resize, `resize_linear_c1`); without, real values in and out.
    static func resizeLinear(_ x: Tensor, outShape: [Int], rows: [ResizeGeometry.Tap], cols: [ResizeGeometry.Tap],
                             codes: (inScale: Float, outInverse: Float, lo: Float, hi: Float, mode: RoundingMode)? = nil) -> Tensor {
        let (inH, inW) = x.shape.count == 4 ? (x.shape[2], x.shape[3]) : (1, x.shape[2])
        let (outH, outW) = (rows.count, cols.count)
        let planes = x.shape[0] * x.shape[1]
        let s = codes?.inScale ?? 1
        var out = [Float](repeating: 0, count: planes * outH * outW)
        x.data.withUnsafeBufferPointer { xp in
            for p in 0..<planes {
                let base = p * inH * inW
                for (oy, r) in rows.enumerated() {
                    let row0 = base + r.i0 * inW, row1 = base + r.i1 * inW
                    for (ox, c) in cols.enumerated() {
                        let a: Float = (xp[row0 + c.i0] * s) * c.w0 + (xp[row0 + c.i1] * s) * c.w1
                        let b: Float = (xp[row1 + c.i0] * s) * c.w0 + (xp[row1 + c.i1] * s) * c.w1
                        let v: Float = a * r.w0 + b * r.w1
                        let o = (p * outH + oy) * outW + ox
                        if let q = codes {
                            out[o] = min(max(q.mode.round(v * q.outInverse), q.lo), q.hi)
                        } else {
                            out[o] = v
                        }
                    }
                }
            }
        }
        return Tensor(shape: outShape, data: out)
    }

    /// Taps of a linear Resize along H and W of `x` (one tap along H for a 1-D map), ONNX's or the chip's.
    static func linearTaps(_ n: Node, _ x: [Int], _ geometry: ResizeGeometry, chip: Bool) -> (rows: [ResizeGeometry.Tap], cols: [ResizeGeometry.Tap], outShape: [Int]) {
        let outShape = zip(geometry.outputShape, x).map { $0 < 0 ? $1 : $0 }
        func taps(_ axis: Int) -> [ResizeGeometry.Tap] {
            chip ? ResizeGeometry.chipLinearTaps(node: n, inSize: x[axis], outSize: outShape[axis], scale: geometry.scales[axis])
                 : ResizeGeometry.linearTaps(node: n, inSize: x[axis], outSize: outShape[axis], scale: geometry.scales[axis])
        }
        let rows = x.count == 4 ? taps(2) : [ResizeGeometry.Tap(i0: 0, i1: 0, w0: 1, w1: 0)]
        return (rows, taps(x.count - 1), outShape)
    }
}
