import Kernels
import KernelsAVX512

/// Float 2-D convolution, NCHW: depthwise kernel for one-channel groups, im2col + matrix product otherwise
/// (no im2col at all for 1×1, stride 1, unpadded). The product is the packed AVX-512 kernel when `packed`
/// weights are given (bias and clamp applied as it stores), `cblas_sgemm` and a bias/clamp pass otherwise.
enum ConvOp {
    /// `clamp` is a fused Relu/Clip, applied with the bias in the same pass. With `accumulateOnly` the raw sums
    /// are returned (no bias, no clamp): the integer executor's accumulators.
    /// `perImage`, when given, replaces the bias/clamp pass: it gets each image's raw sums (`[cout][outH·outW]`)
    /// while they are still in cache (the integer executor's requantization).
    /// `codes` (depthwise only) makes the kernel write an integer layer's codes: `clamp(round((bias + Σ)·scale))`.
    static func run(_ n: Node, x: Tensor, w: Tensor, bias: Tensor?, outShape: [Int], clamp: Clamp = .none,
                    accumulateOnly: Bool = false, packed: PackedConvWeights? = nil,
                    codes: (scales: [Float], mode: RoundingMode)? = nil,
                    backend: GemmBackend = .preferred,
                    perImage: ((UnsafeMutablePointer<Float>) -> Void)? = nil) throws -> Tensor {
        let accumulateOnly = accumulateOnly || perImage != nil
        let (batch, cin, inH, inW) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, cinPerGroup, kH, kW) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let group = n.int("group", default: 1)
        guard cout % group == 0, cin == cinPerGroup * group else {
            throw ShapeInference.fail(n, "group \(group) does not divide \(cin) input / \(cout) output channels")
        }
        let geometry = try ConvGeometry(node: n, inH: inH, inW: inW, kernel: (kH, kW))
        let win = geometry.window(inH: inH, inW: inW)
        let outHW = outShape[2] * outShape[3]
        let coutPerGroup = cout / group
        let depthwise = cinPerGroup == 1 && group == cin
        guard codes == nil || depthwise else { throw ShapeInference.fail(n, "integer codes are fused for depthwise Conv only") }
        let scales = codes?.scales ?? []
        let direct = geometry.readsPlanesDirectly
        let k = cinPerGroup * kH * kW
        var out = Tensor(uninitialized: outShape)
        let packed = packed.flatMap { p in !depthwise && p.groups == group && p.rowsPerGroup == coutPerGroup && p.k == k ? p : nil }
        if direct, group == 1, let packed, perImage == nil, FoldedImages.applies(batch: batch, plane: outHW) {
            return foldedImages(x, packed, bias: accumulateOnly ? nil : bias, accumulateOnly ? .none : clamp, outShape: outShape)
        }
        let depthwiseKernel = Self.depthwiseKernel(win, backend: backend)
        var scratch = [Float](repeating: 0, count: depthwise ? depthwiseScratchCount(win)
                                : (direct ? 0 : k * outHW) + (packed?.scratchCount ?? 0))
        let b = accumulateOnly ? [Float](repeating: 0, count: cout) : bias?.data ?? [Float](repeating: 0, count: cout)
        let epilogueClamp = accumulateOnly ? Clamp.none : clamp
        x.data.withUnsafeBufferPointer { xp in
        w.data.withUnsafeBufferPointer { wp in
        b.withUnsafeBufferPointer { bp in
        scales.withUnsafeBufferPointer { scp in
        out.data.withUnsafeMutableBufferPointer { op in
        scratch.withUnsafeMutableBufferPointer { sp in
            for img in 0..<batch {
                let src = xp.baseAddress! + img * cin * inH * inW
                let dst = op.baseAddress! + img * cout * outHW
                if depthwise {
                    depthwiseKernel(src, cin, coutPerGroup, win, wp.baseAddress!, bp.baseAddress!, epilogueClamp,
                                    codes.map { CodeRounding(scales: scp.baseAddress!, mode: $0.mode) }, sp.baseAddress!, dst)
                    perImage?(dst)
                    continue
                }
                for g in 0..<group {
                    let gsrc = src + g * cinPerGroup * inH * inW
                    let cols: UnsafePointer<Float>
                    if direct {
                        cols = gsrc
                    } else {
                        im2col(gsrc, channels: cinPerGroup, win, sp.baseAddress!)
                        cols = UnsafePointer(sp.baseAddress!)
                    }
                    if let packed {
                        packed.multiply(group: g, cols: cols, n: outHW, out: dst + g * coutPerGroup * outHW,
                                        bias: bp.baseAddress! + g * coutPerGroup, lo: epilogueClamp.lo, hi: epilogueClamp.hi,
                                        scratch: sp.baseAddress! + (direct ? 0 : k * outHW))
                    } else {
                        sgemm(m: coutPerGroup, n: outHW, k: k, a: wp.baseAddress! + g * coutPerGroup * k, lda: k,
                              b: cols, ldb: outHW, c: dst + g * coutPerGroup * outHW, ldc: outHW)
                    }
                }
                if !accumulateOnly && packed == nil {
                    biasClamp(dst, channels: cout, planeSize: outHW, bias: bp.baseAddress!, clamp)
                }
                perImage?(dst)
            }
        }}}}}}
        return out
    }

    typealias DepthwiseKernel = (_ src: UnsafePointer<Float>, _ inChannels: Int, _ multiplier: Int, _ w: Window2D,
                                 _ weights: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ clamp: Clamp, _ codes: CodeRounding?,
                                 _ scratch: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>) -> Void

    /// The float depthwise kernel (codes fused or not) for a window: AVX-512's 3×3 taps where they run, else the portable one.
    static func depthwiseKernel(_ win: Window2D, backend: GemmBackend) -> DepthwiseKernel {
        #if arch(x86_64)   // KernelsAVX512's kernels exist on x86 only
        if backend.bringsAVX512Depthwise && depthwise3x3Applies(win) { return depthwise3x3AVX512 }
        #endif
        return depthwiseConv2d
    }

    /// A 1×1 Conv on small planes with all images in one product (see `FoldedImages`).
    static func foldedImages(_ x: Tensor, _ packed: PackedConvWeights, bias: Tensor?, _ clamp: Clamp, outShape: [Int]) -> Tensor {
        var scratch = [Float](repeating: 0, count: packed.scratchCount)
        let b = bias?.data ?? [Float](repeating: 0, count: outShape[1])
        return FoldedImages.run(x, outShape: outShape) { cols, n, product in
            b.withUnsafeBufferPointer { bp in scratch.withUnsafeMutableBufferPointer { sp in
                packed.multiply(group: 0, cols: cols, n: n, out: product, bias: bp.baseAddress!, lo: clamp.lo, hi: clamp.hi,
                                scratch: sp.baseAddress!)
            }}
        }
    }
}
