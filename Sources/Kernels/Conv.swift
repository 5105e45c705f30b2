import COpenBLAS

/// Geometry of one 2-D convolution or pooling window over a single image plane.
public struct Window2D: Sendable, Equatable {
    public var inH: Int, inW: Int, outH: Int, outW: Int
    public var kH: Int, kW: Int
    public var strideH: Int, strideW: Int
    public var padTop: Int, padLeft: Int
    public var dilationH: Int, dilationW: Int

    public init(inH: Int, inW: Int, outH: Int, outW: Int, kH: Int, kW: Int, strideH: Int, strideW: Int,
                padTop: Int, padLeft: Int, dilationH: Int, dilationW: Int) {
        self.inH = inH; self.inW = inW; self.outH = outH; self.outW = outW
        self.kH = kH; self.kW = kW; self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padLeft = padLeft; self.dilationH = dilationH; self.dilationW = dilationW
    }

    /// Output columns `[lo, hi)` whose input column `ox*stride - pad + kx*dilation` lies inside the plane.
    @inline(__always)
    func validRange(k: Int, stride: Int, pad: Int, dilation: Int, inSize: Int, outSize: Int) -> (Int, Int) {
        let off = k * dilation - pad
        // smallest o with o*stride + off >= 0
        var lo = off >= 0 ? 0 : (-off + stride - 1) / stride
        // largest o with o*stride + off <= inSize-1
        let lastIn = inSize - 1 - off
        var hi = lastIn < 0 ? 0 : lastIn / stride + 1
        lo = min(lo, outSize); hi = min(hi, outSize)
        return (lo, max(lo, hi))
    }
}

/// Unfolds `channels` planes of one image into a `[channels*kH*kW, outH*outW]` row-major matrix (zeros in the padding).
public func im2col(_ src: UnsafePointer<Float>, channels: Int, _ w: Window2D, _ dst: UnsafeMutablePointer<Float>) {
    let outHW = w.outH * w.outW
    var row = 0
    for c in 0..<channels {
        let plane = src + c * w.inH * w.inW
        for ky in 0..<w.kH {
            let (oyLo, oyHi) = w.validRange(k: ky, stride: w.strideH, pad: w.padTop, dilation: w.dilationH,
                                            inSize: w.inH, outSize: w.outH)
            for kx in 0..<w.kW {
                let (oxLo, oxHi) = w.validRange(k: kx, stride: w.strideW, pad: w.padLeft, dilation: w.dilationW,
                                                inSize: w.inW, outSize: w.outW)
                let out = dst + row * outHW
                row += 1
                if oyLo >= oyHi || oxLo >= oxHi {
                    out.update(repeating: 0, count: outHW)
                    continue
                }
                out.update(repeating: 0, count: oyLo * w.outW)
                for oy in oyLo..<oyHi {
                    let o = out + oy * w.outW
                    let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                    let inRow = plane + iy * w.inW + kx * w.dilationW - w.padLeft
                    for ox in 0..<oxLo { o[ox] = 0 }
                    if w.strideW == 1 {
                        for ox in oxLo..<oxHi { o[ox] = inRow[ox] }
                    } else if w.strideW == 2 {
                        // a constant stride lets the compiler load two vectors and keep every other float
                        for ox in oxLo..<oxHi { o[ox] = inRow[2 * ox] }
                    } else {
                        for ox in oxLo..<oxHi { o[ox] = inRow[ox * w.strideW] }
                    }
                    for ox in oxHi..<w.outW { o[ox] = 0 }
                }
                (out + oyHi * w.outW).update(repeating: 0, count: (w.outH - oyHi) * w.outW)
            }
        }
    }
}

/// `C[M,N] = alpha·A[M,K] · B[K,N] + beta·C`, row-major, through OpenBLAS.
///
/// One or two rows (a classifier on a sub-batch of one or two images) go through `sgemv` row by row:
/// OpenBLAS 0.3.21's sgemm packs all of `B` first, which for MobileNetV2's 1280×1000 classifier costs three
/// times the product itself (0.47 against 0.16 ms for one row).
public func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                  b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                  c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, beta: Float = 0) {
    if m <= 2 {
        for i in 0..<m {
            let r = GemvRow(i, n: n, k: k, lda: lda, transA: transA, transB: transB)
            cblas_sgemv(CblasRowMajor, r.trans, r.rows, r.cols, alpha, b, Int32(ldb), a + r.xOffset, r.incx, beta, c + i * ldc, 1)
        }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Row `i` of `C = op(A)·op(B)` as one `gemv`: `op(B)ᵀ` applied to row `i` of `op(A)` (with `B[N,K]` read as is
/// when transposed), for `sgemm`'s and `dgemm`'s one- and two-row cases.
struct GemvRow {
    let trans: CBLAS_TRANSPOSE
    let rows: Int32, cols: Int32
    let xOffset: Int, incx: Int32

    init(_ i: Int, n: Int, k: Int, lda: Int, transA: Bool, transB: Bool) {
        trans = transB ? CblasNoTrans : CblasTrans
        (rows, cols) = transB ? (Int32(n), Int32(k)) : (Int32(k), Int32(n))
        (xOffset, incx) = transA ? (i, Int32(lda)) : (i * lda, 1)
    }
}

/// Output bounds of a convolution with a fused Relu (`0…∞`), ReLU6/Clip, or none (`-∞…∞`).
/// Per-channel factors `2^-shift` and the chip's rounding: a float kernel that writes integer codes.
public struct CodeRounding {
    public let scales: UnsafePointer<Float>
    public let mode: RoundingMode
    public init(scales: UnsafePointer<Float>, mode: RoundingMode) { self.scales = scales; self.mode = mode }
}

public struct Clamp: Sendable, Equatable {
    public var lo: Float, hi: Float
    public init(lo: Float, hi: Float) { self.lo = lo; self.hi = hi }
    public static let none = Clamp(lo: -.infinity, hi: .infinity)
}

/// Adds the per-channel bias and clamps, in one pass over `channels` planes (the GEMM path's epilogue).
public func biasClamp(_ y: UnsafeMutablePointer<Float>, channels: Int, planeSize: Int, bias: UnsafePointer<Float>, _ c: Clamp) {
    for ch in 0..<channels {
        let b = bias[ch]
        let p = y + ch * planeSize
        for i in 0..<planeSize { p[i] = Swift.min(Swift.max(p[i] + b, c.lo), c.hi) }
    }
}

/// Depthwise convolution of one image: output channel `oc` reads input channel `oc / multiplier`;
/// writes `clamp(bias + Σ w·x)`. `scratch` holds `depthwiseScratchCount(w)` floats.
///
/// Each input plane is first copied into a zero-padded scratch plane so the inner loops are branch-free.
/// 3×3 kernels of stride 1 or 2 (all of MobileNet's) then run as one long vector loop per channel: outputs are
/// computed "wide", on the padded plane's row pitch, so every tap is a fixed offset and a 7×7 plane is one
/// 61-element loop rather than seven 7-element ones; the few columns past the edge are dropped when the rows
/// are copied out. For stride 2 the padded plane is stored as four quarters (even/odd rows × even/odd columns),
/// which makes the taps of neighbouring outputs neighbouring floats again.
///
/// With `codes`, each output is an integer layer's code: `clamp(round((bias + Σ)·scale[channel]))`, rounded the
/// chip's way (the sums of float-held int8 codes are exact, so this is ESP-DL's requantization, fused).
public func depthwiseConv2d(_ src: UnsafePointer<Float>, inChannels: Int, multiplier: Int, _ w: Window2D,
                            weights: UnsafePointer<Float>, bias: UnsafePointer<Float>, _ clamp: Clamp,
                            codes: CodeRounding? = nil, scratch: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
    if depthwise3x3Applies(w) {
        depthwise3x3(Taps3x3.self, src, inChannels: inChannels, multiplier: multiplier, w, weights: weights, bias: bias, clamp,
                     scales: codes?.scales, codes?.mode ?? .halfEven, scratch: scratch, dst)
        return
    }
    let (pw, ph) = depthwisePaddedSize(w)
    let outHW = w.outH * w.outW
    scratch.update(repeating: 0, count: pw * ph)
    var lastChannel = -1
    for oc in 0..<(inChannels * multiplier) {
        let ic = oc / multiplier
        if ic != lastChannel {
            let plane = src + ic * w.inH * w.inW
            for y in 0..<w.inH { (scratch + (y + w.padTop) * pw + w.padLeft).update(from: plane + y * w.inW, count: w.inW) }
            lastChannel = ic
        }
        let out = dst + oc * outHW
        let k = weights + oc * w.kH * w.kW
        let b = bias[oc]
        for oy in 0..<w.outH {
            let o = out + oy * w.outW
            o.update(repeating: b, count: w.outW)
            addTaps(into: o, row: oy, UnsafePointer(scratch), pitch: pw, kernel: k, w)
            if let codes {
                let scale = codes.scales[oc]
                for ox in 0..<w.outW { o[ox] = codes.mode.round(o[ox] * scale) }
            }
            for ox in 0..<w.outW { o[ox] = Swift.min(Swift.max(o[ox], clamp.lo), clamp.hi) }
        }
    }
}

/// Floats of scratch `depthwiseConv2d` needs: the padded plane (or its four stride-2 quarters) and one wide output.
public func depthwiseScratchCount(_ w: Window2D) -> Int {
    let (pw, ph) = depthwisePaddedSize(w)
    return (pw + 1) * (ph + 1) + w.outH * (pw + 1)
}

/// The 3×3 layout and loop, for float sums (`Taps3x3`, or AVX-512's own taps) or exact double ones
/// (`ExactTaps3x3`); `scales` turns the sums into codes (see `depthwiseConv2d`). Inlinable so that each taps type's
/// module specializes it (AVX-512's with its own instructions).
@inlinable
public func depthwise3x3<Taps: DepthwiseTaps>(_: Taps.Type, _ src: UnsafePointer<Float>, inChannels: Int, multiplier: Int,
                                               _ w: Window2D, weights: UnsafePointer<Taps.Scalar>, bias: UnsafePointer<Taps.Scalar>,
                                               _ clamp: Clamp, scales: UnsafePointer<Taps.Scalar>?, _ mode: RoundingMode,
                                               scratch: UnsafeMutablePointer<Taps.Scalar>, _ dst: UnsafeMutablePointer<Float>) {
    let (pw, ph) = depthwisePaddedSize(w)
    let s = w.strideH
    let (qw, qh) = s == 1 ? (pw, ph) : ((pw + 1) / 2, (ph + 1) / 2)
    let quarter = qw * qh
    let wide = UnsafeMutableRawPointer(scratch + s * s * quarter).assumingMemoryBound(to: Float.self)
    scratch.update(repeating: 0, count: s * s * quarter)
    // tap (ky, kx) reads quarter (ky % s, kx % s) at row oy + ky / s, column ox + kx / s
    let offsets = (0..<9).map { t in (t / 3 % s * s + t % 3 % s) * quarter + t / 3 / s * qw + t % 3 / s }
    // wide rows pay off on small planes only; large rows write straight to the output
    let rowwise = w.outW >= 16
    let outHW = w.outH * w.outW
    var lastChannel = -1
    for oc in 0..<(inChannels * multiplier) {
        let ic = oc / multiplier
        if ic != lastChannel {
            let plane = src + ic * w.inH * w.inW
            for y in 0..<w.inH {
                let py = y + w.padTop, from = plane + y * w.inW
                if s == 1 {
                    let to = scratch + py * pw + w.padLeft
                    if Taps.Scalar.self == Float.self {
                        copyRow(from, UnsafeMutableRawPointer(to).assumingMemoryBound(to: Float.self), count: w.inW)
                    } else {
                        for x in 0..<w.inW { to[x] = Taps.Scalar(from[x]) }
                    }
                    continue
                }
                // column x goes to quarter (x + padLeft) % 2 at (x + padLeft) / 2
                let row = scratch + (py & 1) * 2 * quarter + (py >> 1) * qw
                let l = w.padLeft
                let a = row + (l & 1) * quarter + (l >> 1), b = row + ((l + 1) & 1) * quarter + ((l + 1) >> 1)
                let pairs = w.inW / 2
                if Taps.Scalar.self == Float.self, pairs >= 4 {
                    splitPairs(from, pairs: pairs, even: UnsafeMutableRawPointer(a).assumingMemoryBound(to: Float.self),
                               odd: UnsafeMutableRawPointer(b).assumingMemoryBound(to: Float.self))
                } else {
                    for j in 0..<pairs {
                        a[j] = Taps.Scalar(from[2 * j])
                        b[j] = Taps.Scalar(from[2 * j + 1])
                    }
                }
                if w.inW & 1 == 1 { a[pairs] = Taps.Scalar(from[w.inW - 1]) }
            }
            lastChannel = ic
        }
        let taps = Taps(base: scratch, offsets: offsets, kernel: weights + oc * 9, bias: bias[oc], clamp,
                        scale: scales.map { $0[oc] }, mode)
        let out = dst + oc * outHW
        if rowwise {
            for oy in 0..<w.outH { taps.run(from: oy * qw, count: w.outW, into: out + oy * w.outW) }
        } else {
            taps.run(from: 0, count: (w.outH - 1) * qw + w.outW, into: wide)
            for oy in 0..<w.outH { copyRow(wide + oy * qw, out + oy * w.outW, count: w.outW) }
        }
    }
}

/// `even[j] = from[2j]`, `odd[j] = from[2j + 1]` for `j < pairs` (4 or more): a stride-2 row split into its two
/// quarters, 8 pairs per step and the last 8 (or 4) once more overlapping, so rows of 7 to 28 pairs (MobileNet's 14-
/// to 56-wide stride-2 inputs) do not end in the scalar loop the compiler's vectorized one left them.
@inlinable @inline(__always)
func splitPairs(_ from: UnsafePointer<Float>, pairs: Int, even: UnsafeMutablePointer<Float>, odd: UnsafeMutablePointer<Float>) {
    @inline(__always) func split<V: SIMD, H: SIMD>(_: V.Type, _: H.Type, at j: Int, _ halves: (V) -> (H, H))
        where V.Scalar == Float, H.Scalar == Float {
        let (e, o) = halves(UnsafeRawPointer(from + 2 * j).loadUnaligned(as: V.self))
        UnsafeMutableRawPointer(even + j).storeBytes(of: e, as: H.self)
        UnsafeMutableRawPointer(odd + j).storeBytes(of: o, as: H.self)
    }
    if pairs >= 8 {
        var j = 0
        while j + 8 <= pairs {
            split(SIMD16<Float>.self, SIMD8<Float>.self, at: j) { ($0.evenHalf, $0.oddHalf) }
            j += 8
        }
        if j < pairs { split(SIMD16<Float>.self, SIMD8<Float>.self, at: pairs - 8) { ($0.evenHalf, $0.oddHalf) } }
    } else {
        split(SIMD8<Float>.self, SIMD4<Float>.self, at: 0) { ($0.evenHalf, $0.oddHalf) }
        split(SIMD8<Float>.self, SIMD4<Float>.self, at: pairs - 4) { ($0.evenHalf, $0.oddHalf) }
    }
}

/// A short row copied inline: the rows of a late MobileNet layer are 7 to 14 floats, and a `memmove` call per
/// row cost more than the taps. The last vector overlaps the one before (a 7-float row is two 4-float moves, a
/// 14-float one two 8-float moves), so no row ends in a scalar loop.
@inlinable @inline(__always)
func copyRow(_ from: UnsafePointer<Float>, _ to: UnsafeMutablePointer<Float>, count: Int) {
    @inline(__always) func move<V: SIMD>(_: V.Type, at x: Int) where V.Scalar == Float {
        UnsafeMutableRawPointer(to + x).storeBytes(of: UnsafeRawPointer(from + x).loadUnaligned(as: V.self), as: V.self)
    }
    if count >= 8 {
        var x = 0
        while x + 8 <= count { move(SIMD8<Float>.self, at: x); x += 8 }
        if x < count { move(SIMD8<Float>.self, at: count - 8) }
    } else if count >= 4 {
        move(SIMD4<Float>.self, at: 0)
        move(SIMD4<Float>.self, at: count - 4)
    } else {
        for x in 0..<count { to[x] = from[x] }
    }
}

/// The nine taps of one 3×3 depthwise channel, over a padded plane of `Scalar`: tap `t = 3·ky + kx` reads
/// `base + offsets[t] + j` for output `j` of the row or rows `run` makes.
public protocol DepthwiseTaps {
    associatedtype Scalar: BinaryFloatingPoint
    init(base: UnsafeMutablePointer<Scalar>, offsets o: [Int], kernel k: UnsafePointer<Scalar>, bias: Scalar, _ clamp: Clamp,
         scale: Scalar?, _ mode: RoundingMode)
    func run(from start: Int, count: Int, into out: UnsafeMutablePointer<Float>)
}

/// The taps of one 3×3 channel (`offsets` as `DepthwiseTaps` gets them) as six row pointers: row `ky`'s taps read
/// `r_ky + j`, `s_ky + j` and `r_ky + third + j` (two columns on in the padded plane, one in a stride-2 quarter), so
/// a loop keeps them in registers (nine tap pointers spilled to the stack). Every taps type, portable and AVX-512,
/// reads its plane through these.
public struct TapRows<Scalar> {
    public let r0, s0, r1, s1, r2, s2: UnsafePointer<Scalar>
    public let third: Int

    @inlinable
    public init(base: UnsafeMutablePointer<Scalar>, offsets o: [Int]) {
        let b = UnsafePointer(base)
        (r0, s0, r1, s1, r2, s2) = (b + o[0], b + o[1], b + o[3], b + o[4], b + o[6], b + o[7])
        third = o[2] - o[0]
    }
}

/// A channel's tap rows and nine weights; `sum` is one position in tap order (the scalar tail of both vector loops,
/// which sum in the same order).
private struct NineTaps<Scalar: FloatingPoint> {
    let rows: TapRows<Scalar>
    let k0, k1, k2, k3, k4, k5, k6, k7, k8: Scalar

    /// The weights times `scale` (1: as they are).
    init(base: UnsafeMutablePointer<Scalar>, offsets o: [Int], kernel k: UnsafePointer<Scalar>, scale s: Scalar = 1) {
        rows = TapRows(base: base, offsets: o)
        (k0, k1, k2, k3, k4, k5, k6, k7, k8) = (k[0] * s, k[1] * s, k[2] * s, k[3] * s, k[4] * s, k[5] * s, k[6] * s, k[7] * s, k[8] * s)
    }

    @inline(__always)
    func sum(at j: Int, from start: Scalar) -> Scalar {
        let (r0, s0, r1, s1, r2, s2, third) = (rows.r0, rows.s0, rows.r1, rows.s1, rows.r2, rows.s2, rows.third)
        var a = start
        a.addProduct(k0, r0[j]); a.addProduct(k1, s0[j]); a.addProduct(k2, r0[third + j])
        a.addProduct(k3, r1[j]); a.addProduct(k4, s1[j]); a.addProduct(k5, r1[third + j])
        a.addProduct(k6, r2[j]); a.addProduct(k7, s2[j]); a.addProduct(k8, r2[third + j])
        return a
    }
}

/// The nine taps of one 3×3 depthwise channel: `out[i] = clamp(bias + Σ k_t · p_t[i])`.
private struct Taps3x3: DepthwiseTaps {
    let t: NineTaps<Float>
    let bias: Float
    let clamp: Clamp
    /// Integer codes out: the sums times `scale`, rounded by `mode` before the clamp.
    let scale: Float?
    let mode: RoundingMode

    init(base: UnsafeMutablePointer<Float>, offsets o: [Int], kernel k: UnsafePointer<Float>, bias: Float, _ clamp: Clamp,
         scale: Float?, _ mode: RoundingMode) {
        t = NineTaps(base: base, offsets: o, kernel: k)
        self.bias = bias
        self.clamp = clamp
        self.scale = scale
        self.mode = mode
    }

    /// The scale and rounding are chosen once per run, outside the loop (a check of the optional scale inside it was
    /// re-read from the stack every 8 outputs).
    @inline(__always)
    func run(from start: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        guard let scale else { return runRows(from: start, count: count, into: out) { $0 } }
        let s = SIMD8<Float>(repeating: scale)
        if mode == .halfEven {
            runRows(from: start, count: count, into: out) { ($0 * s).rounded(.toNearestOrEven) }
        } else {
            runRows(from: start, count: count, into: out) { ($0 * s + 0.5).rounded(.down) }
        }
    }

    /// Whole vectors, then the last 8 outputs once more (an overlapping vector; the same sums, so the same values)
    /// where the row has 8 or more, else one at a time. The rows, weights and bounds are locals, so the loop keeps
    /// them in registers.
    @inline(__always)
    func runRows(from start: Int, count: Int, into out: UnsafeMutablePointer<Float>, _ codes: (SIMD8<Float>) -> SIMD8<Float>) {
        let lo = SIMD8<Float>(repeating: clamp.lo), hi = SIMD8<Float>(repeating: clamp.hi), vb = SIMD8<Float>(repeating: bias)
        let (v0, v1, v2) = (SIMD8<Float>(repeating: t.k0), SIMD8<Float>(repeating: t.k1), SIMD8<Float>(repeating: t.k2))
        let (v3, v4, v5) = (SIMD8<Float>(repeating: t.k3), SIMD8<Float>(repeating: t.k4), SIMD8<Float>(repeating: t.k5))
        let (v6, v7, v8) = (SIMD8<Float>(repeating: t.k6), SIMD8<Float>(repeating: t.k7), SIMD8<Float>(repeating: t.k8))
        let (r0, s0, r1, s1, r2, s2) = (t.rows.r0 + start, t.rows.s0 + start, t.rows.r1 + start, t.rows.s1 + start,
                                        t.rows.r2 + start, t.rows.s2 + start)
        let (q0, q1, q2) = (r0 + t.rows.third, r1 + t.rows.third, r2 + t.rows.third)
        @inline(__always) func vector(at i: Int) {
            // fused multiply-adds in tap order, as the scalar loop below, so results do not depend on the vector width
            var a = vb
            a.addProduct(v0, load8(r0 + i)); a.addProduct(v1, load8(s0 + i)); a.addProduct(v2, load8(q0 + i))
            a.addProduct(v3, load8(r1 + i)); a.addProduct(v4, load8(s1 + i)); a.addProduct(v5, load8(q1 + i))
            a.addProduct(v6, load8(r2 + i)); a.addProduct(v7, load8(s2 + i)); a.addProduct(v8, load8(q2 + i))
            a = codes(a)
            a.replace(with: lo, where: a .< lo)   // a blend; pointwiseMin/Max are slow out-of-line calls
            a.replace(with: hi, where: a .> hi)
            UnsafeMutableRawPointer(out + i).storeBytes(of: a, as: SIMD8<Float>.self)
        }
        var i = 0
        while i + 8 <= count {
            vector(at: i)
            i += 8
        }
        if i == count { return }
        if count >= 8 { return vector(at: count - 8) }
        while i < count {
            var a = t.sum(at: start + i, from: bias)
            if let scale { a = mode.round(a * scale) }
            out[i] = Swift.min(Swift.max(a, clamp.lo), clamp.hi)
            i += 1
        }
    }
}

/// The nine taps in doubles, for int16 codes (products up to 2^30, exact in doubles): `out[i] =
/// clamp(round((bias + Σ k_t · p_t[i])·scale))` as float codes. The saturation runs on floats: the conversion is
/// monotone and the bounds are exact floats (the mask operations of `SIMD8<Double>` leave vector registers).
private struct ExactTaps3x3: DepthwiseTaps {
    let t: NineTaps<Double>
    /// Times the layer's scale, as the weights (see `depthwiseConv2dExact`).
    let bias: Double
    let clamp: Clamp
    let mode: RoundingMode

    init(base: UnsafeMutablePointer<Double>, offsets o: [Int], kernel k: UnsafePointer<Double>, bias: Double, _ clamp: Clamp,
         scale: Double?, _ mode: RoundingMode) {
        t = NineTaps(base: base, offsets: o, kernel: k, scale: scale ?? 1)
        self.bias = bias * (scale ?? 1)
        self.clamp = clamp
        self.mode = mode
    }

    @inline(__always)
    func run(from start: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        typealias D = SIMD8<Double>
        @inline(__always) func load(_ p: UnsafePointer<Double>) -> D { UnsafeRawPointer(p).loadUnaligned(as: D.self) }
        let lo = SIMD8<Float>(repeating: clamp.lo), hi = SIMD8<Float>(repeating: clamp.hi), vb = D(repeating: bias)
        let (v0, v1, v2) = (D(repeating: t.k0), D(repeating: t.k1), D(repeating: t.k2))
        let (v3, v4, v5) = (D(repeating: t.k3), D(repeating: t.k4), D(repeating: t.k5))
        let (v6, v7, v8) = (D(repeating: t.k6), D(repeating: t.k7), D(repeating: t.k8))
        var i = 0
        while i + 8 <= count {
            let j = start + i
            var a = vb
            let k = t.rows.third + j
            a.addProduct(v0, load(t.rows.r0 + j)); a.addProduct(v1, load(t.rows.s0 + j)); a.addProduct(v2, load(t.rows.r0 + k))
            a.addProduct(v3, load(t.rows.r1 + j)); a.addProduct(v4, load(t.rows.s1 + j)); a.addProduct(v5, load(t.rows.r1 + k))
            a.addProduct(v6, load(t.rows.r2 + j)); a.addProduct(v7, load(t.rows.s2 + j)); a.addProduct(v8, load(t.rows.r2 + k))
            UnsafeMutableRawPointer(out + i).storeBytes(of: roundedCodes(a, mode, lo: lo, hi: hi), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            let j = start + i
            let a = t.sum(at: j, from: bias)
            out[i] = roundedCode(a, mode, lo: clamp.lo, hi: clamp.hi)
            i += 1
        }
    }
}

/// Whether the 3×3 depthwise kernels (`depthwise3x3`: float, exact, AVX-512) take this window: 3×3, stride 1 or 2
/// both ways, no dilation.
public func depthwise3x3Applies(_ w: Window2D) -> Bool {
    w.kH == 3 && w.kW == 3 && w.dilationH == 1 && w.dilationW == 1 && w.strideW == w.strideH && (w.strideH == 1 || w.strideH == 2)
}

/// An int16 depthwise layer's codes, exactly: sums in doubles, `clamp(round((bias + Σ)·scale))` the chip's way, for
/// the windows `depthwise3x3Applies` takes; `scratch` holds `depthwiseScratchCount(w)` doubles.
///
/// The taps sum `bias·scale + Σ (k_t·scale)·p_t`, which saves a multiply per vector and is the same double: the
/// scale is a power of two, so every product and partial sum is an integer below 2^53 times it, held exactly.
public func depthwiseConv2dExact(_ src: UnsafePointer<Float>, inChannels: Int, multiplier: Int, _ w: Window2D,
                                 weights: UnsafePointer<Double>, bias: UnsafePointer<Double>, scales: UnsafePointer<Double>,
                                 _ mode: RoundingMode, _ clamp: Clamp, scratch: UnsafeMutablePointer<Double>,
                                 _ dst: UnsafeMutablePointer<Float>) {
    depthwise3x3(ExactTaps3x3.self, src, inChannels: inChannels, multiplier: multiplier, w, weights: weights, bias: bias, clamp,
                 scales: scales, mode, scratch: scratch, dst)
}

@inline(__always) private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Width and height of the zero-padded plane `depthwiseConv2d` works on (large enough for every window).
public func depthwisePaddedSize(_ w: Window2D) -> (width: Int, height: Int) {
    let needW = (w.outW - 1) * w.strideW + (w.kW - 1) * w.dilationW + 1
    let needH = (w.outH - 1) * w.strideH + (w.kH - 1) * w.dilationH + 1
    return (max(w.inW + w.padLeft, needW), max(w.inH + w.padTop, needH))
}

/// Depthwise convolution with double accumulators (exact for 16-bit codes, whose products reach 2^30):
/// `src` codes held as floats, `scratch` as in `depthwiseConv2d` but of doubles, no bias or clamp.
public func depthwiseConv2dDouble(_ src: UnsafePointer<Float>, inChannels: Int, multiplier: Int, _ w: Window2D,
                                  weights: UnsafePointer<Double>, scratch: UnsafeMutablePointer<Double>,
                                  _ dst: UnsafeMutablePointer<Double>) {
    let (pw, ph) = depthwisePaddedSize(w)
    let outHW = w.outH * w.outW
    scratch.update(repeating: 0, count: pw * ph)
    for ic in 0..<inChannels {
        let plane = src + ic * w.inH * w.inW
        for y in 0..<w.inH {
            let row = scratch + (y + w.padTop) * pw + w.padLeft, from = plane + y * w.inW
            for x in 0..<w.inW { row[x] = Double(from[x]) }
        }
        for m in 0..<multiplier {
            let oc = ic * multiplier + m
            let out = dst + oc * outHW
            let k = weights + oc * w.kH * w.kW
            for oy in 0..<w.outH {
                let o = out + oy * w.outW
                o.update(repeating: 0, count: w.outW)
                addTaps(into: o, row: oy, UnsafePointer(scratch), pitch: pw, kernel: k, w)
            }
        }
    }
}

/// One output row of a depthwise channel of any kernel size: `o[ox] += Σ k[ky, kx] · plane[oy·s + ky·d, ox·s + kx·d]`
/// on the zero-padded plane (float for the float executor, double for exact 16-bit sums).
@inline(__always)
private func addTaps<T: BinaryFloatingPoint>(into o: UnsafeMutablePointer<T>, row oy: Int, _ plane: UnsafePointer<T>, pitch: Int,
                                             kernel k: UnsafePointer<T>, _ w: Window2D) {
    for ky in 0..<w.kH {
        let r = plane + (oy * w.strideH + ky * w.dilationH) * pitch
        for kx in 0..<w.kW {
            let wt = k[ky * w.kW + kx]
            let rr = r + kx * w.dilationW
            for ox in 0..<w.outW { o[ox] += wt * rr[ox * w.strideW] }
        }
    }
}
