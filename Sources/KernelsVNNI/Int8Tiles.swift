#if arch(x86_64)
import _Builtin_intrinsics.intel
import Kernels

typealias I16 = SIMD16<Int32>

@inline(__always) func load(_ p: UnsafePointer<Int32>) -> __m512i { unsafeBitCast(UnsafeRawPointer(p).loadUnaligned(as: I16.self), to: __m512i.self) }
@inline(__always) func splat(_ w: Int32) -> __m512i { _mm512_set1_epi32(w) }
/// `acc + Σ_t b.u8[4i+t] · w.s8[t]` in each int32 lane.
@inline(__always) func dot(_ acc: __m512i, _ b: __m512i, _ w: __m512i) -> __m512i { _mm512_dpbusd_epi32(acc, b, w) }

/// One row's sums requantized (`shiftRoundLanes`), saturated and stored as float codes. The saturation runs on
/// the floats: conversion is monotone and the bounds are exact floats, so it equals saturating the integers.
@inline(__always)
func storeRow(_ v: __m512i, _ out: UnsafeMutablePointer<Float>, shift: Int32, _ mode: RoundingMode, lo: __m512, hi: __m512) {
    let q = unsafeBitCast(shiftRoundLanes(unsafeBitCast(v, to: I16.self), shift: shift, mode), to: __m512i.self)
    let y = _mm512_min_ps(_mm512_max_ps(_mm512_cvtepi32_ps(q), lo), hi)
    UnsafeMutableRawPointer(out).storeBytes(of: y, as: __m512.self)
}

@inline(__always)
func storeRow3(_ v0: __m512i, _ v1: __m512i, _ v2: __m512i, _ out: UnsafeMutablePointer<Float>, shift: Int32, _ mode: RoundingMode,
               lo: __m512, hi: __m512) {
    storeRow(v0, out, shift: shift, mode, lo: lo, hi: hi)
    storeRow(v1, out + 16, shift: shift, mode, lo: lo, hi: hi)
    storeRow(v2, out + 32, shift: shift, mode, lo: lo, hi: hi)
}

/// The micro-tile: 8 rows × 48 columns of int32 sums, 24 accumulators; each word step issues 3 loads, 8 broadcasts
/// and 24 `vpdpbusd` (64 products each).
@inline(never)
func tile8x48(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
              bias: UnsafePointer<Int32>, shifts: UnsafePointer<Int32>, _ mode: RoundingMode, lo: Int32, hi: Int32) {
    var c00 = splat(bias[0]), c01 = c00, c02 = c00
    var c10 = splat(bias[1]), c11 = c10, c12 = c10
    var c20 = splat(bias[2]), c21 = c20, c22 = c20
    var c30 = splat(bias[3]), c31 = c30, c32 = c30
    var c40 = splat(bias[4]), c41 = c40, c42 = c40
    var c50 = splat(bias[5]), c51 = c50, c52 = c50
    var c60 = splat(bias[6]), c61 = c60, c62 = c60
    var c70 = splat(bias[7]), c71 = c70, c72 = c70
    var ap = a, bp = b
    for _ in 0..<words {
        let b0 = load(bp), b1 = load(bp + 16), b2 = load(bp + 32)
        var w = splat(ap[0]); c00 = dot(c00, b0, w); c01 = dot(c01, b1, w); c02 = dot(c02, b2, w)
        w = splat(ap[1]); c10 = dot(c10, b0, w); c11 = dot(c11, b1, w); c12 = dot(c12, b2, w)
        w = splat(ap[2]); c20 = dot(c20, b0, w); c21 = dot(c21, b1, w); c22 = dot(c22, b2, w)
        w = splat(ap[3]); c30 = dot(c30, b0, w); c31 = dot(c31, b1, w); c32 = dot(c32, b2, w)
        w = splat(ap[4]); c40 = dot(c40, b0, w); c41 = dot(c41, b1, w); c42 = dot(c42, b2, w)
        w = splat(ap[5]); c50 = dot(c50, b0, w); c51 = dot(c51, b1, w); c52 = dot(c52, b2, w)
        w = splat(ap[6]); c60 = dot(c60, b0, w); c61 = dot(c61, b1, w); c62 = dot(c62, b2, w)
        w = splat(ap[7]); c70 = dot(c70, b0, w); c71 = dot(c71, b1, w); c72 = dot(c72, b2, w)
        ap += 8; bp += ldb
    }
    let l = _mm512_set1_ps(Float(lo)), h = _mm512_set1_ps(Float(hi))
    storeRow3(c00, c01, c02, c, shift: shifts[0], mode, lo: l, hi: h)
    storeRow3(c10, c11, c12, c + ldc, shift: shifts[1], mode, lo: l, hi: h)
    storeRow3(c20, c21, c22, c + 2 * ldc, shift: shifts[2], mode, lo: l, hi: h)
    storeRow3(c30, c31, c32, c + 3 * ldc, shift: shifts[3], mode, lo: l, hi: h)
    storeRow3(c40, c41, c42, c + 4 * ldc, shift: shifts[4], mode, lo: l, hi: h)
    storeRow3(c50, c51, c52, c + 5 * ldc, shift: shifts[5], mode, lo: l, hi: h)
    storeRow3(c60, c61, c62, c + 6 * ldc, shift: shifts[6], mode, lo: l, hi: h)
    storeRow3(c70, c71, c72, c + 7 * ldc, shift: shifts[7], mode, lo: l, hi: h)
}

/// 8 rows × 16 columns: the last columns of a block.
@inline(never)
func tile8x16(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
              bias: UnsafePointer<Int32>, shifts: UnsafePointer<Int32>, _ mode: RoundingMode, lo: Int32, hi: Int32) {
    var c0 = splat(bias[0]), c1 = splat(bias[1]), c2 = splat(bias[2]), c3 = splat(bias[3])
    var c4 = splat(bias[4]), c5 = splat(bias[5]), c6 = splat(bias[6]), c7 = splat(bias[7])
    var ap = a, bp = b
    for _ in 0..<words {
        let b0 = load(bp)
        c0 = dot(c0, b0, splat(ap[0])); c1 = dot(c1, b0, splat(ap[1])); c2 = dot(c2, b0, splat(ap[2])); c3 = dot(c3, b0, splat(ap[3]))
        c4 = dot(c4, b0, splat(ap[4])); c5 = dot(c5, b0, splat(ap[5])); c6 = dot(c6, b0, splat(ap[6])); c7 = dot(c7, b0, splat(ap[7]))
        ap += 8; bp += ldb
    }
    let l = _mm512_set1_ps(Float(lo)), h = _mm512_set1_ps(Float(hi))
    storeRow(c0, c, shift: shifts[0], mode, lo: l, hi: h); storeRow(c1, c + ldc, shift: shifts[1], mode, lo: l, hi: h)
    storeRow(c2, c + 2 * ldc, shift: shifts[2], mode, lo: l, hi: h); storeRow(c3, c + 3 * ldc, shift: shifts[3], mode, lo: l, hi: h)
    storeRow(c4, c + 4 * ldc, shift: shifts[4], mode, lo: l, hi: h); storeRow(c5, c + 5 * ldc, shift: shifts[5], mode, lo: l, hi: h)
    storeRow(c6, c + 6 * ldc, shift: shifts[6], mode, lo: l, hi: h); storeRow(c7, c + 7 * ldc, shift: shifts[7], mode, lo: l, hi: h)
}
#endif
