import Foundation

/// How a power-of-two exponent is chosen from calibration statistics
/// (shared/specs/espdl-format-and-quantization.md §2.2; IFMR: amct-accuracy-based-calibration.md §3.1).
public enum Observer: String, CaseIterable, Sendable, Codable {
    /// `2^ceil(log2(2·absmax / (2^bits − 1)))`: never clips.
    case minmax
    /// minmax over the 0.9999 percentiles, averaged over batches.
    case percentile
    /// TensorRT-style KL divergence on a 4096-bin |x| histogram, `2^round(log2 s)` (ESP-PPQ's 8-bit default).
    case kl
    /// The exponent with the least expected squared error over the histogram.
    case mse
    /// AMCT's IFMR: clip candidates 0.70…1.29 × the 0.999999 percentile, least squared error; here over the histogram.
    case ifmr
}

/// What calibration keeps of one value: its range, per-batch percentiles and a histogram of |x| over
/// [0, absmax], enough to derive an exponent with any observer at any bit width without another pass.
public struct ValueStatistics: Sendable, Codable, Equatable {
    public static let histogramBins = 4096
    public static let percentile = 0.9999

    public var min: Float = .infinity
    public var max: Float = -.infinity
    /// Sums over batches of the lower and upper 0.9999 percentiles, and the batch count.
    public var percentileLow = 0.0, percentileHigh = 0.0
    public var batches = 0
    /// |x| counts over [0, absmax] (filled by the second calibration pass).
    public var histogram: [Int] = []

    public var absmax: Float { Swift.max(abs(Swift.min(min, 0)), Swift.max(max, 0)) }

    static func minmaxExponent(absmax: Double, bits: Int) -> Int {
        let s = Swift.max(2 * absmax / Double((1 << bits) - 1), 1e-8)
        return Int(log2(s).rounded(.up))
    }

    public func exponent(_ observer: Observer, bits: Int) -> Int {
        let absmax = Double(self.absmax)
        switch observer {
        case .minmax:
            return Self.minmaxExponent(absmax: absmax, bits: bits)
        case .percentile:
            guard batches > 0 else { return Self.minmaxExponent(absmax: absmax, bits: bits) }
            let lo = Swift.min(percentileLow / Double(batches), 0), hi = Swift.max(percentileHigh / Double(batches), 0)
            return Self.minmaxExponent(absmax: Swift.max(-lo, hi), bits: bits)
        case .kl:
            // the 1M-bin 16-bit KL of ESP-PPQ is not kept; minmax is its 16-bit default anyway
            guard bits == 8, histogram.count == Self.histogramBins, absmax > 0 else {
                return Self.minmaxExponent(absmax: absmax, bits: bits)
            }
            let binWidth = absmax / Double(Self.histogramBins)
            let best = klBestRange(quantBins: 1 << (bits - 1))
            let s = Swift.max(Double(best) * binWidth / Double(1 << (bits - 1)), 1e-8)
            return Int((log2(s) + 0.5).rounded(.down))
        case .mse:
            let top = Self.minmaxExponent(absmax: absmax, bits: bits)
            return leastSquaredError(candidates: Array((top - 6)...top), bits: bits)
        case .ifmr:
            guard !histogram.isEmpty, absmax > 0 else { return Self.minmaxExponent(absmax: absmax, bits: bits) }
            let clip = histogramQuantile(0.999999)
            let candidates = Set(stride(from: 0.70, to: 1.30, by: 0.01).map { r in
                Self.minmaxExponent(absmax: clip * r * Double((1 << bits) - 1) / Double((1 << bits) - 2), bits: bits)
            })
            return leastSquaredError(candidates: candidates.sorted(), bits: bits)
        }
    }

    /// ESP-PPQ's KL search: the clip range (in bins) whose quantized histogram diverges least from the original.
    func klBestRange(quantBins: Int) -> Int {
        let bins = histogram.count
        var h = histogram.map { Double($0) }
        let floorBin = Int(Double(bins) * 0.002)
        for i in 0..<floorBin { h[i] = 0 }
        h[floorBin] = 1
        let total = h.reduce(0, +)
        var suffix = [Double](repeating: 0, count: bins + 1)
        for i in stride(from: bins - 1, through: 0, by: -1) { suffix[i] = suffix[i + 1] + h[i] }
        var best = (kl: Double.infinity, range: quantBins)
        for range in stride(from: quantBins, through: bins, by: quantBins) {
            let ratio = range / quantBins
            // p: the histogram clipped at `range`, outliers folded into the last bin (float32, as torch holds it)
            var p = (0..<range).map { Float(h[$0]) }
            p[range - 1] = Float(h[range - 1] + suffix[range])
            p = p.map { $0 / Float(total) }
            // q: each group of `ratio` bins spread evenly over its non-empty bins
            var q = [Float](repeating: 0, count: range)
            for g in 0..<quantBins {
                let group = (g * ratio)..<((g + 1) * ratio)
                let nonEmpty = group.filter { h[$0] > 0 }.count
                let mean = Float(group.reduce(0.0) { $0 + h[$1] }) / Float(Swift.max(nonEmpty, 1))
                for i in group where h[i] > 0 { q[i] = mean }
            }
            let qSum = q.reduce(0, +)
            var kl = 0.0
            for i in 0..<range {
                let pi = Double(p[i]), qi = Double(q[i] / qSum)
                kl += pi * (log10(pi + 1e-30) - log10(qi + 1e-30))
            }
            if kl < best.kl { best = (kl, range) }
        }
        return best.range
    }

    /// The |x| below which a fraction `q` of the histogram lies (bin upper edge).
    func histogramQuantile(_ q: Double) -> Double {
        let total = Double(histogram.reduce(0, +))
        let width = Double(absmax) / Double(histogram.count)
        var seen = 0.0
        for (i, c) in histogram.enumerated() {
            seen += Double(c)
            if seen >= q * total { return Double(i + 1) * width }
        }
        return Double(absmax)
    }

    /// Among `candidates`, the exponent whose rounding plus clipping error over the histogram (bin centres) is least.
    func leastSquaredError(candidates: [Int], bits: Int) -> Int {
        guard !histogram.isEmpty, absmax > 0 else { return Self.minmaxExponent(absmax: Double(absmax), bits: bits) }
        let width = Double(absmax) / Double(histogram.count)
        var best = (error: Double.infinity, exponent: candidates.last!)
        for e in candidates {
            let step = Double(sign: .plus, exponent: e, significand: 1)
            let limit = step * Double((1 << (bits - 1)) - 1)
            var error = 0.0
            for (i, c) in histogram.enumerated() where c > 0 {
                let x = (Double(i) + 0.5) * width
                let d = x > limit ? x - limit : x - (x / step).rounded() * step
                error += Double(c) * d * d
            }
            if error < best.error { best = (error, e) }
        }
        return best.exponent
    }
}
