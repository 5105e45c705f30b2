#if arch(x86_64)
import _Builtin_intrinsics.intel

// The exact integer kernels of AVX2 CPUs: int8 (`int8Gemm256`) and int16 (`int16Gemm256`), both on `vpmaddwd`'s
// int16 pairs, sharing the loads, broadcasts and pair products below; int8 inputs of 0…127 take `vpmaddubsw`'s bytes.

/// ESP-DL's int8 Conv/Gemm, exactly, for AVX2 CPUs: the codes widened to int16 pairs, multiplied and pair-summed
/// by `vpmaddwd` (16 products per instruction) and accumulated in int32. Same contract as `int8GemmVNNI`, without
/// the offset: `bias` is the layer's bias, and every product and sum stays far inside int32 for the caller's bound.
///
/// `nonNegative`: the caller has checked that every code of `b` is 0…127 (`codesAreNonNegative`; after a Relu or
/// Clip), and `packedA` holds the weights packed for `int8Bytes256Shape`. Then `vpmaddubsw` multiplies 32 unsigned
/// activation bytes by signed weight bytes and pair-sums them into int16, and `vpmaddwd` by ones sums those pairs
/// into int32: 32 products in 3 instructions, against 16 in 2. Exact because a pair sum is at most 2·127·128 = 32 512
/// in magnitude, so the int16 step never saturates.
public func int8Gemm256(m: Int, n: Int, k: Int, packedA: UnsafePointer<Int32>, b: UnsafePointer<Float>, ldb: Int,
                        c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Int32>, shifts: UnsafePointer<Int32>,
                        _ mode: RoundingMode, lo: Int32, hi: Int32, scratch: UnsafeMutableRawPointer, sink: PanelSink? = nil,
                        nonNegative: Bool = false) {
    let shape = nonNegative ? int8Bytes256Shape : int8Gemm256Shape
    let wide: IntegerTile, narrow: IntegerTile
    if nonNegative { (wide, narrow) = (byteTile6x16, byteTile6x8) } else { (wide, narrow) = (pairTile6x16, pairTile6x8) }
    integerGemm(m: m, n: n, k: k, shape: shape, wide: wide, narrow: narrow, packedA: packedA, b: b,
                ldb: ldb, c: c, ldc: ldc, bias: bias, shifts: shifts, mode, lo: lo, hi: hi, scratch: scratch, sink: sink)
}

/// The tile shapes of `int8Gemm256`: 6-row panels of int16 pairs, 16- and 8-column tiles.
public let int8Gemm256Shape = IntegerTileShape(rows: 6, wide: 16, narrow: 8, lanes: .pairs)

/// The tile shapes of `int8Gemm256`'s inputs of 0…127: 6-row panels of 4-byte words, 16- and 8-column tiles.
public let int8Bytes256Shape = IntegerTileShape(rows: 6, wide: 16, narrow: 8, lanes: .unsignedBytes)

private typealias I8 = SIMD8<Int32>

@inline(__always) private func load(_ p: UnsafePointer<Int32>) -> __m256i {
    unsafeBitCast(UnsafeRawPointer(p).loadUnaligned(as: I8.self), to: __m256i.self)
}
@inline(__always) private func splat(_ w: Int32) -> __m256i { _mm256_set1_epi32(w) }
/// How a word step multiplies a word of `B` by a broadcast word of `A` into the int32 lanes: the one difference between
/// the pair and byte tiles, which share every loop below.
private protocol WordProducts {
    static func dot(_ acc: __m256i, _ b: __m256i, _ w: __m256i) -> __m256i
}
/// `acc + b.lo16·w.lo16 + b.hi16·w.hi16` in each int32 lane (`vpmaddwd`).
private enum Int16Pairs: WordProducts {
    @inline(__always) static func dot(_ acc: __m256i, _ b: __m256i, _ w: __m256i) -> __m256i {
        _mm256_add_epi32(acc, _mm256_madd_epi16(b, w))
    }
}
/// `acc + Σ` of 4 unsigned bytes of `b` times 4 signed bytes of `w` in each int32 lane (`vpmaddubsw`, then `vpmaddwd`
/// by ones).
private enum UnsignedBytes: WordProducts {
    @inline(__always) static func dot(_ acc: __m256i, _ b: __m256i, _ w: __m256i) -> __m256i {
        _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(b, w), _mm256_set1_epi16(1)))
    }
}
/// One row's sums requantized (`shiftRoundLanes`), saturated on the floats (as in `int8GemmVNNI`) and stored.
@inline(__always)
private func storeRow(_ v: __m256i, _ out: UnsafeMutablePointer<Float>, shift: Int32, _ mode: RoundingMode, lo: __m256, hi: __m256) {
    let q = unsafeBitCast(shiftRoundLanes(unsafeBitCast(v, to: I8.self), shift: shift, mode), to: __m256i.self)
    let y = _mm256_min_ps(_mm256_max_ps(_mm256_cvtepi32_ps(q), lo), hi)
    UnsafeMutableRawPointer(out).storeBytes(of: y, as: __m256.self)
}

/// 6 rows × 16 columns of codes: 12 accumulators, 2 loads and 6 broadcasts per word step (the float tile's shape).
@inline(never)
private func pairTile6x16(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Float>,
                          ldc: Int, bias: UnsafePointer<Int32>, shifts: UnsafePointer<Int32>, _ mode: RoundingMode, lo: Int32, hi: Int32) {
    storeRows6x16(sums6x16(Int16Pairs.self, words: words, a: a, b: b, ldb: ldb, from: bias), c, ldc: ldc, shifts: shifts, mode, lo: lo, hi: hi)
}

/// `pairTile6x16` on words of 4 bytes (inputs of 0…127).
@inline(never)
private func byteTile6x16(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Float>,
                          ldc: Int, bias: UnsafePointer<Int32>, shifts: UnsafePointer<Int32>, _ mode: RoundingMode, lo: Int32, hi: Int32) {
    storeRows6x16(sums6x16(UnsignedBytes.self, words: words, a: a, b: b, ldb: ldb, from: bias), c, ldc: ldc, shifts: shifts, mode, lo: lo, hi: hi)
}

/// A 6 × 16 tile's sums (row `r`'s two column vectors at `2r`, `2r+1`) requantized and stored (`storeRow`).
@inline(__always)
private func storeRows6x16(_ s: (__m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i),
                           _ c: UnsafeMutablePointer<Float>, ldc: Int, shifts: UnsafePointer<Int32>, _ mode: RoundingMode, lo: Int32, hi: Int32) {
    let l = _mm256_set1_ps(Float(lo)), h = _mm256_set1_ps(Float(hi))
    storeRow(s.0, c, shift: shifts[0], mode, lo: l, hi: h); storeRow(s.1, c + 8, shift: shifts[0], mode, lo: l, hi: h)
    storeRow(s.2, c + ldc, shift: shifts[1], mode, lo: l, hi: h); storeRow(s.3, c + ldc + 8, shift: shifts[1], mode, lo: l, hi: h)
    storeRow(s.4, c + 2 * ldc, shift: shifts[2], mode, lo: l, hi: h); storeRow(s.5, c + 2 * ldc + 8, shift: shifts[2], mode, lo: l, hi: h)
    storeRow(s.6, c + 3 * ldc, shift: shifts[3], mode, lo: l, hi: h); storeRow(s.7, c + 3 * ldc + 8, shift: shifts[3], mode, lo: l, hi: h)
    storeRow(s.8, c + 4 * ldc, shift: shifts[4], mode, lo: l, hi: h); storeRow(s.9, c + 4 * ldc + 8, shift: shifts[4], mode, lo: l, hi: h)
    storeRow(s.10, c + 5 * ldc, shift: shifts[5], mode, lo: l, hi: h); storeRow(s.11, c + 5 * ldc + 8, shift: shifts[5], mode, lo: l, hi: h)
}

/// 6 rows × 8 columns of codes: the last columns of a block.
@inline(never)
private func pairTile6x8(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Float>,
                         ldc: Int, bias: UnsafePointer<Int32>, shifts: UnsafePointer<Int32>, _ mode: RoundingMode, lo: Int32, hi: Int32) {
    storeRows6x8(sums6x8(Int16Pairs.self, words: words, a: a, b: b, ldb: ldb, from: bias), c, ldc: ldc, shifts: shifts, mode, lo: lo, hi: hi)
}

/// `pairTile6x8` on words of 4 bytes (inputs of 0…127).
@inline(never)
private func byteTile6x8(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Float>,
                         ldc: Int, bias: UnsafePointer<Int32>, shifts: UnsafePointer<Int32>, _ mode: RoundingMode, lo: Int32, hi: Int32) {
    storeRows6x8(sums6x8(UnsignedBytes.self, words: words, a: a, b: b, ldb: ldb, from: bias), c, ldc: ldc, shifts: shifts, mode, lo: lo, hi: hi)
}

/// A 6 × 8 tile's sums requantized and stored (`storeRow`).
@inline(__always)
private func storeRows6x8(_ s: (__m256i, __m256i, __m256i, __m256i, __m256i, __m256i), _ c: UnsafeMutablePointer<Float>, ldc: Int,
                          shifts: UnsafePointer<Int32>, _ mode: RoundingMode, lo: Int32, hi: Int32) {
    let l = _mm256_set1_ps(Float(lo)), h = _mm256_set1_ps(Float(hi))
    storeRow(s.0, c, shift: shifts[0], mode, lo: l, hi: h); storeRow(s.1, c + ldc, shift: shifts[1], mode, lo: l, hi: h)
    storeRow(s.2, c + 2 * ldc, shift: shifts[2], mode, lo: l, hi: h); storeRow(s.3, c + 3 * ldc, shift: shifts[3], mode, lo: l, hi: h)
    storeRow(s.4, c + 4 * ldc, shift: shifts[4], mode, lo: l, hi: h); storeRow(s.5, c + 5 * ldc, shift: shifts[5], mode, lo: l, hi: h)
}

/// The tile shapes of `int16Gemm256`: 6-row panels (3 rows' `wh`, then their `wl`), 16 and 8 columns.
public let int16Gemm256Shape = IntegerTileShape(rows: 6, wide: 16, narrow: 8, lanes: .pairs)

/// ESP-DL's int16 Conv/Gemm, exactly, for AVX2 CPUs (`vpmaddwd`); see `int16Gemm`.
public func int16Gemm256(m: Int, n: Int, k: Int, packedA: UnsafePointer<Int32>, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Double>, scales: UnsafePointer<Double>,
                         _ mode: RoundingMode, lo: Double, hi: Double, scratch: UnsafeMutableRawPointer, sink: PanelSink? = nil) {
    int16Gemm(m: m, n: n, k: k, shape: int16Gemm256Shape, wide: pairSums6x16, narrow: pairSums6x8,
              codes: (pairCodes6x16, pairCodes6x8), packedA: packedA, b: b,
              ldb: ldb, c: c, ldc: ldc, bias: bias, scales: scales, mode, lo: lo, hi: hi, scratch: scratch, sink: sink)
}

@inline(__always) private func storeSums(_ p: UnsafeMutablePointer<Int32>, _ v: __m256i) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: __m256i.self)
}

/// 6 rows × 16 columns of int32 sums in registers, row `r` starting from `start[r]` (nil: 0): row `r`'s two column
/// vectors at `2r`, `2r+1`.
@inline(__always)
private func sums6x16<P: WordProducts>(_: P.Type, words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int,
                                       from start: UnsafePointer<Int32>?)
    -> (__m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i) {
    @inline(__always) func first(_ r: Int) -> __m256i { start.map { splat($0[r]) } ?? _mm256_setzero_si256() }
    var c00 = first(0), c01 = c00, c10 = first(1), c11 = c10, c20 = first(2), c21 = c20
    var c30 = first(3), c31 = c30, c40 = first(4), c41 = c40, c50 = first(5), c51 = c50
    var ap = a, bp = b
    for _ in 0..<words {
        let b0 = load(bp), b1 = load(bp + 8)
        var w = splat(ap[0]); c00 = P.dot(c00, b0, w); c01 = P.dot(c01, b1, w)
        w = splat(ap[1]); c10 = P.dot(c10, b0, w); c11 = P.dot(c11, b1, w)
        w = splat(ap[2]); c20 = P.dot(c20, b0, w); c21 = P.dot(c21, b1, w)
        w = splat(ap[3]); c30 = P.dot(c30, b0, w); c31 = P.dot(c31, b1, w)
        w = splat(ap[4]); c40 = P.dot(c40, b0, w); c41 = P.dot(c41, b1, w)
        w = splat(ap[5]); c50 = P.dot(c50, b0, w); c51 = P.dot(c51, b1, w)
        ap += 6; bp += ldb
    }
    return (c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51)
}

/// 6 rows × 8 columns of int32 sums in registers, as `sums6x16`.
@inline(__always)
private func sums6x8<P: WordProducts>(_: P.Type, words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int,
                                      from start: UnsafePointer<Int32>?) -> (__m256i, __m256i, __m256i, __m256i, __m256i, __m256i) {
    @inline(__always) func first(_ r: Int) -> __m256i { start.map { splat($0[r]) } ?? _mm256_setzero_si256() }
    var c0 = first(0), c1 = first(1), c2 = first(2), c3 = first(3), c4 = first(4), c5 = first(5)
    var ap = a, bp = b
    for _ in 0..<words {
        let b0 = load(bp)
        c0 = P.dot(c0, b0, splat(ap[0])); c1 = P.dot(c1, b0, splat(ap[1])); c2 = P.dot(c2, b0, splat(ap[2]))
        c3 = P.dot(c3, b0, splat(ap[3])); c4 = P.dot(c4, b0, splat(ap[4])); c5 = P.dot(c5, b0, splat(ap[5]))
        ap += 6; bp += ldb
    }
    return (c0, c1, c2, c3, c4, c5)
}

/// 6 rows × 16 columns of raw int32 sums, stored.
@inline(never)
private func pairSums6x16(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int) {
    let s = sums6x16(Int16Pairs.self, words: words, a: a, b: b, ldb: ldb, from: nil)
    var o = c
    storeSums(o, s.0); storeSums(o + 8, s.1); o += ldc
    storeSums(o, s.2); storeSums(o + 8, s.3); o += ldc
    storeSums(o, s.4); storeSums(o + 8, s.5); o += ldc
    storeSums(o, s.6); storeSums(o + 8, s.7); o += ldc
    storeSums(o, s.8); storeSums(o + 8, s.9); o += ldc
    storeSums(o, s.10); storeSums(o + 8, s.11)
}

/// 6 rows × 8 columns of raw int32 sums, stored.
@inline(never)
private func pairSums6x8(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int) {
    let s = sums6x8(Int16Pairs.self, words: words, a: a, b: b, ldb: ldb, from: nil)
    storeSums(c, s.0); storeSums(c + ldc, s.1); storeSums(c + 2 * ldc, s.2)
    storeSums(c + 3 * ldc, s.3); storeSums(c + 4 * ldc, s.4); storeSums(c + 5 * ldc, s.5)
}

/// One chunk's 6 × 16 sums (rows 0–2 `Σx·wh`, rows 3–5 `Σx·wl` of the same real rows) finished in registers into
/// `rows` × `cols` codes (see `Int16CodesTile`).
@inline(never)
private func pairCodes6x16(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Float>,
                           ldc: Int, rows: Int, cols: Int, bias: UnsafePointer<Double>, scales: UnsafePointer<Double>,
                           _ mode: RoundingMode, lo: Float, hi: Float) {
    let s = sums6x16(Int16Pairs.self, words: words, a: a, b: b, ldb: ldb, from: nil)
    let l = SIMD8<Float>(repeating: lo), h = SIMD8<Float>(repeating: hi)
    withInt16CodesTile(c, ldc: ldc, rows: rows, cols: cols, span: 16) { out, ld in
        storeCodes(int16Codes(s.0, s.6, bias: bias[0], scale: scales[0], mode, lo: l, hi: h), out)
        storeCodes(int16Codes(s.1, s.7, bias: bias[0], scale: scales[0], mode, lo: l, hi: h), out + 8)
        if rows > 1 {
            storeCodes(int16Codes(s.2, s.8, bias: bias[1], scale: scales[1], mode, lo: l, hi: h), out + ld)
            storeCodes(int16Codes(s.3, s.9, bias: bias[1], scale: scales[1], mode, lo: l, hi: h), out + ld + 8)
        }
        if rows > 2 {
            storeCodes(int16Codes(s.4, s.10, bias: bias[2], scale: scales[2], mode, lo: l, hi: h), out + 2 * ld)
            storeCodes(int16Codes(s.5, s.11, bias: bias[2], scale: scales[2], mode, lo: l, hi: h), out + 2 * ld + 8)
        }
    }
}

/// 6 rows × 8 columns of one chunk's sums finished into codes, as `pairCodes6x16`.
@inline(never)
private func pairCodes6x8(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Float>,
                          ldc: Int, rows: Int, cols: Int, bias: UnsafePointer<Double>, scales: UnsafePointer<Double>,
                          _ mode: RoundingMode, lo: Float, hi: Float) {
    let s = sums6x8(Int16Pairs.self, words: words, a: a, b: b, ldb: ldb, from: nil)
    let l = SIMD8<Float>(repeating: lo), h = SIMD8<Float>(repeating: hi)
    withInt16CodesTile(c, ldc: ldc, rows: rows, cols: cols, span: 8) { out, ld in
        storeCodes(int16Codes(s.0, s.3, bias: bias[0], scale: scales[0], mode, lo: l, hi: h), out)
        if rows > 1 { storeCodes(int16Codes(s.1, s.4, bias: bias[1], scale: scales[1], mode, lo: l, hi: h), out + ld) }
        if rows > 2 { storeCodes(int16Codes(s.2, s.5, bias: bias[2], scale: scales[2], mode, lo: l, hi: h), out + 2 * ld) }
    }
}

/// `clamp(round((256·high + low + bias)·scale))` for 8 columns, as `int16Gemm`'s gather and finish compute it.
@inline(__always)
private func int16Codes(_ high: __m256i, _ low: __m256i, bias: Double, scale: Double, _ mode: RoundingMode,
                        lo: SIMD8<Float>, hi: SIMD8<Float>) -> SIMD8<Float> {
    let h = unsafeBitCast(high, to: I8.self), l = unsafeBitCast(low, to: I8.self)
    var hd = SIMD8<Double>(), ld = SIMD8<Double>()
    for t in 0..<8 { hd[t] = Double(h[t]); ld[t] = Double(l[t]) }
    return roundedCodes((256 * hd + ld + SIMD8(repeating: bias)) * SIMD8(repeating: scale), mode, lo: lo, hi: hi)
}

@inline(__always) private func storeCodes(_ v: SIMD8<Float>, _ out: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(out).storeBytes(of: v, as: SIMD8<Float>.self)
}
#endif
