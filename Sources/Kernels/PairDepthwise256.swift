#if arch(x86_64)
import _Builtin_intrinsics.intel

/// `depthwise3x3Int16VNNI` for AVX2 CPUs: the same int16 plane (`PairPlaneLayout`), bound (`pairSumsFit`), tap pairs
/// and fallback, with 256-bit `vpmaddwd` + `vpaddd` (16 products per pair of instructions, against 4 per double FMA
/// in the int16 taps it replaces and 8 per float FMA in the int8 ones). Stride 2 gives 8 outputs per vector; stride 1
/// even and odd outputs, written back in order by 128-bit halves. `scratch` holds `PairPlaneLayout(w).count` lanes.
public func depthwise3x3Pairs256(_ src: UnsafePointer<Float>, channels: Int, _ w: Window2D, weights: UnsafePointer<Int32>,
                                 absSums: UnsafePointer<Int64>, bias: UnsafePointer<Int64>, shifts: UnsafePointer<Int32>,
                                 _ mode: RoundingMode, lo: Float, hi: Float, scratch: UnsafeMutablePointer<Int16>,
                                 _ dst: UnsafeMutablePointer<Float>, fallback: (_ channel: Int) -> Void) {
    pairDepthwise3x3(PairTaps256.self, src, channels: channels, w, weights: weights, absSums: absSums, bias: bias, shifts: shifts,
                     mode, lo: lo, hi: hi, scratch: scratch, dst, fallback: fallback)
}

/// One channel's taps as `vpmaddwd` pairs, and its requantization (as `PairTaps` in KernelsVNNI, 8 lanes).
private struct PairTaps256: PairDepthwiseTaps {
    /// Per kernel row: `(w0, w1)` and `(w2, 0)` as int16 pairs in every lane.
    let p0, q0, p1, q1, p2, q2: __m256i
    let bias: __m256i
    /// The shift count and the rounding addends (`PairTapWords`).
    let count: __m128i
    let half, halfLess1, one: __m256i
    let halfEven: Bool
    let lo, hi: __m256

    init(_ t: PairTapWords, lo: Float, hi: Float) {
        let splat = _mm256_set1_epi32
        (p0, q0, p1, q1, p2, q2) = (splat(t.p0), splat(t.q0), splat(t.p1), splat(t.q1), splat(t.p2), splat(t.q2))
        (bias, half, halfLess1, one) = (splat(t.bias), splat(t.half), splat(t.halfLess1), splat(1))
        count = _mm_cvtsi32_si128(t.shift)
        halfEven = t.halfEven
        (self.lo, self.hi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi))
    }

    /// Writes one channel's float codes into the plane's interior (the padding stays zero) and returns the largest `|x|`.
    @inline(__always)
    static func fill(_ plane: UnsafeMutablePointer<Int16>, pitch: Int, from src: UnsafePointer<Float>, _ w: Window2D) -> UInt32 {
        var largest = SIMD8<UInt32>()
        var tail: UInt32 = 0
        for y in 0..<w.inH {
            let from = src + y * w.inW, to = plane + (y + w.padTop) * pitch + w.padLeft
            var x = 0
            while x + 8 <= w.inW {
                let i = _mm256_cvtps_epi32(_mm256_loadu_ps(from + x))
                largest = pointwiseMax(largest, unsafeBitCast(_mm256_abs_epi32(i), to: SIMD8<UInt32>.self))
                let v = unsafeBitCast(i, to: SIMD8<Int32>.self)
                UnsafeMutableRawPointer(to + x).storeBytes(of: SIMD8<Int16>(truncatingIfNeeded: v), as: SIMD8<Int16>.self)
                x += 8
            }
            while x < w.inW {
                let v = Int32(from[x])
                tail = max(tail, v.magnitude)
                to[x] = Int16(truncatingIfNeeded: v)
                x += 1
            }
        }
        return max(largest.max(), tail)
    }

    @inline(__always)
    func row(_ row: UnsafePointer<Int16>, pitch: Int, stride: Int, count: Int, _ out: UnsafeMutablePointer<Float>) {
        stride == 1 ? rowStride1(row, pitch: pitch, count: count, out) : rowStride2(row, pitch: pitch, count: count, out)
    }

    /// bias + the nine taps of the 8 outputs whose pairs start at `p`, as float codes.
    @inline(__always)
    func codes(_ p: UnsafePointer<Int16>, pitch: Int) -> __m256 {
        var a = bias
        a = _mm256_add_epi32(a, _mm256_madd_epi16(pairs(p), p0)); a = _mm256_add_epi32(a, _mm256_madd_epi16(pairs(p + 2), q0))
        a = _mm256_add_epi32(a, _mm256_madd_epi16(pairs(p + pitch), p1))
        a = _mm256_add_epi32(a, _mm256_madd_epi16(pairs(p + pitch + 2), q1))
        a = _mm256_add_epi32(a, _mm256_madd_epi16(pairs(p + 2 * pitch), p2))
        a = _mm256_add_epi32(a, _mm256_madd_epi16(pairs(p + 2 * pitch + 2), q2))
        let add = halfEven ? _mm256_add_epi32(halfLess1, _mm256_and_si256(_mm256_sra_epi32(a, count), one)) : half
        let q = _mm256_sra_epi32(_mm256_add_epi32(a, add), count)
        return _mm256_min_ps(_mm256_max_ps(_mm256_cvtepi32_ps(q), lo), hi)
    }

    /// 8 outputs a vector: output `o` at pairs `2o` and `2o + 2`.
    @inline(__always)
    func rowStride2(_ row: UnsafePointer<Int16>, pitch: Int, count: Int, _ out: UnsafeMutablePointer<Float>) {
        var o = 0
        while o < count {
            let v = codes(row + 2 * o, pitch: pitch)   // __m256 is SIMD8<Float>
            if count - o >= 8 {
                UnsafeMutableRawPointer(out + o).storeBytes(of: v, as: SIMD8<Float>.self)
            } else {
                for t in 0..<(count - o) { out[o + t] = v[t] }
            }
            o += 8
        }
    }

    /// 16 outputs a step: the even ones from pairs at even columns, the odd ones from odd columns; the in-lane
    /// interleaves give outputs 0–3 and 8–11, then 4–7 and 12–15, stored by halves.
    @inline(__always)
    func rowStride1(_ row: UnsafePointer<Int16>, pitch: Int, count: Int, _ out: UnsafeMutablePointer<Float>) {
        var o = 0
        while o < count {
            let even = codes(row + o, pitch: pitch), odd = codes(row + o + 1, pitch: pitch)
            let first = _mm256_unpacklo_ps(even, odd), second = _mm256_unpackhi_ps(even, odd)
            if count - o >= 16 {
                let p = UnsafeMutableRawPointer(out + o)
                p.storeBytes(of: first.lowHalf, as: SIMD4<Float>.self)
                p.storeBytes(of: second.lowHalf, toByteOffset: 16, as: SIMD4<Float>.self)
                p.storeBytes(of: first.highHalf, toByteOffset: 32, as: SIMD4<Float>.self)
                p.storeBytes(of: second.highHalf, toByteOffset: 48, as: SIMD4<Float>.self)
            } else {
                let ordered = SIMD16<Float>(lowHalf: SIMD8(lowHalf: first.lowHalf, highHalf: second.lowHalf),
                                            highHalf: SIMD8(lowHalf: first.highHalf, highHalf: second.highHalf))
                for t in 0..<(count - o) { out[o + t] = ordered[t] }
            }
            o += 16
        }
    }
}

/// 16 int16 lanes from `p` (pairs for `vpmaddwd`).
@inline(__always)
private func pairs(_ p: UnsafePointer<Int16>) -> __m256i {
    unsafeBitCast(UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Int16>.self), to: __m256i.self)
}
#endif
