#if arch(x86_64)
import _Builtin_intrinsics.intel
import Kernels

/// The tile shapes of `int16GemmVNNI`: 8-row panels (4 rows' `wh`, then their `wl`) of int16 pairs, 48 and 16 columns.
public let int16VNNIShape = IntegerTileShape(rows: 8, wide: 48, narrow: 16, lanes: .pairs)

/// ESP-DL's int16 Conv/Gemm, exactly, with `vpdpwssd` (32 products per instruction); see `int16Gemm`.
public func int16GemmVNNI(m: Int, n: Int, k: Int, packedA: UnsafePointer<Int32>, b: UnsafePointer<Float>, ldb: Int,
                          c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Double>, scales: UnsafePointer<Double>,
                          _ mode: RoundingMode, lo: Double, hi: Double, scratch: UnsafeMutableRawPointer, sink: PanelSink? = nil) {
    int16Gemm(m: m, n: n, k: k, shape: int16VNNIShape, wide: sumTile8x48, narrow: sumTile8x16,
              codes: (codesTile8x48, codesTile8x16), packedA: packedA, b: b, ldb: ldb,
              c: c, ldc: ldc, bias: bias, scales: scales, mode, lo: lo, hi: hi, scratch: scratch, sink: sink,
              pack: packIntegerColumnsAVX512)
}

/// `acc + b.lo16·w.lo16 + b.hi16·w.hi16` in each int32 lane.
@inline(__always) private func pairDot(_ acc: __m512i, _ b: __m512i, _ w: __m512i) -> __m512i { _mm512_dpwssd_epi32(acc, b, w) }
@inline(__always) private func store(_ p: UnsafeMutablePointer<Int32>, _ v: __m512i) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: __m512i.self)
}

/// The 24 accumulators of an 8 × 48 tile: row `r`'s three column vectors at `3r…3r+2`.
typealias Sums8x48 = (__m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i,
                      __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i)

/// 8 rows × 48 columns of raw int32 sums in registers; 3 loads, 8 broadcasts and 24 `vpdpwssd` per word.
@inline(__always)
private func sums8x48(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int) -> Sums8x48 {
    let z = _mm512_setzero_si512()
    var c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z
    var c40 = z, c41 = z, c42 = z, c50 = z, c51 = z, c52 = z, c60 = z, c61 = z, c62 = z, c70 = z, c71 = z, c72 = z
    var ap = a, bp = b
    for _ in 0..<words {
        let b0 = load(bp), b1 = load(bp + 16), b2 = load(bp + 32)
        var w = splat(ap[0]); c00 = pairDot(c00, b0, w); c01 = pairDot(c01, b1, w); c02 = pairDot(c02, b2, w)
        w = splat(ap[1]); c10 = pairDot(c10, b0, w); c11 = pairDot(c11, b1, w); c12 = pairDot(c12, b2, w)
        w = splat(ap[2]); c20 = pairDot(c20, b0, w); c21 = pairDot(c21, b1, w); c22 = pairDot(c22, b2, w)
        w = splat(ap[3]); c30 = pairDot(c30, b0, w); c31 = pairDot(c31, b1, w); c32 = pairDot(c32, b2, w)
        w = splat(ap[4]); c40 = pairDot(c40, b0, w); c41 = pairDot(c41, b1, w); c42 = pairDot(c42, b2, w)
        w = splat(ap[5]); c50 = pairDot(c50, b0, w); c51 = pairDot(c51, b1, w); c52 = pairDot(c52, b2, w)
        w = splat(ap[6]); c60 = pairDot(c60, b0, w); c61 = pairDot(c61, b1, w); c62 = pairDot(c62, b2, w)
        w = splat(ap[7]); c70 = pairDot(c70, b0, w); c71 = pairDot(c71, b1, w); c72 = pairDot(c72, b2, w)
        ap += 8; bp += ldb
    }
    return (c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32, c40, c41, c42, c50, c51, c52, c60, c61, c62, c70, c71, c72)
}

/// 8 rows × 48 columns of raw int32 sums, stored.
@inline(never)
private func sumTile8x48(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int) {
    let s = sums8x48(words: words, a: a, b: b, ldb: ldb)
    var o = c
    store(o, s.0); store(o + 16, s.1); store(o + 32, s.2); o += ldc
    store(o, s.3); store(o + 16, s.4); store(o + 32, s.5); o += ldc
    store(o, s.6); store(o + 16, s.7); store(o + 32, s.8); o += ldc
    store(o, s.9); store(o + 16, s.10); store(o + 32, s.11); o += ldc
    store(o, s.12); store(o + 16, s.13); store(o + 32, s.14); o += ldc
    store(o, s.15); store(o + 16, s.16); store(o + 32, s.17); o += ldc
    store(o, s.18); store(o + 16, s.19); store(o + 32, s.20); o += ldc
    store(o, s.21); store(o + 16, s.22); store(o + 32, s.23)
}

/// One chunk's 8 × 48 sums (rows 0–3 `Σx·wh`, rows 4–7 `Σx·wl` of the same real rows) finished in registers into
/// `rows` × `cols` codes (see `Int16CodesTile`).
@inline(never)
private func codesTile8x48(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Float>,
                           ldc: Int, rows: Int, cols: Int, bias: UnsafePointer<Double>, scales: UnsafePointer<Double>,
                           _ mode: RoundingMode, lo: Float, hi: Float) {
    let s = sums8x48(words: words, a: a, b: b, ldb: ldb)
    let finish = Int16Finish(mode, lo: lo, hi: hi)
    withInt16CodesTile(c, ldc: ldc, rows: rows, cols: cols, span: 48) { out, ld in
        finish.row(s.0, s.1, s.2, low: s.12, s.13, s.14, bias: bias[0], scale: scales[0], out)
        if rows > 1 { finish.row(s.3, s.4, s.5, low: s.15, s.16, s.17, bias: bias[1], scale: scales[1], out + ld) }
        if rows > 2 { finish.row(s.6, s.7, s.8, low: s.18, s.19, s.20, bias: bias[2], scale: scales[2], out + 2 * ld) }
        if rows > 3 { finish.row(s.9, s.10, s.11, low: s.21, s.22, s.23, bias: bias[3], scale: scales[3], out + 3 * ld) }
    }
}

/// 8 rows × 16 columns of raw int32 sums in registers.
@inline(__always)
private func sums8x16(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int)
    -> (__m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i, __m512i) {
    let z = _mm512_setzero_si512()
    var c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z
    var ap = a, bp = b
    for _ in 0..<words {
        let b0 = load(bp)
        c0 = pairDot(c0, b0, splat(ap[0])); c1 = pairDot(c1, b0, splat(ap[1])); c2 = pairDot(c2, b0, splat(ap[2]))
        c3 = pairDot(c3, b0, splat(ap[3])); c4 = pairDot(c4, b0, splat(ap[4])); c5 = pairDot(c5, b0, splat(ap[5]))
        c6 = pairDot(c6, b0, splat(ap[6])); c7 = pairDot(c7, b0, splat(ap[7]))
        ap += 8; bp += ldb
    }
    return (c0, c1, c2, c3, c4, c5, c6, c7)
}

/// 8 rows × 16 columns of one chunk's sums finished into codes, as `codesTile8x48`.
@inline(never)
private func codesTile8x16(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Float>,
                           ldc: Int, rows: Int, cols: Int, bias: UnsafePointer<Double>, scales: UnsafePointer<Double>,
                           _ mode: RoundingMode, lo: Float, hi: Float) {
    let (c0, c1, c2, c3, c4, c5, c6, c7) = sums8x16(words: words, a: a, b: b, ldb: ldb)
    let finish = Int16Finish(mode, lo: lo, hi: hi)
    withInt16CodesTile(c, ldc: ldc, rows: rows, cols: cols, span: 16) { out, ld in
        finish.vector(c0, low: c4, bias: bias[0], scale: scales[0], out)
        if rows > 1 { finish.vector(c1, low: c5, bias: bias[1], scale: scales[1], out + ld) }
        if rows > 2 { finish.vector(c2, low: c6, bias: bias[2], scale: scales[2], out + 2 * ld) }
        if rows > 3 { finish.vector(c3, low: c7, bias: bias[3], scale: scales[3], out + 3 * ld) }
    }
}

/// `clamp(round((256·high + low + bias)·scale))` as float codes, the epilogue of `int16Gemm` (whose `gather` and
/// `finish` compute it through memory), in fewer instructions than `roundedCodes` (about a third of the tile's time
/// on MobileNetV2's short reductions):
///
/// - `fma(high, 256·scale, fma(low, scale, bias·scale))` is `(256·high + low + bias)·scale` exactly: the scale is a
///   power of two and every partial result an integer below 2^53 times it.
/// - The clamp to the integer bounds comes before the rounding (the same code, as both are monotone and the bounds
///   are integers), so `cvtpd2dq` (round half to even, the default MXCSR mode) never sees a value past int32, and the
///   sixteen int32 codes go to floats in one conversion.
private struct Int16Finish {
    let halfUp: Bool
    let lo, hi: __m512d

    init(_ mode: RoundingMode, lo: Float, hi: Float) {
        halfUp = mode == .halfUp
        self.lo = _mm512_set1_pd(Double(lo))
        self.hi = _mm512_set1_pd(Double(hi))
    }

    @inline(__always)
    func row(_ h0: __m512i, _ h1: __m512i, _ h2: __m512i, low l0: __m512i, _ l1: __m512i, _ l2: __m512i, bias: Double, scale: Double,
             _ out: UnsafeMutablePointer<Float>) {
        vector(h0, low: l0, bias: bias, scale: scale, out)
        vector(h1, low: l1, bias: bias, scale: scale, out + 16)
        vector(h2, low: l2, bias: bias, scale: scale, out + 32)
    }

    /// 16 columns: each half of the int32 lanes as 8 doubles.
    @inline(__always)
    func vector(_ h: __m512i, low l: __m512i, bias: Double, scale: Double, _ out: UnsafeMutablePointer<Float>) {
        let hs = _mm512_set1_pd(256 * scale), s = _mm512_set1_pd(scale), bs = _mm512_set1_pd(bias * scale)
        let (hLow, hHigh) = doubles(h), (lLow, lHigh) = doubles(l)
        let low = codes(_mm512_fmadd_pd(hLow, hs, _mm512_fmadd_pd(lLow, s, bs)))
        let high = codes(_mm512_fmadd_pd(hHigh, hs, _mm512_fmadd_pd(lHigh, s, bs)))
        let both = SIMD16<Int32>(lowHalf: unsafeBitCast(low, to: SIMD8<Int32>.self), highHalf: unsafeBitCast(high, to: SIMD8<Int32>.self))
        _mm512_storeu_ps(out, _mm512_cvtepi32_ps(unsafeBitCast(both, to: __m512i.self)))
    }

    /// The low and high 8 int32 lanes as doubles (exact).
    @inline(__always)
    func doubles(_ v: __m512i) -> (__m512d, __m512d) {
        let lanes = unsafeBitCast(v, to: SIMD16<Int32>.self)
        return (_mm512_cvtepi32_pd(unsafeBitCast(lanes.lowHalf, to: __m256i.self)),
                _mm512_cvtepi32_pd(unsafeBitCast(lanes.highHalf, to: __m256i.self)))
    }

    /// Eight scaled sums clamped, then rounded the chip's way, as int32 codes.
    @inline(__always)
    func codes(_ v: __m512d) -> __m256i {
        let clamped = _mm512_min_pd(hi, _mm512_max_pd(lo, v))
        guard halfUp else { return _mm512_cvtpd_epi32(clamped) }
        // x + 0.5 is exact within the bounds; the floor is then an integer, which the conversion keeps
        return _mm512_cvtpd_epi32((clamped + 0.5).rounded(.down))   // __m512d is SIMD8<Double>
    }
}

/// 8 rows × 16 columns of raw int32 sums.
@inline(never)
private func sumTile8x16(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int) {
    let (c0, c1, c2, c3, c4, c5, c6, c7) = sums8x16(words: words, a: a, b: b, ldb: ldb)
    store(c, c0); store(c + ldc, c1); store(c + 2 * ldc, c2); store(c + 3 * ldc, c3)
    store(c + 4 * ldc, c4); store(c + 5 * ldc, c5); store(c + 6 * ldc, c6); store(c + 7 * ldc, c7)
}
#endif
