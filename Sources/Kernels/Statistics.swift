/// Smallest and largest value; NaNs are skipped, as `Swift.min`/`max` skip a NaN second operand.
/// Not inlinable: callers in other targets would compile its loop without this target's AVX2.
@inline(never)
public func minMax(_ x: UnsafePointer<Float>, count: Int) -> (min: Float, max: Float) {
    typealias V = SIMD16<Float>
    var vlo = V(repeating: .infinity), vhi = V(repeating: -.infinity)
    var i = 0
    while i + 16 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
        vlo.replace(with: v, where: v .< vlo)
        vhi.replace(with: v, where: v .> vhi)
        i += 16
    }
    var lo = vlo.min(), hi = vhi.max()
    while i < count {
        lo = Swift.min(lo, x[i])
        hi = Swift.max(hi, x[i])
        i += 1
    }
    return (lo, hi)
}

/// Adds |x| to a histogram of `bins` equal bins over [0, top], the way `torch.histc` bins a float32 tensor
/// (index `⌊|x|·bins/top⌋`, the top edge in the last bin, values above `top` ignored).
@inline(never)
public func accumulateAbsHistogram(_ x: UnsafePointer<Float>, count: Int, top: Float, bins: Int, _ h: UnsafeMutablePointer<Int>) {
    guard top > 0 else { h[0] += count; return }
    let fb = Float(bins)
    // the bin indices 16 at a time (the division is the slow part); the counts go to four interleaved histograms,
    // since after a ReLU half the values land in bin 0 and one histogram would wait on its own last increment
    typealias V = SIMD16<Float>
    let vfb = V(repeating: fb), vtop = V(repeating: top)
    let ways = 4
    var partial = [Int32](repeating: 0, count: ways * bins)
    // int32 partial counts cannot overflow below 2^31 values; past that the one-value loop takes them all
    let vectorEnd = count <= Int(Int32.max) ? count / 16 * 16 : 0
    var i = 0
    partial.withUnsafeMutableBufferPointer { p in
        let q = p.baseAddress!
        while i < vectorEnd {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            let a = v.replacing(with: -v, where: v .< 0)
            let inRange = a .<= vtop
            let scaled = a * vfb / vtop
            for t in 0..<16 where inRange[t] {
                let b = Int(scaled[t])
                q[(t & (ways - 1)) * bins + (b >= bins ? bins - 1 : b)] += 1
            }
            i += 16
        }
        for w in 0..<ways { for b in 0..<bins { h[b] += Int(q[w * bins + b]) } }
    }
    while i < count {
        let a = abs(x[i])
        i += 1
        if !(a <= top) { continue }   // above the range, or NaN
        let b = Int(a * fb / top)
        h[b >= bins ? bins - 1 : b] += 1
    }
}

/// The `k`-th smallest value (1-based, as `torch.kthvalue`); reorders `x`.
public func kthSmallest(_ x: UnsafeMutablePointer<Float>, count: Int, k: Int) -> Float {
    var lo = 0, hi = count - 1
    let target = k - 1
    while lo < hi {
        let pivot = x[(lo + hi) / 2]
        var i = lo, j = hi
        while i <= j {
            while x[i] < pivot { i += 1 }
            while x[j] > pivot { j -= 1 }
            if i <= j { let t = x[i]; x[i] = x[j]; x[j] = t; i += 1; j -= 1 }
        }
        if target <= j { hi = j } else if target >= i { lo = i } else { return x[target] }
    }
    return x[target]
}

/// `a += b`, element-wise (histogram merging).
public func addCounts(_ a: UnsafeMutablePointer<Int>, _ b: UnsafePointer<Int>, count: Int) {
    for i in 0..<count { a[i] += b[i] }
}

/// FNV-1a over bytes: a cheap fingerprint (not a security hash).
public func fnv1a(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    var h = seed
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}

/// `Σ a·b`, `Σ a²` and `Σ b²` in doubles, eight lanes at a time (a cosine's three sums; they add over pieces).
/// Not inlinable, as `minMax`: its FMAs need this target's flags.
@inline(never)
public func productSums(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> (ab: Double, aa: Double, bb: Double) {
    typealias D = SIMD8<Double>
    var vab = D(), vaa = D(), vbb = D()
    let whole = count / 8 * 8
    var i = 0
    while i < whole {
        var x = D(), y = D()
        for t in 0..<8 { x[t] = Double(a[i + t]); y[t] = Double(b[i + t]) }
        vab.addProduct(x, y); vaa.addProduct(x, x); vbb.addProduct(y, y)
        i += 8
    }
    var ab = vab.sum(), aa = vaa.sum(), bb = vbb.sum()
    while i < count {
        let (x, y) = (Double(a[i]), Double(b[i]))
        ab += x * y; aa += x * x; bb += y * y
        i += 1
    }
    return (ab, aa, bb)
}
