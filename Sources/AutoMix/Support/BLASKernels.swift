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
              let flagLine = cpuFlagLine() else { return }
        let flags = Set(flagLine.split(separator: " ").map(String.init))
        guard ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)   // returns only if the exec failed: keep running as is
        unsetenv("OPENBLAS_CORETYPE")
        #endif
    }

    /// The first `flags` line of /proc/cpuinfo (read line by line: the file reports a size of 0).
    public static func cpuFlagLine() -> String? {
        guard let f = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, f) > 0 {
            let text = String(cString: line!)
            if text.hasPrefix("flags") { return text.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        return nil
    }
}
