#if arch(x86_64)
import _Builtin_intrinsics.intel
import Kernels

/// ESP-DL's int16 3×3 depthwise Conv (stride 1 or 2, multiplier 1; int8 codes too) in int32 with `vpdpwssd`, for
/// each channel whose sums provably fit (`pairSumsFit`, with `max|x|` read off the channel's plane as it is
/// converted). Then every tap sum is exact in int32 and `shiftRoundLanes` is ESP-DL's rounding, so the codes are the
/// double taps' (`depthwiseConv2dExact`), in fewer instructions: 32 products per instruction against 8 per double
/// FMA. A channel outside the bound (an input reaching the int16 extremes against large weights) is left to
/// `fallback(channel)`, which the caller runs on the double taps; on MobileNetV2's photos that is about 1 % of the
/// work.
///
/// - Layout: each channel's plane as int16, zero-padded, rows `pitch` apart (`PairPlaneLayout`); a 32-bit load at
///   column `c` holds the pair `(x[c], x[c+1])`, which `vpdpwssd` multiplies by the tap pair `(w0, w1)`, and the
///   pair at `c + 2` by `(w2, 0)`.
/// - Stride 2: output `o` reads columns `2o…2o+2`, exactly the pairs at `2o` and `2o + 2`, so 16 outputs per vector.
/// - Stride 1: the pairs at even columns give the even outputs and those at odd columns the odd ones; a permute
///   interleaves the two vectors into 32 outputs.
///
/// The loop over channels and rows, the plane and the arguments are `pairDepthwise3x3`'s.
public func depthwise3x3Int16VNNI(_ src: UnsafePointer<Float>, channels: Int, _ w: Window2D, weights: UnsafePointer<Int32>,
                                  absSums: UnsafePointer<Int64>, bias: UnsafePointer<Int64>, shifts: UnsafePointer<Int32>,
                                  _ mode: RoundingMode, lo: Float, hi: Float, scratch: UnsafeMutablePointer<Int16>,
                                  _ dst: UnsafeMutablePointer<Float>, fallback: (_ channel: Int) -> Void) {
    pairDepthwise3x3(PairTaps.self, src, channels: channels, w, weights: weights, absSums: absSums, bias: bias, shifts: shifts,
                     mode, lo: lo, hi: hi, scratch: scratch, dst, fallback: fallback)
}

/// One channel's taps as `vpdpwssd` pairs, and its requantization.
private struct PairTaps: PairDepthwiseTaps {
    /// Per kernel row: `(w0, w1)` and `(w2, 0)` as int16 pairs in every lane.
    let p0, q0, p1, q1, p2, q2: __m512i
    let bias: __m512i
    /// The shift count and the rounding addends (`PairTapWords`).
    let count: __m128i
    let half, halfLess1, one: __m512i
    let halfEven: Bool
    let lo, hi: __m512

    init(_ t: PairTapWords, lo: Float, hi: Float) {
        let splat = _mm512_set1_epi32
        (p0, q0, p1, q1, p2, q2) = (splat(t.p0), splat(t.q0), splat(t.p1), splat(t.q1), splat(t.p2), splat(t.q2))
        (bias, half, halfLess1, one) = (splat(t.bias), splat(t.half), splat(t.halfLess1), splat(1))
        count = _mm_cvtsi32_si128(t.shift)
        halfEven = t.halfEven
        (self.lo, self.hi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi))
    }

    /// Writes one channel's float codes into the plane's interior (the padding stays zero) and returns the largest `|x|`.
    @inline(__always)
    static func fill(_ plane: UnsafeMutablePointer<Int16>, pitch: Int, from src: UnsafePointer<Float>, _ w: Window2D) -> UInt32 {
        var largest = _mm512_setzero_si512()
        for y in 0..<w.inH {
            let from = src + y * w.inW, to = plane + (y + w.padTop) * pitch + w.padLeft
            var x = 0
            while x < w.inW {
                let mask = w.inW - x >= 16 ? __mmask16.max : __mmask16(truncatingIfNeeded: (1 << (w.inW - x)) - 1)
                let v = _mm512_cvtps_epi32(_mm512_maskz_loadu_ps(mask, from + x))
                largest = _mm512_max_epu32(largest, _mm512_abs_epi32(v))
                _mm256_mask_storeu_epi16(to + x, mask, _mm512_cvtepi32_epi16(v))
                x += 16
            }
        }
        return _mm512_reduce_max_epu32(largest)
    }

    @inline(__always)
    func row(_ row: UnsafePointer<Int16>, pitch: Int, stride: Int, count: Int, _ out: UnsafeMutablePointer<Float>) {
        stride == 1 ? rowStride1(row, pitch: pitch, count: count, out) : rowStride2(row, pitch: pitch, count: count, out)
    }

    /// bias + the nine taps of the 16 outputs whose pairs start at `p` (pairs at `p` and `p + 2` of three rows).
    @inline(__always)
    func sums(_ p: UnsafePointer<Int16>, pitch: Int) -> __m512i {
        var a = bias
        a = _mm512_dpwssd_epi32(a, pairs(p), p0); a = _mm512_dpwssd_epi32(a, pairs(p + 2), q0)
        a = _mm512_dpwssd_epi32(a, pairs(p + pitch), p1); a = _mm512_dpwssd_epi32(a, pairs(p + pitch + 2), q1)
        a = _mm512_dpwssd_epi32(a, pairs(p + 2 * pitch), p2); a = _mm512_dpwssd_epi32(a, pairs(p + 2 * pitch + 2), q2)
        return a
    }

    /// 16 outputs a vector: output `o` at pairs `2o` and `2o + 2`.
    @inline(__always)
    func rowStride2(_ row: UnsafePointer<Int16>, pitch: Int, count: Int, _ out: UnsafeMutablePointer<Float>) {
        var o = 0
        while o < count {
            store(sums(row + 2 * o, pitch: pitch), out + o, count: count - o)
            o += 16
        }
    }

    /// 32 outputs a step: the even ones from pairs at even columns, the odd ones from odd columns, interleaved.
    @inline(__always)
    func rowStride1(_ row: UnsafePointer<Int16>, pitch: Int, count: Int, _ out: UnsafeMutablePointer<Float>) {
        let first = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0)
        let second = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8)
        var o = 0
        while o < count {
            let even = codes(sums(row + o, pitch: pitch)), odd = codes(sums(row + o + 1, pitch: pitch))
            store(_mm512_permutex2var_ps(even, first, odd), out + o, count: count - o)
            if count - o > 16 { store(_mm512_permutex2var_ps(even, second, odd), out + o + 16, count: count - o - 16) }
            o += 32
        }
    }

    /// Sums to saturated float codes: ESP-DL's shift with rounding (`shiftRoundLanes`, with its constants made once per
    /// channel), then the clamp on floats (exact, monotone).
    @inline(__always)
    func codes(_ v: __m512i) -> __m512 {
        let add = halfEven ? _mm512_add_epi32(halfLess1, _mm512_and_si512(_mm512_sra_epi32(v, count), one)) : half
        let q = _mm512_sra_epi32(_mm512_add_epi32(v, add), count)
        return _mm512_min_ps(_mm512_max_ps(_mm512_cvtepi32_ps(q), lo), hi)
    }

    @inline(__always)
    func store(_ v: __m512i, _ out: UnsafeMutablePointer<Float>, count: Int) { store(codes(v), out, count: count) }

    /// The first `min(count, 16)` lanes.
    @inline(__always)
    func store(_ v: __m512, _ out: UnsafeMutablePointer<Float>, count: Int) {
        if count >= 16 { return _mm512_storeu_ps(out, v) }
        _mm512_mask_storeu_ps(out, __mmask16(truncatingIfNeeded: (1 << count) - 1), v)
    }
}

/// 32 int16 lanes from `p` (pairs for `vpdpwssd`).
@inline(__always)
private func pairs(_ p: UnsafePointer<Int16>) -> __m512i {
    unsafeBitCast(UnsafeRawPointer(p).loadUnaligned(as: SIMD32<Int16>.self), to: __m512i.self)
}
#endif
