/// The driver of the exact int16 matrix kernels (`int16GemmVNNI`, `int16Gemm256`). An int16 weight is split into
/// `w = 256·wh + wl` with `wl` in −128…127 and `wh` in −128…128, so each product with an int16 activation is at most
/// 2^22 and `vpdpwssd`/`vpmaddwd` can sum them in int32: a panel holds the `wh` rows of its real rows, then their `wl`
/// rows (`packIntegerPanels` of the split matrix, `.pairs`). Sums are taken over chunks of `int16ChunkWords` words,
/// below 2^31 each, and gathered exactly in doubles as `256·Σx·wh + Σx·wl`; the epilogue is the double one of the
/// other exact paths: `clamp(round((Σ + bias)·2^-shift))`.
///
/// Exact: a chunk's sums are below 2^31 (proof at `int16ChunkWords`), and every double is an integer below 2^53
/// (`k · 2^30` for any `k` below 2^22).
public typealias IntegerSumTile = (_ words: Int, _ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>, _ ldb: Int,
                                   _ c: UnsafeMutablePointer<Int32>, _ ldc: Int) -> Void

/// A tile that finishes a single chunk's sums itself, in registers: `rows` real rows (at most half the panel's) and
/// `cols` columns of `clamp(round((256·Σx·wh + Σx·wl + bias)·scale))` written to `c` as float codes; `bias` and
/// `scales` from the panel's first real row.
public typealias Int16CodesTile = (_ words: Int, _ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>, _ ldb: Int,
                                   _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ rows: Int, _ cols: Int,
                                   _ bias: UnsafePointer<Double>, _ scales: UnsafePointer<Double>, _ mode: RoundingMode,
                                   _ lo: Float, _ hi: Float) -> Void

/// Runs a codes tile's stores straight into `c` when the tile is whole in columns, else into a local tile
/// (`rows` ≤ 4 of `span` ≤ 48 columns) copied out after.
@inlinable @inline(__always)
public func withInt16CodesTile(_ c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int, span: Int,
                               _ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
    if cols == span { return body(c, ldc) }
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * span) { tile in
        body(tile.baseAddress!, span)
        for r in 0..<rows { (c + r * ldc).update(from: tile.baseAddress! + r * span, count: cols) }
    }
}

/// Words (int16 pairs) per chunk: a pair of products `x·wh` or `x·wl` is at most `2·32768·128 = 2^23`, and 255 of
/// them sum to at most 2,139,095,040 < 2^31 − 1. MobileNetV2's longest reduction (960) takes two chunks.
public let int16ChunkWords = 255

/// Splits int16 weight codes `A[m×k]` into the `rows`-row panel order `int16Gemm` reads: panel `p`'s rows are
/// `wh` of real rows `p·rows/2 …`, then their `wl`; returned as float codes for `packIntegerPanels`.
public func splitInt16Rows(m: Int, k: Int, codes a: UnsafePointer<Float>, rows: Int) -> [Float] {
    let half = rows / 2, panels = panelCount(m, rows: half)
    var split = [Float](repeating: 0, count: panels * rows * k)
    for p in 0..<panels {
        for r in 0..<half where p * half + r < m {
            for kk in 0..<k {
                let w = Int32(a[(p * half + r) * k + kk])
                let low = (w + 128) & 255 - 128   // w − low is a multiple of 256
                split[(p * rows + r) * k + kk] = Float((w - low) >> 8)
                split[(p * rows + half + r) * k + kk] = Float(low)
            }
        }
    }
    return split
}

/// Bytes of scratch `int16Gemm` needs: a packed block of `B` (`streaming`: of all `n` columns, see `PanelSink`), a tile
/// of int32 sums and a tile of double totals.
public func int16GemmScratchBytes(_ shape: IntegerTileShape, k: Int, n: Int, streaming: Bool = false) -> Int {
    shape.scratchBytes(k: k, n: n, streaming: streaming) + shape.rows / 2 * shape.wide * 8
}

/// `C[m×n]` (float codes) from split weights packed as above and the int16 float codes `B[k×n]`; `bias` and `scales`
/// (`2^-shift`) per real row. `codes`, when given, takes the tiles of single-chunk products (`k` up to
/// `2·int16ChunkWords`), finishing them in registers. `pack` and `sink` as in `integerGemm`: with `sink`, one block of `B`, and `c`
/// holds one panel (`rows / 2` real rows).
public func int16Gemm(m: Int, n: Int, k: Int, shape: IntegerTileShape, wide: IntegerSumTile, narrow: IntegerSumTile,
                      codes: (wide: Int16CodesTile, narrow: Int16CodesTile)? = nil,
                      packedA: UnsafePointer<Int32>, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                      bias: UnsafePointer<Double>, scales: UnsafePointer<Double>, _ mode: RoundingMode, lo: Double, hi: Double,
                      scratch: UnsafeMutableRawPointer, sink: PanelSink? = nil, pack: IntegerColumnPacker = packIntegerColumns) {
    let words = shape.lanes.words(k), half = shape.rows / 2
    let block = shape.blockColumns(k: k, n: n, streaming: sink != nil)
    let packedB = scratch.assumingMemoryBound(to: Int32.self)
    let sums = (scratch + words * block * 4).assumingMemoryBound(to: Int32.self)
    let totals = (scratch + words * block * 4 + shape.rows * shape.wide * 4).assumingMemoryBound(to: Double.self)
    var n0 = 0
    while n0 < n {
        let width = min(block, n - n0)
        let padded = (width + shape.narrow - 1) / shape.narrow * shape.narrow
        pack(b, ldb, k, n0, width, padded, .pairs, packedB)
        for panel in 0..<panelCount(m, rows: half) {
            let ap = packedA + panel * shape.rows * words
            let rows = min(half, m - panel * half)
            // the panel's first real row in `c`: its own, or the top of the one-panel buffer when streaming
            let cRow0 = sink == nil ? panel * half : 0
            var j = 0
            while j < width {
                let useWide = width - j > shape.wide - shape.narrow
                let span = useWide ? shape.wide : shape.narrow
                let cols = min(span, width - j)
                if words <= int16ChunkWords, let codes {
                    let first = panel * half
                    (useWide ? codes.wide : codes.narrow)(words, ap, packedB + j, padded, c + cRow0 * ldc + n0 + j, ldc, rows, cols,
                                                          bias + first, scales + first, mode, Float(lo), Float(hi))
                    j += span
                    continue
                }
                totals.update(repeating: 0, count: half * span)
                var w0 = 0
                while w0 < words {
                    let chunk = min(int16ChunkWords, words - w0)
                    (useWide ? wide : narrow)(chunk, ap + w0 * shape.rows, packedB + w0 * padded + j, padded, sums, span)
                    for r in 0..<rows { gather(sums + r * span, sums + (half + r) * span, into: totals + r * span, count: span) }
                    w0 += chunk
                }
                for r in 0..<rows {
                    let row = panel * half + r
                    finish(totals + r * span, count: cols, bias: bias[row], scale: scales[row], mode, lo: Float(lo), hi: Float(hi),
                           c + (cRow0 + r) * ldc + n0 + j)
                }
                j += span
            }
            sink?(panel * half, rows)
        }
        n0 += width
    }
}

/// `total += 256·high + low`, 8 lanes at a time (`count` is a multiple of 8: tiles are 8 or more columns wide).
@inline(__always)
private func gather(_ high: UnsafePointer<Int32>, _ low: UnsafePointer<Int32>, into total: UnsafeMutablePointer<Double>, count: Int) {
    typealias D = SIMD8<Double>
    typealias I = SIMD8<Int32>
    var j = 0
    while j < count {
        let h = UnsafeRawPointer(high + j).loadUnaligned(as: I.self), l = UnsafeRawPointer(low + j).loadUnaligned(as: I.self)
        var hd = D(), ld = D()
        for t in 0..<8 { hd[t] = Double(h[t]); ld[t] = Double(l[t]) }
        let p = UnsafeMutableRawPointer(total + j)
        p.storeBytes(of: p.load(as: D.self) + 256 * hd + ld, as: D.self)
        j += 8
    }
}

/// `out = clamp(round((total + bias)·scale))` as float codes; the saturation on floats (monotone conversion, exact
/// bounds), because the mask operations of `SIMD8<Double>` leave vector registers.
@inline(__always)
private func finish(_ total: UnsafePointer<Double>, count: Int, bias: Double, scale: Double, _ mode: RoundingMode, lo: Float, hi: Float,
                    _ out: UnsafeMutablePointer<Float>) {
    typealias D = SIMD8<Double>
    typealias F = SIMD8<Float>
    let b = D(repeating: bias), s = D(repeating: scale), l = F(repeating: lo), h = F(repeating: hi)
    var j = 0
    while j + 8 <= count {
        let v = (UnsafeRawPointer(total + j).loadUnaligned(as: D.self) + b) * s
        UnsafeMutableRawPointer(out + j).storeBytes(of: roundedCodes(v, mode, lo: l, hi: h), as: F.self)
        j += 8
    }
    while j < count {
        out[j] = roundedCode((total[j] + bias) * scale, mode, lo: lo, hi: hi)
        j += 1
    }
}
