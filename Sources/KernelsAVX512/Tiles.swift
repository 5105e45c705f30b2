typealias V16 = SIMD16<Float>
typealias V8 = SIMD8<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> V16 { UnsafeRawPointer(p).loadUnaligned(as: V16.self) }
@inline(__always) func store16(_ p: UnsafeMutablePointer<Float>, _ v: V16) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V16.self)
}

/// The micro-tile: 8 rows × 48 columns, `c[r][j] = clamp(bias[r] + Σ_kk a[kk·8 + r]·b[kk·ldb + j])`.
/// 24 accumulators, 3 vectors of `B` and one broadcast weight fill 28 of the 32 vector registers, so the
/// `k` loop never spills; it issues 24 FMAs for 3 loads and 8 broadcasts (checked in the assembly).
/// The clamp runs afterwards over the stored rows: vector min/max written on SIMD types is not inlined.
@inline(never)
func tile8x48(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
              c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>, lo: Float, hi: Float) {
    var c00 = V16(repeating: bias[0]), c01 = c00, c02 = c00
    var c10 = V16(repeating: bias[1]), c11 = c10, c12 = c10
    var c20 = V16(repeating: bias[2]), c21 = c20, c22 = c20
    var c30 = V16(repeating: bias[3]), c31 = c30, c32 = c30
    var c40 = V16(repeating: bias[4]), c41 = c40, c42 = c40
    var c50 = V16(repeating: bias[5]), c51 = c50, c52 = c50
    var c60 = V16(repeating: bias[6]), c61 = c60, c62 = c60
    var c70 = V16(repeating: bias[7]), c71 = c70, c72 = c70
    var ap = a, bp = b
    for _ in 0..<k {
        let b0 = load16(bp), b1 = load16(bp + 16), b2 = load16(bp + 32)
        var w = V16(repeating: ap[0]); c00.addProduct(w, b0); c01.addProduct(w, b1); c02.addProduct(w, b2)
        w = V16(repeating: ap[1]); c10.addProduct(w, b0); c11.addProduct(w, b1); c12.addProduct(w, b2)
        w = V16(repeating: ap[2]); c20.addProduct(w, b0); c21.addProduct(w, b1); c22.addProduct(w, b2)
        w = V16(repeating: ap[3]); c30.addProduct(w, b0); c31.addProduct(w, b1); c32.addProduct(w, b2)
        w = V16(repeating: ap[4]); c40.addProduct(w, b0); c41.addProduct(w, b1); c42.addProduct(w, b2)
        w = V16(repeating: ap[5]); c50.addProduct(w, b0); c51.addProduct(w, b1); c52.addProduct(w, b2)
        w = V16(repeating: ap[6]); c60.addProduct(w, b0); c61.addProduct(w, b1); c62.addProduct(w, b2)
        w = V16(repeating: ap[7]); c70.addProduct(w, b0); c71.addProduct(w, b1); c72.addProduct(w, b2)
        ap += 8; bp += ldb
    }
    var o = c
    store16(o, c00); store16(o + 16, c01); store16(o + 32, c02); o += ldc
    store16(o, c10); store16(o + 16, c11); store16(o + 32, c12); o += ldc
    store16(o, c20); store16(o + 16, c21); store16(o + 32, c22); o += ldc
    store16(o, c30); store16(o + 16, c31); store16(o + 32, c32); o += ldc
    store16(o, c40); store16(o + 16, c41); store16(o + 32, c42); o += ldc
    store16(o, c50); store16(o + 16, c51); store16(o + 32, c52); o += ldc
    store16(o, c60); store16(o + 16, c61); store16(o + 32, c62); o += ldc
    store16(o, c70); store16(o + 16, c71); store16(o + 32, c72)
    guard lo > -.infinity || hi < .infinity else { return }
    for r in 0..<8 {
        let row = c + r * ldc
        for j in 0..<48 { row[j] = Swift.min(Swift.max(row[j], lo), hi) }
    }
}

/// Up to 4 single columns `0..<cols` of an 8-row panel: 8-lane accumulators over the panel's rows, so a
/// leftover column costs a small fraction of a mostly empty 48-wide tile. Each column keeps four partial sums
/// (k mod 4): one chain would wait on the FMA latency every step, and the last column of a 7×7 map would cost
/// a third of the tile beside it.
@inline(never)
func columns8(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int, cols: Int,
              c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>, lo: Float, hi: Float) {
    switch cols {
    case 1: columns8(count: 1, k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc, bias: bias, lo: lo, hi: hi)
    case 2: columns8(count: 2, k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc, bias: bias, lo: lo, hi: hi)
    case 3: columns8(count: 3, k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc, bias: bias, lo: lo, hi: hi)
    default: columns8(count: 4, k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc, bias: bias, lo: lo, hi: hi)
    }
}

/// The body of `columns8` for a `count` known where it is inlined, so the unused columns' work folds away.
@inline(__always)
private func columns8(count: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>, lo: Float, hi: Float) {
    var s = (V8(), V8(), V8(), V8(), V8(), V8(), V8(), V8(), V8(), V8(), V8(), V8(), V8(), V8(), V8(), V8())
    @inline(__always) func step(_ phase: Int, _ ap: UnsafePointer<Float>, _ bp: UnsafePointer<Float>) {
        let w = UnsafeRawPointer(ap).loadUnaligned(as: V8.self)
        switch phase {
        case 0:
            s.0.addProduct(w, V8(repeating: bp[0]))
            if count > 1 { s.1.addProduct(w, V8(repeating: bp[1])) }
            if count > 2 { s.2.addProduct(w, V8(repeating: bp[2])) }
            if count > 3 { s.3.addProduct(w, V8(repeating: bp[3])) }
        case 1:
            s.4.addProduct(w, V8(repeating: bp[0]))
            if count > 1 { s.5.addProduct(w, V8(repeating: bp[1])) }
            if count > 2 { s.6.addProduct(w, V8(repeating: bp[2])) }
            if count > 3 { s.7.addProduct(w, V8(repeating: bp[3])) }
        case 2:
            s.8.addProduct(w, V8(repeating: bp[0]))
            if count > 1 { s.9.addProduct(w, V8(repeating: bp[1])) }
            if count > 2 { s.10.addProduct(w, V8(repeating: bp[2])) }
            if count > 3 { s.11.addProduct(w, V8(repeating: bp[3])) }
        default:
            s.12.addProduct(w, V8(repeating: bp[0]))
            if count > 1 { s.13.addProduct(w, V8(repeating: bp[1])) }
            if count > 2 { s.14.addProduct(w, V8(repeating: bp[2])) }
            if count > 3 { s.15.addProduct(w, V8(repeating: bp[3])) }
        }
    }
    var ap = a, bp = b, kk = 0
    while kk + 4 <= k {
        step(0, ap, bp); step(1, ap + 8, bp + ldb); step(2, ap + 16, bp + 2 * ldb); step(3, ap + 24, bp + 3 * ldb)
        ap += 32; bp += 4 * ldb; kk += 4
    }
    while kk < k {
        step(0, ap, bp)
        ap += 8; bp += ldb; kk += 1
    }
    let start = UnsafeRawPointer(bias).loadUnaligned(as: V8.self)
    let t0 = start + (s.0 + s.4) + (s.8 + s.12), t1 = start + (s.1 + s.5) + (s.9 + s.13)
    let t2 = start + (s.2 + s.6) + (s.10 + s.14), t3 = start + (s.3 + s.7) + (s.11 + s.15)
    for r in 0..<8 {
        let row = c + r * ldc
        row[0] = Swift.min(Swift.max(t0[r], lo), hi)
        if count > 1 { row[1] = Swift.min(Swift.max(t1[r], lo), hi) }
        if count > 2 { row[2] = Swift.min(Swift.max(t2[r], lo), hi) }
        if count > 3 { row[3] = Swift.min(Swift.max(t3[r], lo), hi) }
    }
}
