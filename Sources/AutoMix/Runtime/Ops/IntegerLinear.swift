import Kernels
import KernelsAVX512

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
    let weightsD: [Double]       // the same codes for the double path (empty when the integer kernel takes the layer)
    /// The codes in the own float kernels' layout (Conv), packed on first use: a layer the integer kernels take uses
    /// it only in the analyses' `preActivation`, and a search builds an executor per trial, so packing costs.
    let packed: OnceCell<PackedConvWeights?>
    let depthwiseTaps: OnceCell<ExactDepthwiseTaps>
    /// The exact integer kernel, where it applies (int8 or int16 Conv/Gemm on an x86 CPU); the float or double sums otherwise.
    let integer: IntegerConvKernel?
    let bias: [Int64]
    let shifts: [Int]
    let relu: Bool
    /// Saturation bounds: the output type's, or tighter when a following clamp-shaped lookup is folded in.
    var lo: Int64, hi: Int64
    let output: QuantFormat
    let inputExponent: Int
    let weightExponents: [Int]
    let rounding: RoundingMode
    let exactInFloat: Bool
    /// Bias and `2^-shift` in float32: ESP-PPQ's arithmetic, and exact when `float32Exact` (the accumulator bound
    /// plus every bias stays below 2^24).
    let float32Parameters: (bias: [Float], scales: [Float])
    let float32Exact: Bool
    /// The kernels' backend (the float depthwise kernel with fused codes is AVX-512's own where it runs).
    let gemm: GemmBackend

    init(node: Node, weight: QuantizedParameter, bias: QuantizedParameter?, input: QuantFormat, output: QuantFormat,
         activation: FusedActivation, rounding: RoundingMode, gemm: GemmBackend = .preferred) throws {
        self.node = node
        self.gemm = gemm
        let n = weight.shape[0]
        weights = Tensor(shape: weight.shape, data: weight.codes.map { Float($0) })
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
        let shifts = (0..<n).map { output.exponent - input.exponent - weight.exponent(channel: $0) }
        // a Gemm's [N, K] weight is a 1×1 Conv's [N, K, 1, 1]
        let asConv = node.op == .conv ? weight
            : QuantizedParameter(shape: weight.shape + [1, 1], codes: weight.codes, exponents: weight.exponents, bits: weight.bits)
        integer = IntegerConvKernel(weights: asConv, group: node.int("group", default: 1), bias: b, shifts: shifts, input: input,
                              kernel: IntegerKernel.of(gemm))
        weightsD = integer == nil ? weight.codes.map { Double($0) } : []   // the double sums' operand
        let weights = weights, group = node.int("group", default: 1), isConv = node.op == .conv
        packed = OnceCell { isConv ? PackedConvWeights(conv: weights, group: group, backend: gemm) : nil }
        let codesD = self.weightsD
        depthwiseTaps = OnceCell { ExactDepthwiseTaps(weights: weights, weightsD: codesD, bias: b, shifts: shifts, rounding, gemm: gemm) }
        lo = output.qmin
        hi = output.qmax
        self.shifts = shifts
        inputExponent = input.exponent
        weightExponents = (0..<n).map { weight.exponent(channel: $0) }
        relu = activation == .relu
        self.output = output
        self.rounding = rounding
        let k = weight.shape.dropFirst().reduce(1, *)
        let maxW = weight.codes.map { abs($0) }.max() ?? 0
        let accumulatorBound = Double(k) * Double(maxW) * Double(-input.qmin)
        exactInFloat = accumulatorBound < 16_777_216
        let largestBias = Double(self.bias.map { abs($0) }.max() ?? 0)
        float32Exact = accumulatorBound + largestBias < 16_777_216
        float32Parameters = (self.bias.map { Float($0) }, shifts.map { Float(QuantFormat(bits: 8, exponent: -$0).scale) })
    }

    /// This layer with a following int8 lookup folded into its saturation, when the table is exactly
    /// `q ↦ min(max(q, a), b)` (a ReLU6/Clip sharing the layer's format); nil otherwise.
    func folding(_ table: [Float]) -> IntegerLinear? {
        guard table.count == 256, output.bits == 8 else { return nil }
        let a = Int64(table[0]), b = Int64(table[255])
        for q in -128...127 where Int64(table[q + 128]) != min(max(Int64(q), a), b) { return nil }
        return folding(lo: a, hi: b)
    }

    /// This layer with a following clamp of its codes to [lo, hi] folded into its saturation.
    func folding(lo a: Int64, hi b: Int64) -> IntegerLinear {
        var folded = self
        folded.lo = max(lo, a)
        folded.hi = min(hi, b)
        return folded
    }

    /// The real value before rounding and activation, `(Σ + bias)·2^(e_in + e_w[c])`, in float32 as ESP-PPQ's
    /// simulation holds it (for the analyses).
    func preActivation(_ x: Tensor, outShape: [Int]) throws -> Tensor {
        var out = node.op == .conv
            ? try ConvOp.run(node, x: x, w: weights, bias: nil, outShape: outShape, accumulateOnly: true,
                             packed: packed.value)
            : gemmFloat(x, outShape: outShape)
        let images = outShape[0], channels = outShape[1], plane = outShape.dropFirst(2).reduce(1, *)
        let scales = weightExponents.map { Float(QuantFormat(bits: 8, exponent: inputExponent + $0).scale) }
        out.data.withUnsafeMutableBufferPointer { p in
            for img in 0..<images {
                for c in 0..<channels {
                    let base = (img * channels + c) * plane, b = Float(bias[c]), s = scales[c]
                    for i in base..<(base + plane) { p[i] = (p[i] + b) * s }
                }
            }
        }
        return out
    }

    /// The lowest code out: a fused Relu raises the output type's (or a folded clamp's) bound to 0.
    var floor: Int64 { relu ? max(lo, 0) : lo }

    /// `floor…hi` on float codes, as the depthwise taps saturate.
    var codeClamp: Clamp { Clamp(lo: Float(floor), hi: Float(hi)) }

    func run(_ x: Tensor, outShape: [Int], arithmetic: Arithmetic) throws -> Tensor {
        let images = outShape[0], channels = outShape[1], plane = outShape.dropFirst(2).reduce(1, *)
        if let integer, arithmetic == .exact || float32Exact {
            // integer sums are exact, and so are ESP-PPQ's float32 ones when they stay below 2^24
            if node.op == .gemm { return integer.runGemm(x, rounding, lo: floor, hi: hi) }
            return try integer.run(node, x: x, kernelSize: (weights.shape[2], weights.shape[3]), outShape: outShape, rounding,
                                lo: floor, hi: hi)
        }
        if arithmetic == .espPPQ || exactInFloat {
            // float sums; the epilogue reads each sum before writing its code, so it works in place, image by
            // image right after the image's sums are made (while they are in cache)
            let epilogue: (UnsafeMutablePointer<Float>, Int) -> Void
            if arithmetic == .espPPQ || float32Exact {
                let (biasF, scales) = float32Parameters
                epilogue = { acc, n in
                    requantizeFloat32(acc, images: n, channels: channels, planeSize: plane, bias: biasF, scales: scales,
                                      self.rounding, relu: self.relu, lo: Float(self.lo), hi: Float(self.hi), acc)
                }
            } else {
                epilogue = { acc, n in
                    requantizeAccumulators(acc, images: n, channels: channels, planeSize: plane, bias: self.bias, shifts: self.shifts,
                                           self.rounding, relu: self.relu, lo: self.lo, hi: self.hi, acc)
                }
            }
            if node.op == .conv && float32Exact && weights.shape[1] == 1 && node.int("group", default: 1) == x.shape[1] {
                // depthwise: the int32 pairs where they are faster (exact, as these float32 sums are), else the float taps,
                // which round and saturate as they store (the same float32 steps as the epilogue)
                if weights.shape[0] == x.shape[1], exactDepthwiseTaps.pairsBeatFloat32, let out = try exactDepthwise(x, outShape: outShape) {
                    return out
                }
                let (biasF, scales) = float32Parameters
                return try ConvOp.run(node, x: x, w: weights, bias: Tensor(shape: [biasF.count], data: biasF), outShape: outShape,
                                      clamp: codeClamp, codes: (scales, rounding), backend: gemm)
            }
            if node.op == .conv { return try ConvOp.run(node, x: x, w: weights, bias: nil, outShape: outShape, packed: packed.value) { epilogue($0, 1) } }
            var out = gemmFloat(x, outShape: outShape)
            out.data.withUnsafeMutableBufferPointer { epilogue($0.baseAddress!, images) }
            return out
        }
        if node.op == .conv, let out = try exactDepthwise(x, outShape: outShape) { return out }
        let acc = node.op == .conv ? try convDouble(x, outShape: outShape) : gemmDouble(x, outShape: outShape)
        var out = Tensor(uninitialized: outShape)
        acc.withUnsafeBufferPointer { ap in out.data.withUnsafeMutableBufferPointer { op in
            requantizeAccumulators(ap.baseAddress!, images: images, channels: channels, planeSize: plane, bias: bias, shifts: shifts,
                                   rounding, relu: relu, lo: lo, hi: hi, op.baseAddress!)
        }}
        return out
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
        var acc = [Double](unsafeUninitializedCapacity: m * n) { _, c in c = m * n }   // dgemm writes every element
        xd.withUnsafeBufferPointer { xp in weightsD.withUnsafeBufferPointer { wp in acc.withUnsafeMutableBufferPointer { cp in
            dgemm(m: m, n: n, k: k, a: xp.baseAddress!, lda: k, b: wp.baseAddress!, ldb: k, transB: true, c: cp.baseAddress!, ldc: n)
        }}}
        return acc
    }

    /// How `run` makes a depthwise layer's codes under `arithmetic`: float32 sums with the codes fused as the taps store
    /// (exact there), or the exact taps (`ExactDepthwiseTaps`: int32 pairs or doubles, on 3×3 windows of stride 1 or 2;
    /// the accumulators otherwise), which also take a float32-exact layer where the int32 pairs beat the float taps (the
    /// same codes, sooner); nil for other layers, or float sums with a separate epilogue.
    enum DepthwiseSums { case float32, exact }
    func depthwiseSums(_ arithmetic: Arithmetic) -> DepthwiseSums? {
        guard node.op == .conv, integer == nil, weights.shape.count == 4, weights.shape[1] == 1 else { return nil }
        if arithmetic == .espPPQ || exactInFloat {
            guard float32Exact else { return nil }
            return exactDepthwiseTaps.pairsBeatFloat32 ? .exact : .float32
        }
        return .exact
    }

    /// The exact taps (`DepthwiseSums.exact`) with this layer's weights, bias and `2^-shift`, made on first use.
    var exactDepthwiseTaps: ExactDepthwiseTaps { depthwiseTaps.value }
    typealias ExactDepthwiseKernel = (_ src: UnsafePointer<Float>, _ inChannels: Int, _ multiplier: Int, _ w: Window2D,
                                      _ weights: UnsafePointer<Double>, _ bias: UnsafePointer<Double>, _ scales: UnsafePointer<Double>,
                                      _ mode: RoundingMode, _ clamp: Clamp, _ scratch: UnsafeMutablePointer<Double>,
                                      _ dst: UnsafeMutablePointer<Float>) -> Void

    /// A 3×3 depthwise layer (stride 1 or 2) in exact double sums, rounded and saturated as the kernel stores; nil
    /// for any other layer.
    private func exactDepthwise(_ x: Tensor, outShape: [Int]) throws -> Tensor? {
        let (batch, cin, inH, inW) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        guard weights.shape[1] == 1, node.int("group", default: 1) == cin else { return nil }
        let win = try ConvGeometry(node: node, inH: inH, inW: inW, kernel: (weights.shape[2], weights.shape[3])).window(inH: inH, inW: inW)
        guard depthwise3x3Applies(win) else { return nil }
        let cout = outShape[1], outHW = outShape[2] * outShape[3]
        let taps = exactDepthwiseTaps
        let scratch = ExactDepthwiseTaps.Scratch(win)
        var out = Tensor(uninitialized: outShape)
        x.data.withUnsafeBufferPointer { xp in out.data.withUnsafeMutableBufferPointer { op in
            for img in 0..<batch {
                taps.run(xp.baseAddress! + img * cin * inH * inW, channels: cin, multiplier: cout / cin, first: 0, win, clamp: codeClamp,
                         scratch: scratch, op.baseAddress! + img * cout * outHW)
            }
        }}
        return out
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
        if cinPerGroup == 1 && group == cin {
            let padded = depthwisePaddedSize(win)
            var scratch = [Double](repeating: 0, count: padded.width * padded.height)
            var acc = [Double](unsafeUninitializedCapacity: batch * cout * outHW) { _, c in c = batch * cout * outHW }
            x.data.withUnsafeBufferPointer { xp in weightsD.withUnsafeBufferPointer { wp in
            scratch.withUnsafeMutableBufferPointer { sp in acc.withUnsafeMutableBufferPointer { ap in
                for img in 0..<batch {
                    depthwiseConv2dDouble(xp.baseAddress! + img * cin * inH * inW, inChannels: cin, multiplier: coutPerGroup, win,
                                          weights: wp.baseAddress!, scratch: sp.baseAddress!, ap.baseAddress! + img * cout * outHW)
                }
            }}}}
            return acc
        }
        let direct = kH == 1 && kW == 1 && win.strideH == 1 && win.strideW == 1 && win.padTop == 0 && win.padLeft == 0
            && outHW == inH * inW
        var cols = [Float](repeating: 0, count: direct ? 0 : k * outHW)
        var colsD = [Double](unsafeUninitializedCapacity: k * outHW) { _, c in c = k * outHW }
        var acc = [Double](unsafeUninitializedCapacity: batch * cout * outHW) { _, c in c = batch * cout * outHW }
        x.data.withUnsafeBufferPointer { xp in weightsD.withUnsafeBufferPointer { wp in acc.withUnsafeMutableBufferPointer { ap in
            for img in 0..<batch {
                for g in 0..<group {
                    let src = xp.baseAddress! + (img * cin + g * cinPerGroup) * inH * inW
                    if direct {
                        // a 1×1 unpadded convolution reads the planes as they are
                        for i in 0..<colsD.count { colsD[i] = Double(src[i]) }
                    } else {
                        cols.withUnsafeMutableBufferPointer { im2col(src, channels: cinPerGroup, win, $0.baseAddress!) }
                        for i in 0..<cols.count { colsD[i] = Double(cols[i]) }
                    }
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

/// Everything an `IntegerLinear` is made from, for `RebuildCache`.
struct LinearInputs: Equatable {
    let node: Node
    let weight: QuantizedParameter
    let bias: QuantizedParameter?
    let input: QuantFormat
    let output: QuantFormat
    let activation: FusedActivation
    let rounding: RoundingMode
    let gemm: GemmBackend

    func make() throws -> IntegerLinear {
        try IntegerLinear(node: node, weight: weight, bias: bias, input: input, output: output, activation: activation,
                          rounding: rounding, gemm: gemm)
    }
}
