#if arch(x86_64)
import _Builtin_intrinsics.intel
import Kernels

/// The tile shapes of `int16GemmVNNI`: 8-row panels (4 rows' `wh`, then their `wl`) of int16 pairs, 48 and 16 columns.
public let int16VNNIShape = IntegerTileShape(rows: 8, wide: 48, narrow: 16, lanes: .pairs)

/// ESP-DL's int16 Conv/Gemm, exactly, with `vpdpwssd` (32 products per instruction); see `int16Gemm`.
public func int16GemmVNNI(m: Int, n: Int, k: Int, packedA: UnsafePointer<Int32>, b: UnsafePointer<Float>, ldb: Int,
                          c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Double>, scales: UnsafePointer<Double>,
                          _ mode: RoundingMode, lo: Double, hi: Double, scratch: UnsafeMutableRawPointer) {
    int16Gemm(m: m, n: n, k: k, shape: int16VNNIShape, wide: sumTile8x48, narrow: sumTile8x16, packedA: packedA, b: b, ldb: ldb,
              c: c, ldc: ldc, bias: bias, scales: scales, mode, lo: lo, hi: hi, scratch: scratch)
}

/// `acc + b.lo16·w.lo16 + b.hi16·w.hi16` in each int32 lane.
@inline(__always) private func pairDot(_ acc: __m512i, _ b: __m512i, _ w: __m512i) -> __m512i { _mm512_dpwssd_epi32(acc, b, w) }
@inline(__always) private func store(_ p: UnsafeMutablePointer<Int32>, _ v: __m512i) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: __m512i.self)
}

/// 8 rows × 48 columns of raw int32 sums; 24 accumulators, 3 loads, 8 broadcasts and 24 `vpdpwssd` per word.
@inline(never)
private func sumTile8x48(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int) {
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
    var o = c
    store(o, c00); store(o + 16, c01); store(o + 32, c02); o += ldc
    store(o, c10); store(o + 16, c11); store(o + 32, c12); o += ldc
    store(o, c20); store(o + 16, c21); store(o + 32, c22); o += ldc
    store(o, c30); store(o + 16, c31); store(o + 32, c32); o += ldc
    store(o, c40); store(o + 16, c41); store(o + 32, c42); o += ldc
    store(o, c50); store(o + 16, c51); store(o + 32, c52); o += ldc
    store(o, c60); store(o + 16, c61); store(o + 32, c62); o += ldc
    store(o, c70); store(o + 16, c71); store(o + 32, c72)
}

/// 8 rows × 16 columns of raw int32 sums.
@inline(never)
private func sumTile8x16(words: Int, a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int) {
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
    store(c, c0); store(c + ldc, c1); store(c + 2 * ldc, c2); store(c + 3 * ldc, c3)
    store(c + 4 * ldc, c4); store(c + 5 * ldc, c5); store(c + 6 * ldc, c6); store(c + 7 * ldc, c7)
}
#endif
