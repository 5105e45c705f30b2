import Kernels

/// An integer Conv or Gemm as ESP-DL computes it (shared/specs/espdl-format-and-quantization.md §2.3):
/// accumulate code products with the integer bias, shift by `e_out − e_in − e_w[n]` with the chip's rounding,
/// optional Relu, saturate. The products are summed by BLAS in float when every partial sum stays below 2^24
/// (so it is exact), otherwise in double (exact below 2^53).
///
/// `Arithmetic.espPPQ` instead sums in float32 and rounds `(Σ + bias)·2^-shift`, as ESP-PPQ's simulator does;
/// its embedded int16 test values come from that, and differ from exact integer arithmetic by a step or two.
/// How integer Conv/Gemm sums are formed: exactly as the chip does, or in float32 as ESP-PPQ simulates.
public enum Arithmetic: String, Sendable, CaseIterable {
    case exact, espPPQ = "esp-ppq"
}

struct IntegerLinear: Sendable {
    let node: Node
    let weights: Tensor          // codes as floats, ONNX layout (Gemm: [N,K])
    let weightsD: [Double]       // the same codes for the double path
    let bias: [Int64]
    let shifts: [Int]
    let relu: Bool
    let output: QuantFormat
    let inputExponent: Int
    let weightExponents: [Int]
    let rounding: RoundingMode
    let exactInFloat: Bool

    init(node: Node, weight: QuantizedParameter, bias: QuantizedParameter?, input: QuantFormat, output: QuantFormat,
         rounding: RoundingMode) throws {
        self.node = node
        let n = weight.shape[0]
        weights = Tensor(shape: weight.shape, data: weight.codes.map { Float($0) })
        weightsD = weight.codes.map { Double($0) }
        var b = [Int64](repeating: 0, count: n)
        if let bias {
            guard bias.codes.count == n else { throw ShapeInference.fail(node, "bias has \(bias.codes.count) values for \(n) channels") }
            for c in 0..<n {
                // the bias must sit at the accumulator's exponent; otherwise bring it there exactly
                let diff = bias.exponent(channel: c) - (input.exponent + weight.exponent(channel: c))
                guard diff >= 0 else {
                    throw ShapeInference.fail(node, "bias exponent \(bias.exponent(channel: c)) is finer than the accumulator's \(input.exponent + weight.exponent(channel: c))")
                }
                b[c] = bias.codes[c] << diff
            }
        }
        self.bias = b
        shifts = (0..<n).map { output.exponent - input.exponent - weight.exponent(channel: $0) }
        inputExponent = input.exponent
        weightExponents = (0..<n).map { weight.exponent(channel: $0) }
        relu = node.string("activation", default: "Linear") == "Relu"
        self.output = output
        self.rounding = rounding
        let k = weight.shape.dropFirst().reduce(1, *)
        let maxW = weight.codes.map { abs($0) }.max() ?? 0
        exactInFloat = Double(k) * Double(maxW) * Double(-input.qmin) < 16_777_216
    }

    /// The real value before rounding and activation: `(Σ + bias)·2^(e_in + e_w[c])`.
    func preActivation(_ x: Tensor, outShape: [Int]) throws -> Tensor {
        let acc: [Double] = exactInFloat
            ? (node.op == .conv ? try ConvOp.run(node, x: x, w: weights, bias: nil, outShape: outShape, accumulateOnly: true)
                : gemmFloat(x, outShape: outShape)).data.map { Double($0) }
            : (node.op == .conv ? try convDouble(x, outShape: outShape) : gemmDouble(x, outShape: outShape))
        let channels = outShape[1], plane = outShape.dropFirst(2).reduce(1, *)
        let scales = weightExponents.map { QuantFormat(bits: 8, exponent: inputExponent + $0).scale }
        var out = Tensor(uninitialized: outShape)
        for i in 0..<acc.count {
            let c = (i / plane) % channels
            out.data[i] = Float((acc[i] + Double(bias[c])) * scales[c])
        }
        return out
    }

    func run(_ x: Tensor, outShape: [Int], arithmetic: Arithmetic) throws -> Tensor {
        var out = Tensor(uninitialized: outShape)
        let images = outShape[0]
        let channels = outShape[1]
        let plane = outShape.dropFirst(2).reduce(1, *)
        if arithmetic == .espPPQ {
            let acc = node.op == .conv
                ? try ConvOp.run(node, x: x, w: weights, bias: nil, outShape: outShape, accumulateOnly: true)
                : gemmFloat(x, outShape: outShape)
            let biasF = bias.map { Float($0) }
            let scales = shifts.map { Float(QuantFormat(bits: 8, exponent: -$0).scale) }
            acc.data.withUnsafeBufferPointer { ap in biasF.withUnsafeBufferPointer { bp in scales.withUnsafeBufferPointer { sp in
                out.data.withUnsafeMutableBufferPointer { op in
                    requantizeFloat32(ap.baseAddress!, images: images, channels: channels, planeSize: plane, bias: bp.baseAddress!,
                                      scales: sp.baseAddress!, rounding, relu: relu, lo: Float(output.qmin), hi: Float(output.qmax),
                                      op.baseAddress!)
                }
            }}}
        } else if exactInFloat {
            let acc = node.op == .conv
                ? try ConvOp.run(node, x: x, w: weights, bias: nil, outShape: outShape, accumulateOnly: true)
                : gemmFloat(x, outShape: outShape)
            epilogue(acc.data, images: images, channels: channels, plane: plane, &out)
        } else {
            let acc = node.op == .conv ? try convDouble(x, outShape: outShape) : gemmDouble(x, outShape: outShape)
            epilogue(acc, images: images, channels: channels, plane: plane, &out)
        }
        return out
    }

    private func epilogue<A>(_ acc: [A], images: Int, channels: Int, plane: Int, _ out: inout Tensor) {
        acc.withUnsafeBufferPointer { ap in bias.withUnsafeBufferPointer { bp in shifts.withUnsafeBufferPointer { sp in
            out.data.withUnsafeMutableBufferPointer { op in
                if let f = ap as? UnsafeBufferPointer<Float> {
                    requantizeAccumulators(f.baseAddress!, images: images, channels: channels, planeSize: plane, bias: bp.baseAddress!,
                                           shifts: sp.baseAddress!, rounding, relu: relu, lo: output.qmin, hi: output.qmax, op.baseAddress!)
                } else if let d = ap as? UnsafeBufferPointer<Double> {
                    requantizeAccumulators(d.baseAddress!, images: images, channels: channels, planeSize: plane, bias: bp.baseAddress!,
                                           shifts: sp.baseAddress!, rounding, relu: relu, lo: output.qmin, hi: output.qmax, op.baseAddress!)
                }
            }
        }}}
    }

    private func gemmFloat(_ x: Tensor, outShape: [Int]) -> Tensor {
        let (m, n, k) = (x.shape[0], weights.shape[0], weights.shape[1])
        var acc = Tensor(uninitialized: outShape)
        x.data.withUnsafeBufferPointer { xp in weights.data.withUnsafeBufferPointer { wp in acc.data.withUnsafeMutableBufferPointer { cp in
            sgemm(m: m, n: n, k: k, a: xp.baseAddress!, lda: k, b: wp.baseAddress!, ldb: k, transB: true, c: cp.baseAddress!, ldc: n)
        }}}
        return acc
    }

    private func gemmDouble(_ x: Tensor, outShape: [Int]) -> [Double] {
        let (m, n, k) = (x.shape[0], weights.shape[0], weights.shape[1])
        let xd = x.data.map { Double($0) }
        var acc = [Double](repeating: 0, count: m * n)
        xd.withUnsafeBufferPointer { xp in weightsD.withUnsafeBufferPointer { wp in acc.withUnsafeMutableBufferPointer { cp in
            dgemm(m: m, n: n, k: k, a: xp.baseAddress!, lda: k, b: wp.baseAddress!, ldb: k, transB: true, c: cp.baseAddress!, ldc: n)
        }}}
        return acc
    }

    /// im2col in float (codes are exact), products and sums in double.
    private func convDouble(_ x: Tensor, outShape: [Int]) throws -> [Double] {
        let (batch, cin, inH, inW) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, cinPerGroup, kH, kW) = (weights.shape[0], weights.shape[1], weights.shape[2], weights.shape[3])
        let group = node.int("group", default: 1)
        let win = try ConvGeometry(node: node, inH: inH, inW: inW, kernel: (kH, kW)).window(inH: inH, inW: inW)
        let outHW = outShape[2] * outShape[3]
        let coutPerGroup = cout / group
        let k = cinPerGroup * kH * kW
        var cols = [Float](repeating: 0, count: k * outHW)
        var colsD = [Double](repeating: 0, count: k * outHW)
        var acc = [Double](repeating: 0, count: batch * cout * outHW)
        x.data.withUnsafeBufferPointer { xp in weightsD.withUnsafeBufferPointer { wp in acc.withUnsafeMutableBufferPointer { ap in
            for img in 0..<batch {
                for g in 0..<group {
                    let src = xp.baseAddress! + (img * cin + g * cinPerGroup) * inH * inW
                    cols.withUnsafeMutableBufferPointer { im2col(src, channels: cinPerGroup, win, $0.baseAddress!) }
                    for i in 0..<cols.count { colsD[i] = Double(cols[i]) }
                    colsD.withUnsafeBufferPointer { cp in
                        dgemm(m: coutPerGroup, n: outHW, k: k, a: wp.baseAddress! + g * coutPerGroup * k, lda: k,
                              b: cp.baseAddress!, ldb: outHW, c: ap.baseAddress! + (img * cout + g * coutPerGroup) * outHW, ldc: outHW)
                    }
                }
            }
        }}}
        return acc
    }
}
