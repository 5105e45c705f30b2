#if arch(x86_64)
import _Builtin_intrinsics.intel
import Kernels

/// The float depthwise 3×3 kernel (stride 1 or 2) with AVX-512 taps: the portable kernel's padded (or quartered)
/// plane layout, 16 outputs per vector instead of 8, and six row pointers instead of nine tap pointers, so the loop
/// keeps everything in registers (the portable loop reloads its pointers from the stack). The same sums in the same
/// order (bias, then the taps' fused multiply-adds in row-major tap order), so the same floats; `codes` as there.
/// For the windows `depthwise3x3Applies` takes; `scratch` holds `depthwiseScratchCount(w)` floats.
public func depthwise3x3AVX512(_ src: UnsafePointer<Float>, inChannels: Int, multiplier: Int, _ w: Window2D,
                               weights: UnsafePointer<Float>, bias: UnsafePointer<Float>, _ clamp: Clamp,
                               codes: CodeRounding?, scratch: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
    depthwise3x3(Taps16.self, src, inChannels: inChannels, multiplier: multiplier, w, weights: weights, bias: bias, clamp,
                 scales: codes?.scales, codes?.mode ?? .halfEven, scratch: scratch, dst)
}

/// One channel's taps (`TapRows`), 16 outputs at a time.
private struct Taps16: DepthwiseTaps {
    let rows: TapRows<Float>
    let k0, k1, k2, k3, k4, k5, k6, k7, k8: __m512
    let bias, lo, hi: __m512
    let scale: Float?
    let mode: RoundingMode

    init(base: UnsafeMutablePointer<Float>, offsets o: [Int], kernel k: UnsafePointer<Float>, bias: Float, _ clamp: Clamp,
         scale: Float?, _ mode: RoundingMode) {
        rows = TapRows(base: base, offsets: o)
        (k0, k1, k2) = (_mm512_set1_ps(k[0]), _mm512_set1_ps(k[1]), _mm512_set1_ps(k[2]))
        (k3, k4, k5) = (_mm512_set1_ps(k[3]), _mm512_set1_ps(k[4]), _mm512_set1_ps(k[5]))
        (k6, k7, k8) = (_mm512_set1_ps(k[6]), _mm512_set1_ps(k[7]), _mm512_set1_ps(k[8]))
        self.bias = _mm512_set1_ps(bias)
        lo = _mm512_set1_ps(clamp.lo)
        hi = _mm512_set1_ps(clamp.hi)
        self.scale = scale
        self.mode = mode
    }

    @inline(__always)
    func run(from start: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        if let scale {
            let s = _mm512_set1_ps(scale)
            if mode == .halfEven {
                runRows(from: start, count: count, into: out) { _mm512_mul_ps($0, s).rounded(.toNearestOrEven) }
            } else {
                let half = _mm512_set1_ps(0.5)
                runRows(from: start, count: count, into: out) { _mm512_add_ps(_mm512_mul_ps($0, s), half).rounded(.down) }
            }
        } else {
            runRows(from: start, count: count, into: out) { $0 }
        }
    }

    /// Whole vectors with plain loads, then the last one loading and storing only its lanes (nothing past the
    /// plane is read); `codes` maps the sums before the clamp.
    @inline(__always)
    func runRows(from start: Int, count: Int, into out: UnsafeMutablePointer<Float>, _ codes: (__m512) -> __m512) {
        var i = 0
        while i + 16 <= count {
            let a = codes(sums(start + i) { _mm512_loadu_ps(UnsafeRawPointer($0)) })
            _mm512_storeu_ps(UnsafeMutableRawPointer(out + i), clamped(a))
            i += 16
        }
        if i < count {
            let mask = __mmask16(truncatingIfNeeded: (UInt32(1) << UInt32(count - i)) - 1)
            let a = codes(sums(start + i) { _mm512_maskz_loadu_ps(mask, UnsafeRawPointer($0)) })
            _mm512_mask_storeu_ps(UnsafeMutableRawPointer(out + i), mask, clamped(a))
        }
    }

    /// bias + the nine taps at `j`, fused multiply-adds in tap order.
    @inline(__always)
    func sums(_ j: Int, _ load: (UnsafePointer<Float>) -> __m512) -> __m512 {
        let (r0, s0, r1, s1, r2, s2, third) = (rows.r0, rows.s0, rows.r1, rows.s1, rows.r2, rows.s2, rows.third)
        var a = bias
        a = _mm512_fmadd_ps(k0, load(r0 + j), a); a = _mm512_fmadd_ps(k1, load(s0 + j), a); a = _mm512_fmadd_ps(k2, load(r0 + third + j), a)
        a = _mm512_fmadd_ps(k3, load(r1 + j), a); a = _mm512_fmadd_ps(k4, load(s1 + j), a); a = _mm512_fmadd_ps(k5, load(r1 + third + j), a)
        a = _mm512_fmadd_ps(k6, load(r2 + j), a); a = _mm512_fmadd_ps(k7, load(s2 + j), a); a = _mm512_fmadd_ps(k8, load(r2 + third + j), a)
        return a
    }

    /// max(lo, a) and min(hi, a) return a NaN `a`, as the portable kernel's blends do.
    @inline(__always)
    func clamped(_ a: __m512) -> __m512 { _mm512_min_ps(hi, _mm512_max_ps(lo, a)) }
}

/// `depthwiseConv2dExact` (int16 codes, sums in doubles) with AVX-512 taps: 8 doubles per vector, six row pointers,
/// the same sums in the same order (bias, then the taps' fused multiply-adds in row-major tap order), so the same
/// codes bit for bit. `scratch` holds `depthwiseScratchCount(w)` doubles.
public func depthwiseConv2dExactAVX512(_ src: UnsafePointer<Float>, inChannels: Int, multiplier: Int, _ w: Window2D,
                                       weights: UnsafePointer<Double>, bias: UnsafePointer<Double>, scales: UnsafePointer<Double>,
                                       _ mode: RoundingMode, _ clamp: Clamp, scratch: UnsafeMutablePointer<Double>,
                                       _ dst: UnsafeMutablePointer<Float>) {
    depthwise3x3(ExactTaps8.self, src, inChannels: inChannels, multiplier: multiplier, w, weights: weights, bias: bias, clamp,
                 scales: scales, mode, scratch: scratch, dst)
}

/// One channel's exact taps, 8 outputs at a time: `clamp(round(bias·scale + Σ (k_t·scale) · p_t))` as float codes, the
/// rows as `Taps16`'s. The saturation runs on floats, as the portable kernel's (monotone conversion, exact bounds).
private struct ExactTaps8: DepthwiseTaps {
    let rows: TapRows<Double>
    let k0, k1, k2, k3, k4, k5, k6, k7, k8: __m512d
    let bias: __m512d
    let lo, hi: SIMD8<Float>
    let mode: RoundingMode

    /// The weights and bias times the scale, as `depthwiseConv2dExact`'s taps (the same doubles).
    init(base: UnsafeMutablePointer<Double>, offsets o: [Int], kernel k: UnsafePointer<Double>, bias: Double, _ clamp: Clamp,
         scale: Double?, _ mode: RoundingMode) {
        rows = TapRows(base: base, offsets: o)
        let s = scale ?? 1
        (k0, k1, k2) = (_mm512_set1_pd(k[0] * s), _mm512_set1_pd(k[1] * s), _mm512_set1_pd(k[2] * s))
        (k3, k4, k5) = (_mm512_set1_pd(k[3] * s), _mm512_set1_pd(k[4] * s), _mm512_set1_pd(k[5] * s))
        (k6, k7, k8) = (_mm512_set1_pd(k[6] * s), _mm512_set1_pd(k[7] * s), _mm512_set1_pd(k[8] * s))
        self.bias = _mm512_set1_pd(bias * s)
        lo = SIMD8(repeating: clamp.lo)
        hi = SIMD8(repeating: clamp.hi)
        self.mode = mode
    }

    /// Whole vectors with plain loads, then the last one loading and storing only its lanes.
    @inline(__always)
    func run(from start: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 8 <= count {
            _mm256_storeu_ps(out + i, codes(sums(start + i) { _mm512_loadu_pd(UnsafeRawPointer($0)) }))
            i += 8
        }
        if i < count {
            let mask = __mmask8(truncatingIfNeeded: (UInt32(1) << UInt32(count - i)) - 1)
            _mm256_mask_storeu_ps(out + i, mask, codes(sums(start + i) { _mm512_maskz_loadu_pd(mask, UnsafeRawPointer($0)) }))
        }
    }

    /// bias + the nine taps at `j`, fused multiply-adds in tap order.
    @inline(__always)
    func sums(_ j: Int, _ load: (UnsafePointer<Double>) -> __m512d) -> __m512d {
        let (r0, s0, r1, s1, r2, s2, third) = (rows.r0, rows.s0, rows.r1, rows.s1, rows.r2, rows.s2, rows.third)
        var a = bias
        a = _mm512_fmadd_pd(k0, load(r0 + j), a); a = _mm512_fmadd_pd(k1, load(s0 + j), a); a = _mm512_fmadd_pd(k2, load(r0 + third + j), a)
        a = _mm512_fmadd_pd(k3, load(r1 + j), a); a = _mm512_fmadd_pd(k4, load(s1 + j), a); a = _mm512_fmadd_pd(k5, load(r1 + third + j), a)
        a = _mm512_fmadd_pd(k6, load(r2 + j), a); a = _mm512_fmadd_pd(k7, load(s2 + j), a); a = _mm512_fmadd_pd(k8, load(r2 + third + j), a)
        return a
    }

    /// The (already scaled) sums rounded the chip's way, as saturated float codes (`roundedCodes`, the portable
    /// kernel's epilogue).
    @inline(__always)
    func codes(_ a: __m512d) -> __m256 {
        roundedCodes(a, mode, lo: lo, hi: hi)
    }
}

#endif
