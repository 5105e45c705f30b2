import Kernels
import KernelsVNNI

/// An int8 Conv (not depthwise) on the exact integer matrix kernels: ESP-DL's int8 products summed in int32, shifted
/// with the chip's rounding and saturated in the kernel's epilogue (`shiftRoundClamped`), written as float codes.
/// Made once per layer with the weights packed; nil where the kernels do not apply, and the layer keeps the float
/// or double sums of `IntegerLinear`:
/// - input or weights wider than int8, or a shift outside 1…30;
/// - a bound `k·128·128 + |bias| + 2^(shift−1)` at or above 2^31 (int32 would not be exact);
/// - a CPU (or `--gemm`) without an integer kernel.
struct Int8ConvKernel: Sendable {
    let kernel: Int8Kernel
    let groups: Int
    let rowsPerGroup: Int
    let k: Int
    let shape: IntegerTileShape
    /// Packed weights, one block per group.
    let weights: [Int32]
    /// Bias and shift for every row of every panel (padded rows: 0 and 1), per group; VNNI's bias has the offset
    /// `128·Σ w` taken out.
    let bias: [Int32]
    let shifts: [Int32]

    init?(weights w: QuantizedParameter, group: Int, bias: [Int64], shifts: [Int], input: QuantFormat, kernel: Int8Kernel?) {
        guard let kernel, input.bits == 8, w.shape.count == 4, w.shape[1] > 1, group >= 1, w.shape[0] % group == 0,
              w.codes.allSatisfy({ (-128...127).contains($0) }), shifts.allSatisfy({ (1...30).contains($0) }) else { return nil }
        let cout = w.shape[0], k = w.shape.dropFirst().reduce(1, *)
        let largestBias = bias.map { abs($0) }.max() ?? 0
        guard Int64(k) * 128 * 128 + largestBias + (1 << 29) < Int64(Int32.max) else { return nil }
        self.kernel = kernel
        groups = group
        let rowsPerGroup = cout / group
        self.rowsPerGroup = rowsPerGroup
        self.k = k
        #if arch(x86_64)
        let shape = kernel == .vnni ? int8VNNIShape : int8Gemm256Shape
        #else
        return nil
        #endif
        self.shape = shape
        let panelRows = panelCount(rowsPerGroup, rows: shape.rows) * shape.rows
        let perGroup = panelRows * shape.lanes.words(k)
        let codes = w.codes.map { Float($0) }
        var packed = [Int32](repeating: 0, count: perGroup * group)
        var b = [Int32](repeating: 0, count: panelRows * group), s = [Int32](repeating: 1, count: panelRows * group)
        codes.withUnsafeBufferPointer { cp in packed.withUnsafeMutableBufferPointer { pp in
            for g in 0..<group {
                packIntegerPanels(m: rowsPerGroup, k: k, codes: cp.baseAddress! + g * rowsPerGroup * k, rows: shape.rows,
                                  shape.lanes, into: pp.baseAddress! + g * perGroup)
            }
        }}
        for g in 0..<group {
            for r in 0..<rowsPerGroup {
                let row = g * rowsPerGroup + r
                let offset = kernel == .vnni ? 128 * w.codes[(row * k)..<((row + 1) * k)].reduce(0, +) : 0
                b[g * panelRows + r] = Int32(bias[row] - offset)
                s[g * panelRows + r] = Int32(shifts[row])
            }
        }
        weights = packed
        self.bias = b
        self.shifts = s
    }

    /// The layer's float codes out, `[images][cout][outH·outW]`, saturated to [lo, hi].
    func run(_ node: Node, x: Tensor, kernelSize: (Int, Int), outShape: [Int], _ mode: RoundingMode, lo: Int64, hi: Int64) throws -> Tensor {
        let (batch, cin, inH, inW) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let geometry = try ConvGeometry(node: node, inH: inH, inW: inW, kernel: kernelSize)
        let win = geometry.window(inH: inH, inW: inW)
        let outHW = outShape[2] * outShape[3], cinPerGroup = cin / groups
        let direct = kernelSize == (1, 1) && win.strideH == 1 && win.strideW == 1 && geometry.pads == (0, 0, 0, 0)
        let cols = direct ? 0 : k * outHW
        var scratch = [Float](repeating: 0, count: cols + (shape.scratchBytes(k: k, n: outHW) + 3) / 4)
        var out = Tensor(uninitialized: outShape)
        let perGroup = weights.count / groups, panelRows = bias.count / groups
        x.data.withUnsafeBufferPointer { xp in out.data.withUnsafeMutableBufferPointer { op in
        scratch.withUnsafeMutableBufferPointer { sp in weights.withUnsafeBufferPointer { wp in
        bias.withUnsafeBufferPointer { bp in shifts.withUnsafeBufferPointer { shp in
            for img in 0..<batch {
                for g in 0..<groups {
                    let src = xp.baseAddress! + (img * cin + g * cinPerGroup) * inH * inW
                    if !direct { im2col(src, channels: cinPerGroup, win, sp.baseAddress!) }
                    multiply(packedA: wp.baseAddress! + g * perGroup, b: direct ? src : UnsafePointer(sp.baseAddress!), n: outHW,
                             c: op.baseAddress! + (img * rowsPerGroup * groups + g * rowsPerGroup) * outHW,
                             bias: bp.baseAddress! + g * panelRows, shifts: shp.baseAddress! + g * panelRows, mode,
                             lo: Int32(lo), hi: Int32(hi), scratch: UnsafeMutableRawPointer(sp.baseAddress! + cols))
                }
            }
        }}}}}}
        return out
    }

    /// A Gemm (`y = x·Wᵀ`, `x` `[m × k]`) as the 1×1 Conv it is: the kernel makes `W·xᵀ`, transposed back.
    func runGemm(_ x: Tensor, _ mode: RoundingMode, lo: Int64, hi: Int64) -> Tensor {
        let (m, n) = (x.shape[0], rowsPerGroup)
        var xt = [Float](repeating: 0, count: k * m), yt = [Float](repeating: 0, count: n * m)
        for i in 0..<m { for j in 0..<k { xt[j * m + i] = x.data[i * k + j] } }
        var scratch = [Float](repeating: 0, count: (shape.scratchBytes(k: k, n: m) + 3) / 4)
        xt.withUnsafeBufferPointer { xp in yt.withUnsafeMutableBufferPointer { yp in scratch.withUnsafeMutableBufferPointer { sp in
        weights.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in shifts.withUnsafeBufferPointer { shp in
            multiply(packedA: wp.baseAddress!, b: xp.baseAddress!, n: m, c: yp.baseAddress!, bias: bp.baseAddress!,
                     shifts: shp.baseAddress!, mode, lo: Int32(lo), hi: Int32(hi), scratch: UnsafeMutableRawPointer(sp.baseAddress!))
        }}}}}}
        var y = Tensor(uninitialized: [m, n])
        for i in 0..<m { for j in 0..<n { y.data[i * n + j] = yt[j * m + i] } }
        return y
    }

    private func multiply(packedA: UnsafePointer<Int32>, b: UnsafePointer<Float>, n: Int, c: UnsafeMutablePointer<Float>,
                          bias: UnsafePointer<Int32>, shifts: UnsafePointer<Int32>, _ mode: RoundingMode, lo: Int32, hi: Int32,
                          scratch: UnsafeMutableRawPointer) {
        #if arch(x86_64)
        let body = kernel == .vnni ? int8GemmVNNI : int8Gemm256
        body(rowsPerGroup, n, k, packedA, b, n, c, n, bias, shifts, mode, lo, hi, scratch)
        #endif
    }
}
