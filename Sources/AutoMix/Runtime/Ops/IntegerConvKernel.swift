import Kernels
import KernelsVNNI

/// A Conv (not depthwise) or Gemm on the exact integer matrix kernels, made once per layer with the weights packed:
/// - int8 input and weights: int8 products summed in int32, shifted with the chip's rounding and saturated in the
///   tile's epilogue (`int8GemmVNNI`, `int8Gemm256`: on AVX2 with `vpmaddubsw` bytes where the input's codes are all 0…127);
/// - int16 (or int8 input with int16 weights): the weights split into high and low bytes, int32 sums over chunks
///   gathered in doubles, the double epilogue (`int16Gemm`).
/// nil where neither applies, and the layer keeps the float or double sums of `IntegerLinear`: a CPU (or `--gemm`)
/// without integer kernels; an int8 bound `k·128·128 + |bias| + 2^(shift−1)` at or above 2^31 or a shift outside
/// 1…30 (then the int16 kernel takes it); input or weights wider than int16; `k` of 2^22 or more.
struct IntegerConvKernel: Sendable {
    enum Epilogue: Sendable {
        /// Per padded row: bias (VNNI: minus `128·Σw`) and shift, as the int8 tiles read them.
        case int8(bias: [Int32], shifts: [Int32])
        /// Per real row: bias and `2^-shift`, for the double epilogue.
        case int16(bias: [Double], scales: [Double])
    }

    let kernel: IntegerKernel
    let groups: Int
    let rowsPerGroup: Int
    let k: Int
    let shape: IntegerTileShape
    /// Packed weights, one block per group.
    let weights: [Int32]
    /// The int8 weights packed again as bytes for `int8Gemm256(nonNegative:)`, which takes the calls whose input codes are all
    /// 0…127 (an input after a Relu or Clip); empty where that path does not apply (VNNI, int16).
    let byteWeights: [Int32]
    let epilogue: Epilogue

    init?(weights w: QuantizedParameter, group: Int, bias: [Int64], shifts: [Int], input: QuantFormat, kernel: IntegerKernel?) {
        guard let kernel, input.bits <= 16, w.shape.count == 4, w.shape[1] > 1, group >= 1, w.shape[0] % group == 0,
              w.codes.allSatisfy({ (-32768...32767).contains($0) }) else { return nil }
        let cout = w.shape[0], k = w.shape.dropFirst().reduce(1, *)
        let largestBias = bias.map { abs($0) }.max() ?? 0
        let int8 = input.bits == 8 && w.codes.allSatisfy({ (-128...127).contains($0) }) && shifts.allSatisfy({ (1...30).contains($0) })
            && Int64(k) * 128 * 128 + largestBias + (1 << 29) < Int64(Int32.max)
        guard int8 || k < 1 << 22 else { return nil }
        self.kernel = kernel
        groups = group
        let rowsPerGroup = cout / group
        self.rowsPerGroup = rowsPerGroup
        self.k = k
        #if arch(x86_64)
        let shape = int8 ? (kernel == .vnni ? int8VNNIShape : int8Gemm256Shape) : (kernel == .vnni ? int16VNNIShape : int16Gemm256Shape)
        #else
        return nil
        #endif
        self.shape = shape
        let codes = w.codes.map { Float($0) }
        // int8: rows as they are; int16: each panel holds half its rows' high bytes, then their low bytes
        func rowsPacked(in shape: IntegerTileShape) -> Int {
            int8 ? panelCount(rowsPerGroup, rows: shape.rows) * shape.rows : panelCount(rowsPerGroup, rows: shape.rows / 2) * shape.rows
        }
        /// Every group's weights in `shape`'s panels, one block per group.
        func packGroups(_ shape: IntegerTileShape) -> [Int32] {
            let rows = rowsPacked(in: shape), perGroup = rows * shape.lanes.words(k)
            var packed = [Int32](repeating: 0, count: perGroup * group)
            codes.withUnsafeBufferPointer { cp in packed.withUnsafeMutableBufferPointer { pp in
                for g in 0..<group {
                    let a = cp.baseAddress! + g * rowsPerGroup * k, into = pp.baseAddress! + g * perGroup
                    if int8 {
                        packIntegerPanels(m: rowsPerGroup, k: k, codes: a, rows: shape.rows, shape.lanes, into: into)
                    } else {
                        let split = splitInt16Rows(m: rowsPerGroup, k: k, codes: a, rows: shape.rows)
                        packIntegerPanels(m: rows, k: k, codes: split, rows: shape.rows, shape.lanes, into: into)
                    }
                }
            }}
            return packed
        }
        let packedRows = rowsPacked(in: shape)
        weights = packGroups(shape)
        #if arch(x86_64)
        byteWeights = int8 && kernel == .pairs256 ? packGroups(int8Bytes256Shape) : []
        #else
        byteWeights = []
        #endif
        if int8 {
            var b = [Int32](repeating: 0, count: packedRows * group), s = [Int32](repeating: 1, count: packedRows * group)
            for g in 0..<group {
                for r in 0..<rowsPerGroup {
                    let row = g * rowsPerGroup + r
                    let offset = kernel == .vnni ? 128 * w.codes[(row * k)..<((row + 1) * k)].reduce(0, +) : 0
                    b[g * packedRows + r] = Int32(bias[row] - offset)
                    s[g * packedRows + r] = Int32(shifts[row])
                }
            }
            epilogue = .int8(bias: b, shifts: s)
        } else {
            epilogue = .int16(bias: bias.map { Double($0) }, scales: shifts.map { Double(sign: .plus, exponent: -$0, significand: 1) })
        }
    }

    /// The tile shape `byteWeights` are packed for; nil where there are none.
    private var byteShape: IntegerTileShape? {
        #if arch(x86_64)
        byteWeights.isEmpty ? nil : int8Bytes256Shape
        #else
        nil
        #endif
    }

    /// Bytes of scratch the kernel needs for `n` columns (`streaming`: all in one block, see `PanelSink`).
    func scratchBytes(n: Int, streaming: Bool = false) -> Int {
        switch epilogue {
        case .int8: max(shape.scratchBytes(k: k, n: n, streaming: streaming), byteShape?.scratchBytes(k: k, n: n, streaming: streaming) ?? 0)
        case .int16: int16GemmScratchBytes(shape, k: k, n: n, streaming: streaming)
        }
    }

    /// The layer's float codes out, `[images][cout][outH·outW]`, saturated to [lo, hi].
    func run(_ node: Node, x: Tensor, kernelSize: (Int, Int), outShape: [Int], _ mode: RoundingMode, lo: Int64, hi: Int64) throws -> Tensor {
        let (batch, cin, inH, inW) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let geometry = try ConvGeometry(node: node, inH: inH, inW: inW, kernel: kernelSize)
        let win = geometry.window(inH: inH, inW: inW)
        let outHW = outShape[2] * outShape[3], cinPerGroup = cin / groups
        let direct = geometry.readsPlanesDirectly
        if direct, groups == 1, FoldedImages.applies(batch: batch, plane: outHW) {
            var scratch = [UInt8](repeating: 0, count: scratchBytes(n: batch * outHW))
            return FoldedImages.run(x, outShape: outShape) { cols, n, product in
                scratch.withUnsafeMutableBytes {
                    multiply(group: 0, perGroup: weights.count, b: cols, n: n, c: product, mode, lo: lo, hi: hi, scratch: $0.baseAddress!)
                }
            }
        }
        let cols = direct ? 0 : k * outHW
        var scratch = [Float](repeating: 0, count: cols + (scratchBytes(n: outHW) + 7) / 4)
        var out = Tensor(uninitialized: outShape)
        let perGroup = weights.count / groups
        x.data.withUnsafeBufferPointer { xp in out.data.withUnsafeMutableBufferPointer { op in
        scratch.withUnsafeMutableBufferPointer { sp in
            for img in 0..<batch {
                for g in 0..<groups {
                    let src = xp.baseAddress! + (img * cin + g * cinPerGroup) * inH * inW
                    if !direct { im2col(src, channels: cinPerGroup, win, sp.baseAddress!) }
                    multiply(group: g, perGroup: perGroup, b: direct ? src : UnsafePointer(sp.baseAddress!), n: outHW,
                             c: op.baseAddress! + (img * rowsPerGroup * groups + g * rowsPerGroup) * outHW, mode, lo: lo, hi: hi,
                             scratch: UnsafeMutableRawPointer(sp.baseAddress! + cols))
                }
            }
        }}}
        return out
    }

    /// Whether `stream` takes the layer: one group.
    var streams: Bool { groups == 1 }

    /// The layer's codes, as `run` makes them, handed on a panel of rows at a time instead of stored:
    /// `consume(image, firstRow, rows, codes)` gets rows `firstRow..<firstRow + rows` of one image (`[rows][outH·outW]`),
    /// valid during the call only. For a layer that `streams`.
    func stream(_ node: Node, x: Tensor, kernelSize: (Int, Int), outShape: [Int], _ mode: RoundingMode, lo: Int64, hi: Int64,
                consume: (_ image: Int, _ firstRow: Int, _ rows: Int, _ codes: UnsafePointer<Float>) -> Void) throws {
        let (batch, cin, inH, inW) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let geometry = try ConvGeometry(node: node, inH: inH, inW: inW, kernel: kernelSize)
        let win = geometry.window(inH: inH, inW: inW)
        let outHW = outShape[2] * outShape[3]
        let direct = geometry.readsPlanesDirectly
        let cols = direct ? 0 : k * outHW
        let bytes = scratchBytes(n: outHW, streaming: true)
        var scratch = [Float](repeating: 0, count: cols + shape.rows * outHW + (bytes + 3) / 4)
        withoutActuallyEscaping(consume) { consume in
        x.data.withUnsafeBufferPointer { xp in scratch.withUnsafeMutableBufferPointer { sp in
            let panel = sp.baseAddress! + cols
            for img in 0..<batch {
                let src = xp.baseAddress! + img * cin * inH * inW
                if !direct { im2col(src, channels: cin, win, sp.baseAddress!) }
                multiply(group: 0, perGroup: weights.count, b: direct ? src : UnsafePointer(sp.baseAddress!), n: outHW, c: panel,
                         mode, lo: lo, hi: hi, scratch: UnsafeMutableRawPointer(panel + shape.rows * outHW)) { first, rows in
                    consume(img, first, rows, panel)
                }
            }
        }}}
    }

    /// A Gemm (`y = x·Wᵀ`, `x` `[m × k]`) as the 1×1 Conv it is: the kernel makes `W·xᵀ`, transposed back.
    func runGemm(_ x: Tensor, _ mode: RoundingMode, lo: Int64, hi: Int64) -> Tensor {
        let (m, n) = (x.shape[0], rowsPerGroup)
        var xt = [Float](repeating: 0, count: k * m), yt = [Float](repeating: 0, count: n * m)
        for i in 0..<m { for j in 0..<k { xt[j * m + i] = x.data[i * k + j] } }
        var scratch = [Float](repeating: 0, count: (scratchBytes(n: m) + 7) / 4)
        xt.withUnsafeBufferPointer { xp in yt.withUnsafeMutableBufferPointer { yp in scratch.withUnsafeMutableBufferPointer { sp in
            multiply(group: 0, perGroup: weights.count, b: xp.baseAddress!, n: m, c: yp.baseAddress!, mode, lo: lo, hi: hi,
                     scratch: UnsafeMutableRawPointer(sp.baseAddress!))
        }}}
        var y = Tensor(uninitialized: [m, n])
        for i in 0..<m { for j in 0..<n { y.data[i * n + j] = yt[j * m + i] } }
        return y
    }

    /// `sink` streams the panels through `c` (see `PanelSink`).
    private func multiply(group g: Int, perGroup: Int, b: UnsafePointer<Float>, n: Int, c: UnsafeMutablePointer<Float>,
                          _ mode: RoundingMode, lo: Int64, hi: Int64, scratch: UnsafeMutableRawPointer, sink: PanelSink? = nil) {
        #if arch(x86_64)
        weights.withUnsafeBufferPointer { wp in
            let a = wp.baseAddress! + g * perGroup
            switch epilogue {
            case let .int8(bias, shifts):
                let rows = bias.count / groups
                // inputs of 0…127 (checked on the codes, so any input stays exact) take vpmaddubsw's bytes
                let unsigned = !byteWeights.isEmpty && codesAreNonNegative(b, count: k * n)
                bias.withUnsafeBufferPointer { bp in shifts.withUnsafeBufferPointer { sp in byteWeights.withUnsafeBufferPointer { bw in
                    let (pb, ps) = (bp.baseAddress! + g * rows, sp.baseAddress! + g * rows)
                    if kernel == .vnni {
                        int8GemmVNNI(m: rowsPerGroup, n: n, k: k, packedA: a, b: b, ldb: n, c: c, ldc: n, bias: pb, shifts: ps, mode,
                                     lo: Int32(lo), hi: Int32(hi), scratch: scratch, sink: sink)
                    } else {
                        int8Gemm256(m: rowsPerGroup, n: n, k: k, packedA: unsigned ? bw.baseAddress! + g * (byteWeights.count / groups) : a,
                                    b: b, ldb: n, c: c, ldc: n, bias: pb, shifts: ps, mode, lo: Int32(lo), hi: Int32(hi),
                                    scratch: scratch, sink: sink, nonNegative: unsigned)
                    }
                }}}
            case let .int16(bias, scales):
                bias.withUnsafeBufferPointer { bp in scales.withUnsafeBufferPointer { sp in
                    let body = kernel == .vnni ? int16GemmVNNI : int16Gemm256
                    body(rowsPerGroup, n, k, a, b, n, c, n, bp.baseAddress! + g * rowsPerGroup, sp.baseAddress! + g * rowsPerGroup,
                         mode, Double(lo), Double(hi), scratch, sink)
                }}
            }
        }
        #endif
    }
}
