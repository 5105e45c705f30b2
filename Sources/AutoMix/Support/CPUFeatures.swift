import Foundation

/// What the CPU can run, read once from /proc/cpuinfo (empty elsewhere, which selects the portable paths).
public enum CPUFeatures {
    public static let flags: Set<String> = {
        guard let line = flagLine() else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }()

    /// AVX-512 F/CD/BW/DQ/VL: the `skylake-avx512` set that `KernelsAVX512` is compiled for.
    public static var hasAVX512: Bool {
        ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
    }

    /// AVX-512 plus VNNI (`vpdpbusd`): the `cascadelake` set that `KernelsVNNI` is compiled for.
    public static var hasAVX512VNNI: Bool { hasAVX512 && flags.contains("avx512_vnni") }

    /// AVX2 + FMA: the `haswell` baseline the `Kernels` target is compiled for on x86-64.
    public static var hasAVX2: Bool { ["avx2", "fma"].allSatisfy(flags.contains) }

    /// The first `flags` line of /proc/cpuinfo (read line by line: the file reports a size of 0).
    static func flagLine() -> String? {
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
