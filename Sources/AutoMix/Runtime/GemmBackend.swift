import Foundation
import KernelsAVX512

/// Who multiplies the matrices of Conv (1×1 directly, others after im2col).
///
/// `avx512` is AutoMix's own kernel on weights packed once per layer, with the bias and a fused Relu/Clip
/// applied as the tile is stored; `openblas` is `cblas_sgemm` followed by a bias/clamp pass. On this machine
/// kind the own kernel is about twice as fast (OpenBLAS 0.3.21 runs AVX2 kernels on Zen 5), see
/// `automix bench --gemm openblas`. Gemm/MatMul layers and the exact double sums always use OpenBLAS.
public enum GemmBackend: String, Sendable, CaseIterable {
    case avx512, openBLAS = "openblas"

    /// `avx512` when the CPU has it, unless `AUTOMIX_GEMM=openblas` asks for the portable path.
    public static let preferred: GemmBackend = {
        if ProcessInfo.processInfo.environment["AUTOMIX_GEMM"] == GemmBackend.openBLAS.rawValue { return .openBLAS }
        return CPUFeatures.hasAVX512 ? .avx512 : .openBLAS
    }()

    /// Whether this machine can run the backend (the AVX-512 kernel faults without AVX-512).
    public var isAvailable: Bool { self == .openBLAS || CPUFeatures.hasAVX512 }
}

/// One Conv's weights in the AVX-512 kernel's panel layout, one block per group; made when the executor is
/// built, so every image reuses them.
struct PackedConvWeights: Sendable {
    let groups: Int
    let rowsPerGroup: Int
    /// Reduction length: input channels per group × kernel taps.
    let k: Int
    let data: [Float]

    /// nil unless `backend` is `avx512` and the Conv is not depthwise (one input channel per group, which
    /// `ConvOp` gives its own kernel).
    init?(conv weights: Tensor, group: Int, backend: GemmBackend) {
        guard backend == .avx512, backend.isAvailable, weights.shape.count == 4, weights.shape[1] > 1,
              group >= 1, weights.shape[0] % group == 0 else { return nil }
        let rows = weights.shape[0] / group, k = weights.shape.dropFirst().reduce(1, *)
        groups = group
        rowsPerGroup = rows
        self.k = k
        let perGroup = packedCount(m: rows, k: k)
        var packed = [Float](repeating: 0, count: perGroup * group)
        weights.data.withUnsafeBufferPointer { w in
            packed.withUnsafeMutableBufferPointer { p in
                for g in 0..<group {
                    packPanels(m: rows, k: k, a: w.baseAddress! + g * rows * k, lda: k,
                               into: p.baseAddress! + g * perGroup)
                }
            }
        }
        data = packed
    }

    /// `out = clamp(bias + W_g · cols)` for group `g`: `cols` is `[k × n]`, `out` `[rowsPerGroup × n]`.
    func multiply(group g: Int, cols: UnsafePointer<Float>, n: Int, out: UnsafeMutablePointer<Float>,
                  bias: UnsafePointer<Float>, lo: Float, hi: Float, scratch: UnsafeMutablePointer<Float>) {
        data.withUnsafeBufferPointer { p in
            packedGemm(m: rowsPerGroup, n: n, k: k, packedA: p.baseAddress! + g * packedCount(m: rowsPerGroup, k: k),
                       b: cols, ldb: n, c: out, ldc: n, bias: bias, lo: lo, hi: hi, scratch: scratch)
        }
    }

    var scratchCount: Int { packedGemmScratchCount(k: k) }
}
