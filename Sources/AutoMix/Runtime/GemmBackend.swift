import Foundation
import Kernels
import KernelsAVX512

/// Who multiplies the matrices of Conv (1×1 directly, others after im2col).
///
/// `avx512` and `avx2` are AutoMix's own kernels (512- and 256-bit tiles) on weights packed once per layer, with
/// the bias and a fused Relu/Clip applied as the tile is stored; `openblas` is `cblas_sgemm` followed by a
/// bias/clamp pass. On this machine kind the AVX-512 kernel is about twice as fast as OpenBLAS (0.3.21 runs AVX2
/// kernels on Zen 5), see `automix bench --gemm`. Gemm/MatMul layers and the exact double sums always use OpenBLAS.
public enum GemmBackend: String, Sendable, CaseIterable {
    case avx512, avx2, openBLAS = "openblas"

    /// The fastest kernel this CPU runs: `avx512`, else `avx2` (AVX2 + FMA), else `openblas`; `AUTOMIX_GEMM` names
    /// another one (if this CPU can run it).
    public static let preferred: GemmBackend = {
        if let asked = ProcessInfo.processInfo.environment["AUTOMIX_GEMM"].flatMap(GemmBackend.init(rawValue:)), asked.isAvailable {
            return asked
        }
        return CPUFeatures.hasAVX512 ? .avx512 : CPUFeatures.hasAVX2 ? .avx2 : .openBLAS
    }()

    /// Whether KernelsAVX512's other kernels (the depthwise taps) run with this backend: chosen and runnable here.
    var bringsAVX512Depthwise: Bool { self == .avx512 && isAvailable }

    /// Whether this machine can run the backend (each own kernel faults on a CPU without its instructions).
    public var isAvailable: Bool {
        switch self {
        case .avx512: CPUFeatures.hasAVX512
        case .avx2: CPUFeatures.hasAVX2
        case .openBLAS: true
        }
    }
}

/// The exact integer matrix kernels each backend brings (`IntegerConvKernel`): VNNI's `vpdpbusd`/`vpdpwssd` where the
/// CPU has AVX-512 VNNI, `vpmaddwd` int16 pairs on other AVX2 CPUs, none with `openblas` (the exact sums in float or double).
public enum IntegerKernel: String, Sendable {
    case vnni, pairs256

    /// nil for a backend this CPU cannot run, as `FloatExecutor` falls back to OpenBLAS for it.
    public static func of(_ backend: GemmBackend) -> IntegerKernel? {
        #if arch(x86_64)
        guard backend.isAvailable else { return nil }
        return switch backend {
        case .avx512: CPUFeatures.hasAVX512VNNI ? .vnni : .pairs256
        case .avx2: .pairs256
        case .openBLAS: nil
        }
        #else
        nil
        #endif
    }
}

/// One Conv's weights in the own kernels' panel layout, one block per group; made when the executor is built, so
/// every image reuses them.
struct PackedConvWeights: Sendable {
    let backend: GemmBackend
    let groups: Int
    let rowsPerGroup: Int
    /// Reduction length: input channels per group × kernel taps.
    let k: Int
    let data: [Float]

    /// nil unless `backend` is an own kernel this CPU runs and the Conv is not depthwise (one input channel per
    /// group, which `ConvOp` gives its own kernel).
    init?(conv weights: Tensor, group: Int, backend: GemmBackend) {
        guard backend != .openBLAS, backend.isAvailable, weights.shape.count == 4, weights.shape[1] > 1,
              group >= 1, weights.shape[0] % group == 0 else { return nil }
        self.backend = backend
        let rows = weights.shape[0] / group, k = weights.shape.dropFirst().reduce(1, *)
        groups = group
        rowsPerGroup = rows
        self.k = k
        let panelRows = backend == .avx512 ? packedPanelRows : packed256PanelRows
        let perGroup = packedCount(m: rows, k: k, rows: panelRows)
        var packed = [Float](repeating: 0, count: perGroup * group)
        weights.data.withUnsafeBufferPointer { w in
            packed.withUnsafeMutableBufferPointer { p in
                for g in 0..<group {
                    packPanels(m: rows, k: k, a: w.baseAddress! + g * rows * k, lda: k,
                               into: p.baseAddress! + g * perGroup, rows: panelRows)
                }
            }
        }
        data = packed
    }

    /// `out = clamp(bias + W_g · cols)` for group `g`: `cols` is `[k × n]`, `out` `[rowsPerGroup × n]`.
    func multiply(group g: Int, cols: UnsafePointer<Float>, n: Int, out: UnsafeMutablePointer<Float>,
                  bias: UnsafePointer<Float>, lo: Float, hi: Float, scratch: UnsafeMutablePointer<Float>) {
        data.withUnsafeBufferPointer { p in
            let a = p.baseAddress! + g * (data.count / groups)
            if backend == .avx512 {
                packedGemm(m: rowsPerGroup, n: n, k: k, packedA: a, b: cols, ldb: n, c: out, ldc: n, bias: bias, lo: lo, hi: hi, scratch: scratch)
            } else {
                packedGemm256(m: rowsPerGroup, n: n, k: k, packedA: a, b: cols, ldb: n, c: out, ldc: n, bias: bias, lo: lo, hi: hi, scratch: scratch)
            }
        }
    }

    var scratchCount: Int { backend == .avx512 ? packedGemmScratchCount(k: k) : packedGemm256ScratchCount(k: k) }
}
