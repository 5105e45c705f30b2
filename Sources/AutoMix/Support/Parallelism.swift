import Foundation

/// How many threads AutoMix's parallel loops use (decoding, the executors' sub-batches, the analyses): the cores
/// this process may run on, or `AUTOMIX_THREADS`, or what a command's `--threads` sets before any work.
public enum Parallelism {
    /// The cores this process may use (its CPU affinity, so `taskset -c 0` gives 1), read once: every executor run
    /// asks for `workers`.
    public static let cores: Int = {
        // Linux: the affinity mask, "Cpus_allowed:\t00000000,00000003" (hex words) in /proc/self/status
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) {
            let bits = line.dropFirst("Cpus_allowed:".count).compactMap { $0.hexDigitValue }.reduce(0) { $0 + $1.nonzeroBitCount }
            if bits > 0 { return bits }
        }
        return ProcessInfo.processInfo.activeProcessorCount
    }()

    /// `AUTOMIX_THREADS` when it is a count 1…1024, else `cores`.
    static let byDefault: Int = {
        if let text = ProcessInfo.processInfo.environment["AUTOMIX_THREADS"], let n = Int(text), (1...1024).contains(n) { return n }
        return cores
    }()

    nonisolated(unsafe) private static var chosen: Int?

    public static var workers: Int {
        get { chosen ?? byDefault }
        set { chosen = max(1, min(newValue, 1024)) }
    }
}
