#if arch(x86_64)
import Kernels

/// The tile shapes of `int8GemmVNNI`: 8-row panels of 4-byte words, 48- and 16-column tiles.
public let int8VNNIShape = IntegerTileShape(rows: 8, wide: 48, narrow: 16, lanes: .bytes)

/// ESP-DL's int8 Conv/Gemm, exactly, with `vpdpbusd`: `C[r][j] = clamp(shiftRound(bias[r] + Σ_k A[r][k]·B[k][j],
/// shifts[r]))` as float codes. `A` holds int8 weight codes packed by `packIntegerPanels(rows: 8, .bytes)`; `B`
/// holds int8 activation codes as floats, packed block by block as unsigned bytes `x + 128`, so `bias[r]` must
/// already hold `bias − 128·Σ_k A[r][k]`, which cancels the offset.
///
/// Exact: the products are exact, and int32 additions wrap, so the result is right whenever the true
/// `bias + Σ A·B + 2^(shift−1)` fits in int32 (the caller checks the bound); the sums carrying the offset need none.
public func int8GemmVNNI(m: Int, n: Int, k: Int, packedA: UnsafePointer<Int32>, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Int32>, shifts: UnsafePointer<Int32>,
                         _ mode: RoundingMode, lo: Int32, hi: Int32, scratch: UnsafeMutableRawPointer, sink: PanelSink? = nil) {
    integerGemm(m: m, n: n, k: k, shape: int8VNNIShape, wide: tile8x48, narrow: tile8x16, packedA: packedA, b: b, ldb: ldb,
                c: c, ldc: ldc, bias: bias, shifts: shifts, mode, lo: lo, hi: hi, scratch: scratch, sink: sink,
                pack: packIntegerColumnsAVX512)
}
#endif
