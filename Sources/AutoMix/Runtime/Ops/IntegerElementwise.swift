import Kernels

/// Integer element-wise ops and average pooling on float-held codes.
enum IntegerElementwise {
    /// Add/Sub/Mul: `round(f(a·2^ea, b·2^eb) / 2^eo)`, saturated. ESP-PPQ aligns Add/Sub inputs to the output
    /// exponent, so there this is an exact saturating add of codes.
    static func binary(_ op: BinaryFunction, _ x: Tensor, _ a: QuantFormat, _ y: Tensor, _ b: QuantFormat,
                       output o: QuantFormat, outShape: [Int], _ mode: RoundingMode) -> Tensor {
        let sx = Float(a.scale), sy = Float(b.scale)
        if (op == .add || op == .sub) && x.shape == outShape && y.shape == outShape {
            var out = Tensor(uninitialized: outShape)
            x.data.withUnsafeBufferPointer { xp in y.data.withUnsafeBufferPointer { yp in out.data.withUnsafeMutableBufferPointer { op2 in
                addRescaled(xp.baseAddress!, scale: sx, yp.baseAddress!, scale: sy, subtract: op == .sub, count: op2.count,
                            inverse: 1 / o.scale, mode, lo: Float(o.qmin), hi: Float(o.qmax), op2.baseAddress!)
            }}}
            return out
        }
        let real = ElementwiseOps.binary(op, Tensor(shape: x.shape, data: x.data.map { $0 * sx }),
                                         Tensor(shape: y.shape, data: y.data.map { $0 * sy }), outShape: outShape)
        let inv = 1 / o.scale, lo = Float(o.qmin), hi = Float(o.qmax)
        return Tensor(shape: outShape, data: real.data.map { roundedCode(Double($0) * inv, mode, lo: lo, hi: hi) })
    }

    /// ESP-DL's accurate path: `round(Σcodes · (2^e_in / area · 2^−e_out))` with the factor and product in float32.
    static func globalAverage(_ x: Tensor, _ a: QuantFormat, _ o: QuantFormat, _ mode: RoundingMode) -> Tensor {
        let planes = x.shape.prefix(2).reduce(1, *)
        let area = x.count / max(planes, 1)
        let factor = Float(a.scale) / Float(area) * Float(1 / o.scale)
        let lo = Float(o.qmin), hi = Float(o.qmax)
        var out = [Float](repeating: 0, count: planes)
        x.data.withUnsafeBufferPointer { xp in
            for p in 0..<planes {
                let sum = sumCodes(xp.baseAddress! + p * area, count: area, largest: Float(max(-a.qmin, a.qmax)))
                out[p] = min(max(mode.round(Float(sum) * factor), lo), hi)
            }
        }
        return Tensor(shape: Array(x.shape.prefix(2)) + [Int](repeating: 1, count: max(x.shape.count - 2, 0)), data: out)
    }

    /// Integer MatMul: exact sums of code products (Double), `round(Σ · 2^-shift)` the chip's way, saturated. Batch
    /// dimensions broadcast as ONNX MatMul's.
    static func matMul(_ a: Tensor, _ b: Tensor, outShape: [Int], shift: Int, output o: QuantFormat, _ mode: RoundingMode) -> Tensor {
        let (m, k, n) = (a.shape[a.shape.count - 2], a.shape.last!, b.shape.last!)
        let batchShape = Array(outShape.dropLast(2))
        let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
        let aOffsets = broadcastOffsets(aBatch, to: batchShape), bOffsets = broadcastOffsets(bBatch, to: batchShape)
        let scale = Double(sign: .plus, exponent: -shift, significand: 1), lo = Double(o.qmin), hi = Double(o.qmax)
        var out = [Float](repeating: 0, count: aOffsets.count * m * n)
        for (t, (oa, ob)) in zip(aOffsets, bOffsets).enumerated() {
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k { sum += Double(a.data[(oa * m + i) * k + p]) * Double(b.data[(ob * k + p) * n + j]) }
                    out[(t * m + i) * n + j] = Float(min(max(mode.round(sum * scale), lo), hi))
                }
            }
        }
        return Tensor(shape: outShape, data: out)
    }
}
