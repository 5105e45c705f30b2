import Testing
import Kernels

/// The calibration's statistics kernels against their one-value-at-a-time definitions: lengths that leave every
/// tail, values on the bin edges and at ±top, zeros of both signs, NaNs.
@Suite("Statistics kernels")
struct StatisticsKernelTests {
    static func values(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { i in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            let u = Float(s >> 40) / Float(1 << 24) * 2 - 1   // in [-1, 1)
            switch i % 23 {
            case 5: return 1          // exactly top
            case 6: return -1
            case 7: return -0.0
            case 8: return 0.25       // a bin edge
            case 9: return 1.5        // above top
            default: return u
            }
        }
    }

    @Test("minMax: the smallest and largest value, NaNs skipped", arguments: [1, 15, 16, 17, 100, 1000])
    func minMaxMatchesDefinition(n: Int) {
        var x = Self.values(n, seed: UInt64(n))
        if n > 3 { x[2] = .nan; x[n - 1] = .nan }
        var lo = Float.infinity, hi = -Float.infinity
        for v in x where !v.isNaN { lo = min(lo, v); hi = max(hi, v) }
        let got = x.withUnsafeBufferPointer { minMax($0.baseAddress!, count: n) }
        #expect(got.min == lo && got.max == hi)
    }

    @Test("accumulateAbsHistogram: torch.histc's bins of |x| over [0, top], NaNs and values above top left out",
          arguments: [1, 15, 16, 17, 100, 1000])
    func histogramMatchesDefinition(n: Int) {
        var x = Self.values(n, seed: UInt64(n) + 7)
        if n > 3 { x[1] = .nan }
        for (top, bins) in [(Float(1), 4096), (Float(1), 8), (Float(0.75), 64)] {
            var want = [Int](repeating: 0, count: bins)
            for v in x where abs(v) <= top {
                let b = Int(abs(v) * Float(bins) / top)
                want[min(b, bins - 1)] += 1
            }
            var got = [Int](repeating: 0, count: bins)
            x.withUnsafeBufferPointer { xp in got.withUnsafeMutableBufferPointer { hp in
                accumulateAbsHistogram(xp.baseAddress!, count: n, top: top, bins: bins, hp.baseAddress!)
            }}
            #expect(got == want, "top \(top), \(bins) bins")
        }
    }
}
