import Kernels

/// Columns of the micro-tile: three 16-float vectors.
let tileColumns = 48

/// Floats of scratch `packedGemm` needs for a given `k`: a zero-padded `B` tail (k × 48), a C tile (8 × 48),
/// a partial panel's bias (8) and the float `touch` writes.
public func packedGemmScratchCount(k: Int) -> Int { k * tileColumns + packedPanelRows * tileColumns + packedPanelRows + 1 }

/// `C[m×n] = clamp(bias + A·B, lo, hi)` with `A` packed by `packPanels`, `B[k×n]` and `C` row-major.
///
/// Columns are taken in blocks whose `B` part stays in L2 while every panel of `A` passes over it; within a
/// block each 8×48 tile keeps its 24 accumulators in registers for the whole `k` loop. Leftover columns go to
/// a zero-padded copy (24 or more) or to the single-column kernel (fewer: MobileNetV2's 7×7 and 14×14 maps
/// leave 1 and 4), which wastes far less than a mostly empty tile.
public func packedGemm(m: Int, n: Int, k: Int, packedA: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                       c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>, lo: Float, hi: Float,
                       scratch: UnsafeMutablePointer<Float>) {
    let bTail = scratch, cTile = scratch + k * tileColumns, biasTail = cTile + packedPanelRows * tileColumns
    let touchSink = biasTail + packedPanelRows
    let panels = panelCount(m)
    let blockColumns = max(tileColumns, 65_536 / max(k, 1) / tileColumns * tileColumns)   // 256 KB of B
    var n0 = 0
    while n0 < n {
        let n1 = min(n, n0 + blockColumns)
        let full = (n1 - n0) / tileColumns * tileColumns
        let rest = n1 - n0 - full
        let padded = rest >= tileColumns / 2
        if padded { copyPaddedColumns(b, ldb: ldb, k: k, first: n0 + full, count: rest, width: tileColumns, into: bTail) }
        // few columns per panel (7×7 maps): the panel's weights are used briefly, so fetch the next one early;
        // with more columns the hardware prefetcher keeps up and touching only costs (measured both ways)
        let touchAhead = n1 - n0 <= 2 * tileColumns
        for panel in 0..<panels {
            let ap = packedA + panel * packedPanelRows * k
            if touchAhead && panel + 1 < panels { touch(ap + packedPanelRows * k, count: packedPanelRows * k, sink: touchSink) }
            let rows = min(packedPanelRows, m - panel * packedPanelRows)
            let cPanel = c + panel * packedPanelRows * ldc
            let panelBias = Kernels.panelBias(bias + panel * packedPanelRows, rows: rows, panelRows: packedPanelRows, tail: biasTail)
            // A partial panel computes into the tile buffer and copies its real rows out.
            func emit(_ j: Int, _ width: Int, _ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
                if rows == packedPanelRows { body(cPanel + j, ldc); return }
                body(cTile, tileColumns)
                for r in 0..<rows { (cPanel + r * ldc + j).update(from: cTile + r * tileColumns, count: width) }
            }
            var j = n0
            while j < n0 + full {
                emit(j, tileColumns) { tile8x48(k: k, a: ap, b: b + j, ldb: ldb, c: $0, ldc: $1, bias: panelBias, lo: lo, hi: hi) }
                j += tileColumns
            }
            if rest == 0 { continue }
            if padded {
                tile8x48(k: k, a: ap, b: bTail, ldb: tileColumns, c: cTile, ldc: tileColumns, bias: panelBias, lo: lo, hi: hi)
                for r in 0..<rows { (cPanel + r * ldc + j).update(from: cTile + r * tileColumns, count: rest) }
                continue
            }
            while j < n1 {
                let cols = min(4, n1 - j)
                emit(j, cols) { columns8(k: k, a: ap, b: b + j, ldb: ldb, cols: cols, c: $0, ldc: $1, bias: panelBias, lo: lo, hi: hi) }
                j += cols
            }
        }
        n0 = n1
    }
}

/// Reads one float per cache line of the next panel, so its misses overlap each other and the current panel's
/// arithmetic instead of stalling the tile loop one line at a time (the late 1×1 layers read 1–2 MB of
/// weights once per image). The sum goes to `sink` so the loads are not removed.
@inline(__always)
func touch(_ p: UnsafePointer<Float>, count: Int, sink: UnsafeMutablePointer<Float>) {
    var sum: Float = 0
    var i = 0
    while i < count { sum += p[i]; i += 16 }
    sink.pointee = sum
}
