/// The driver of the exact integer matrix kernels (`int8GemmVNNI` in KernelsVNNI, `int8Gemm256` here): it packs
/// `B` block by block and runs a micro-tile over every panel; the tiles do the arithmetic.
///
/// Every tile computes `c[r][j] = shiftRoundClamped(bias[r] + Σ_w a[w·rows + r] ⋅ b[w·ldb + j], shifts[r])` over
/// `words` packed words, and stores float codes.
public typealias IntegerTile = (_ words: Int, _ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>, _ ldb: Int,
                                _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ bias: UnsafePointer<Int32>,
                                _ shifts: UnsafePointer<Int32>, _ mode: RoundingMode, _ lo: Int32, _ hi: Int32) -> Void

/// A kernel's tile shapes: `rows` per panel; a `wide` tile and a `narrow` one for the last columns of a block.
public struct IntegerTileShape: Sendable {
    public let rows: Int, wide: Int, narrow: Int
    public let lanes: IntegerLanes
    public init(rows: Int, wide: Int, narrow: Int, lanes: IntegerLanes) {
        self.rows = rows; self.wide = wide; self.narrow = narrow; self.lanes = lanes
    }

    /// Columns per block: its packed `B` (the words of every `k`) stays in L2 (256 KB) while every panel passes
    /// over it; never wider than `n` rounded up to a wide tile, which `streaming` takes whole (see `PanelSink`).
    public func blockColumns(k: Int, n: Int, streaming: Bool = false) -> Int {
        let whole = (n + wide - 1) / wide * wide
        return streaming ? whole : min(max(wide, 262_144 / max(lanes.words(k) * 4, 1) / wide * wide), whole)
    }

    /// Bytes of scratch `integerGemm` needs: one packed block of `B` and a C tile; `streaming`: all `n` columns in
    /// one block (see `PanelSink`).
    public func scratchBytes(k: Int, n: Int, streaming: Bool = false) -> Int {
        lanes.words(k) * blockColumns(k: k, n: n, streaming: streaming) * 4 + rows * wide * 4
    }
}

/// What a streaming `integerGemm` hands on: every panel's rows are written to the same `rows × ldc` buffer `c`, and
/// `(firstRow, rows)` is called once they are complete, while they are still in cache, so the next layer can take
/// them from there (the expand Conv and its depthwise Conv: `C` is never written whole).
public typealias PanelSink = (_ firstRow: Int, _ rows: Int) -> Void

/// `C[m×n]` (row-major float codes, `ldc`) from weights packed by `packIntegerPanels(rows: shape.rows, shape.lanes)`
/// and the float codes `B[k×n]` (`ldb`). `bias` and `shifts` hold a value for every row of every panel.
/// `pack` packs each block of `B`. With `sink`, `B` is packed in one block (`scratchBytes(streaming: true)`) and `c` holds one panel (see `PanelSink`).
public func integerGemm(m: Int, n: Int, k: Int, shape: IntegerTileShape, wide: IntegerTile, narrow: IntegerTile,
                        packedA: UnsafePointer<Int32>, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                        bias: UnsafePointer<Int32>, shifts: UnsafePointer<Int32>, _ mode: RoundingMode, lo: Int32, hi: Int32,
                        scratch: UnsafeMutableRawPointer, sink: PanelSink? = nil, pack: IntegerColumnPacker = packIntegerColumns) {
    let words = shape.lanes.words(k)
    let block = shape.blockColumns(k: k, n: n, streaming: sink != nil)
    let packedB = scratch.assumingMemoryBound(to: Int32.self)
    let cTile = (scratch + words * block * 4).assumingMemoryBound(to: Float.self)
    var n0 = 0
    while n0 < n {
        let width = min(block, n - n0)
        let padded = (width + shape.narrow - 1) / shape.narrow * shape.narrow
        pack(b, ldb, k, n0, width, padded, shape.lanes, packedB)
        for panel in 0..<panelCount(m, rows: shape.rows) {
            let ap = packedA + panel * shape.rows * words
            let rows = min(shape.rows, m - panel * shape.rows)
            let cPanel = c + (sink == nil ? panel * shape.rows * ldc : 0) + n0
            let pb = bias + panel * shape.rows, ps = shifts + panel * shape.rows
            var j = 0
            while j < width {
                // wide tiles while they are mostly full, then narrow ones (a 7×7 map leaves one column)
                let useWide = width - j > shape.wide - shape.narrow
                let span = useWide ? shape.wide : shape.narrow
                let cols = min(span, width - j)
                let direct = rows == shape.rows && cols == span
                let out = direct ? cPanel + j : cTile, ldo = direct ? ldc : span
                (useWide ? wide : narrow)(words, ap, packedB + j, padded, out, ldo, pb, ps, mode, lo, hi)
                if !direct {
                    for r in 0..<rows { (cPanel + r * ldc + j).update(from: cTile + r * span, count: cols) }
                }
                j += span
            }
            sink?(panel * shape.rows, rows)
        }
        n0 += width
    }
}
