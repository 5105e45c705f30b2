/// Conv's matrix product on weights packed once per layer: the panel layout both packed kernels read (8-row panels
/// for the 512-bit kernel, 6-row for the 256-bit one), and the 256-bit kernel (AVX2 + FMA, the `haswell` baseline this target is built for; portable SIMD elsewhere). The
/// 512-bit kernel is `KernelsAVX512.packedGemm`.

/// Rows per panel of packed weights: the micro-tile's height.
public let packedPanelRows = 8

/// Rows per panel of the 256-bit kernel: 6 rows × 16 columns keep 12 accumulators in the 16 AVX2 registers.
public let packed256PanelRows = 6

/// `rows`-row panels holding `m` rows (the last one zero-padded).
public func panelCount(_ m: Int, rows: Int = packedPanelRows) -> Int { (m + rows - 1) / rows }

/// Floats needed to pack an `m × k` matrix: whole `rows`-row panels (zero rows past `m`).
public func packedCount(m: Int, k: Int, rows: Int = packedPanelRows) -> Int { panelCount(m, rows: rows) * rows * k }

/// Packs row-major `A[m×k]` into `rows`-row panels stored k-major (`panel[kk·rows + r]`), so a micro-tile reads
/// its weights of one `kk` as consecutive floats. Weights are constant, so this is done once per layer.
public func packPanels(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, into p: UnsafeMutablePointer<Float>,
                       rows: Int = packedPanelRows) {
    for panel in 0..<panelCount(m, rows: rows) {
        let base = p + panel * rows * k
        for r in 0..<rows {
            let row = panel * rows + r
            if row < m {
                for kk in 0..<k { base[kk * rows + r] = a[row * lda + kk] }
            } else {
                for kk in 0..<k { base[kk * rows + r] = 0 }
            }
        }
    }
}

/// Copies columns `first..<first + count` of the `k` rows of `B` into rows of `width` floats, zero-padded, so a full
/// tile can run over the last columns of a block.
@inline(__always)
public func copyPaddedColumns(_ b: UnsafePointer<Float>, ldb: Int, k: Int, first: Int, count: Int, width: Int,
                              into d: UnsafeMutablePointer<Float>) {
    for kk in 0..<k {
        let row = d + kk * width
        row.update(from: b + kk * ldb + first, count: count)
        (row + count).update(repeating: 0, count: width - count)
    }
}

/// The bias of a panel of `panelRows` rows of which only `rows` are real: the bias itself when the panel is whole,
/// else its real rows copied into `tail` and zero-padded.
@inline(__always)
public func panelBias(_ bias: UnsafePointer<Float>, rows: Int, panelRows: Int, tail: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
    guard rows < panelRows else { return bias }
    for r in 0..<panelRows { tail[r] = r < rows ? bias[r] : 0 }
    return UnsafePointer(tail)
}

/// Columns of the 256-bit micro-tile: two 8-float vectors.
let tile256Columns = 16

/// Floats of scratch `packedGemm256` needs for a given `k`: a zero-padded `B` tail (k × 16), a C tile (6 × 16)
/// and a partial panel's bias (6).
public func packedGemm256ScratchCount(k: Int) -> Int { k * tile256Columns + packed256PanelRows * tile256Columns + packed256PanelRows }

/// `C[m×n] = clamp(bias + A·B, lo, hi)` with `A` packed by `packPanels(rows: packed256PanelRows)`, `B[k×n]` and
/// `C` row-major, in 6×16 tiles. Columns go in blocks whose `B` part stays in L2 while every panel of `A` passes
/// over it; the last columns of a block (fewer than 16) go through a zero-padded copy of `B`, 8 wide (`tile6x8`)
/// for up to 8 of them.
public func packedGemm256(m: Int, n: Int, k: Int, packedA: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                          c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>, lo: Float, hi: Float,
                          scratch: UnsafeMutablePointer<Float>) {
    let rowsPerPanel = packed256PanelRows
    let bTail = scratch, cTile = scratch + k * tile256Columns, biasTail = cTile + rowsPerPanel * tile256Columns
    let panels = panelCount(m, rows: rowsPerPanel)
    let blockColumns = max(tile256Columns, 65_536 / max(k, 1) / tile256Columns * tile256Columns)   // 256 KB of B
    var n0 = 0
    while n0 < n {
        let n1 = min(n, n0 + blockColumns)
        let full = (n1 - n0) / tile256Columns * tile256Columns
        let rest = n1 - n0 - full
        // up to 8 last columns (7×7 maps leave 1, 14×14 ones 4) take the 8-wide tile: half the work of a padded 16
        let restWidth = rest <= tile256Columns / 2 ? tile256Columns / 2 : tile256Columns
        if rest > 0 { copyPaddedColumns(b, ldb: ldb, k: k, first: n0 + full, count: rest, width: restWidth, into: bTail) }
        for panel in 0..<panels {
            let ap = packedA + panel * rowsPerPanel * k
            let rows = min(rowsPerPanel, m - panel * rowsPerPanel)
            let cPanel = c + panel * rowsPerPanel * ldc
            let panelBias = Kernels.panelBias(bias + panel * rowsPerPanel, rows: rows, panelRows: rowsPerPanel, tail: biasTail)
            var j = n0
            while j < n0 + full {
                if rows == rowsPerPanel {
                    tile6x16(k: k, a: ap, b: b + j, ldb: ldb, c: cPanel + j, ldc: ldc, bias: panelBias, lo: lo, hi: hi)
                } else {
                    tile6x16(k: k, a: ap, b: b + j, ldb: ldb, c: cTile, ldc: tile256Columns, bias: panelBias, lo: lo, hi: hi)
                    for r in 0..<rows { (cPanel + r * ldc + j).update(from: cTile + r * tile256Columns, count: tile256Columns) }
                }
                j += tile256Columns
            }
            if rest > 0 {
                if restWidth < tile256Columns {
                    tile6x8(k: k, a: ap, b: bTail, c: cTile, ldc: tile256Columns, bias: panelBias, lo: lo, hi: hi)
                } else {
                    tile6x16(k: k, a: ap, b: bTail, ldb: tile256Columns, c: cTile, ldc: tile256Columns, bias: panelBias, lo: lo, hi: hi)
                }
                for r in 0..<rows { (cPanel + r * ldc + j).update(from: cTile + r * tile256Columns, count: rest) }
            }
        }
        n0 = n1
    }
}

/// The micro-tile: 6 rows × 16 columns, `c[r][j] = clamp(bias[r] + Σ_kk a[kk·6 + r]·b[kk·ldb + j])`. 12
/// accumulators, 2 vectors of `B` and one broadcast weight fill 15 of the 16 AVX2 registers; each `k` step issues
/// 12 FMAs for 2 loads and 6 broadcasts (the shape of BLIS's Haswell kernel).
@inline(never)
func tile6x16(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
              c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>, lo: Float, hi: Float) {
    typealias V8 = SIMD8<Float>
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> V8 { UnsafeRawPointer(p).loadUnaligned(as: V8.self) }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>, _ v: V8) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V8.self) }
    var c00 = V8(repeating: bias[0]), c01 = c00
    var c10 = V8(repeating: bias[1]), c11 = c10
    var c20 = V8(repeating: bias[2]), c21 = c20
    var c30 = V8(repeating: bias[3]), c31 = c30
    var c40 = V8(repeating: bias[4]), c41 = c40
    var c50 = V8(repeating: bias[5]), c51 = c50
    var ap = a, bp = b
    for _ in 0..<k {
        let b0 = load(bp), b1 = load(bp + 8)
        var w = V8(repeating: ap[0]); c00.addProduct(w, b0); c01.addProduct(w, b1)
        w = V8(repeating: ap[1]); c10.addProduct(w, b0); c11.addProduct(w, b1)
        w = V8(repeating: ap[2]); c20.addProduct(w, b0); c21.addProduct(w, b1)
        w = V8(repeating: ap[3]); c30.addProduct(w, b0); c31.addProduct(w, b1)
        w = V8(repeating: ap[4]); c40.addProduct(w, b0); c41.addProduct(w, b1)
        w = V8(repeating: ap[5]); c50.addProduct(w, b0); c51.addProduct(w, b1)
        ap += 6; bp += ldb
    }
    var o = c
    store(o, c00); store(o + 8, c01); o += ldc
    store(o, c10); store(o + 8, c11); o += ldc
    store(o, c20); store(o + 8, c21); o += ldc
    store(o, c30); store(o + 8, c31); o += ldc
    store(o, c40); store(o + 8, c41); o += ldc
    store(o, c50); store(o + 8, c51)
    clampStored(c, ldc: ldc, rows: 6, columns: 16, lo: lo, hi: hi)
}

/// `c[r][j] = min(max(c[r][j], lo), hi)` over a stored tile, skipped when there are no bounds: the 256-bit tiles'
/// clamp, run after their stores.
@inline(__always)
func clampStored(_ c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, lo: Float, hi: Float) {
    guard lo > -.infinity || hi < .infinity else { return }
    for r in 0..<rows {
        let out = c + r * ldc
        for j in 0..<columns { out[j] = Swift.min(Swift.max(out[j], lo), hi) }
    }
}

/// 6 rows × 8 columns over a padded `B` of 8-float rows, for the last 1–8 columns of a block:
/// `c[r][j] = clamp(bias[r] + Σ_kk a[kk·6 + r]·b[kk·8 + j])`, the tile above's sums in the same order.
@inline(never)
func tile6x8(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
             c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>, lo: Float, hi: Float) {
    typealias V8 = SIMD8<Float>
    var c0 = V8(repeating: bias[0]), c1 = V8(repeating: bias[1]), c2 = V8(repeating: bias[2])
    var c3 = V8(repeating: bias[3]), c4 = V8(repeating: bias[4]), c5 = V8(repeating: bias[5])
    var ap = a, bp = b
    for _ in 0..<k {
        let b0 = UnsafeRawPointer(bp).loadUnaligned(as: V8.self)
        c0.addProduct(V8(repeating: ap[0]), b0); c1.addProduct(V8(repeating: ap[1]), b0)
        c2.addProduct(V8(repeating: ap[2]), b0); c3.addProduct(V8(repeating: ap[3]), b0)
        c4.addProduct(V8(repeating: ap[4]), b0); c5.addProduct(V8(repeating: ap[5]), b0)
        ap += 6; bp += 8
    }
    @inline(__always) func store(_ r: Int, _ v: V8) { UnsafeMutableRawPointer(c + r * ldc).storeBytes(of: v, as: V8.self) }
    store(0, c0); store(1, c1); store(2, c2); store(3, c3); store(4, c4); store(5, c5)
    clampStored(c, ldc: ldc, rows: 6, columns: 8, lo: lo, hi: hi)
}
