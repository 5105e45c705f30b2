import COpenBLAS
import Foundation

/// Debian 12's OpenBLAS (0.3.21) does not recognise newer AVX-512 CPUs (this machine's AMD EPYC) and falls back
/// to its Haswell (AVX2) kernels, which run MobileNetV2's 1×1 convolutions about 1.5× slower than its SkylakeX
/// (AVX-512) kernels. The core type is read only when the library loads, before `main`, so the command re-runs
/// itself once with `OPENBLAS_CORETYPE=SkylakeX`. A core type the user sets is left alone.
public enum BLASKernels {
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// Replaces the process with itself under `OPENBLAS_CORETYPE=SkylakeX` when that helps; returns otherwise.
    public static func preferAVX512() {
        #if os(Linux)
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, coreName == "Haswell",
              CPUFeatures.hasAVX512 else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)   // returns only if the exec failed: keep running as is
        unsetenv("OPENBLAS_CORETYPE")
        #endif
    }
}
