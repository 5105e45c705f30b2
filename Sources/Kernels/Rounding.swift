import COpenBLAS

/// How the chip rounds when it drops bits: ESP32-P4 rounds half to even, ESP32-S3 half up (ties toward +∞).
public enum RoundingMode: Sendable, Equatable {
    case halfEven, halfUp

    @inline(__always)
    public func round(_ x: Double) -> Double {
        self == .halfEven ? x.rounded(.toNearestOrEven) : (x + 0.5).rounded(.down)
    }
    @inline(__always)
    public func round(_ x: Float) -> Float {
        self == .halfEven ? x.rounded(.toNearestOrEven) : (x + 0.5).rounded(.down)
    }
}

/// Eight real values as float codes: rounded the chip's way, converted, saturated to `[lo, hi]` on the floats (the
/// conversion is monotone and the bounds are exact floats; the mask operations of `SIMD8<Double>` leave vector
/// registers). The epilogue of every exact double path, the AVX-512 and VNNI kernels' included (inlinable, so each
/// module compiles it with its own instructions).
@inlinable @inline(__always)
public func roundedCodes(_ v: SIMD8<Double>, _ mode: RoundingMode, lo: SIMD8<Float>, hi: SIMD8<Float>) -> SIMD8<Float> {
    let d = mode == .halfEven ? v.rounded(.toNearestOrEven) : (v + 0.5).rounded(.down)
    var f = SIMD8<Float>()
    for t in 0..<8 { f[t] = Float(d[t]) }
    f.replace(with: lo, where: f .< lo)
    f.replace(with: hi, where: f .> hi)
    return f
}

/// One real value as a float code, as `roundedCodes` makes eight: the scalar tails and the executor's per-value ops.
@inlinable @inline(__always)
public func roundedCode(_ x: Double, _ mode: RoundingMode, lo: Float, hi: Float) -> Float {
    Swift.min(Swift.max(Float(mode.round(x)), lo), hi)
}

/// Eight float codes widened to doubles (exactly).
@inline(__always)
private func widened(_ v: SIMD8<Float>) -> SIMD8<Double> {
    var d = SIMD8<Double>()
    for t in 0..<8 { d[t] = Double(v[t]) }
    return d
}

/// ESP-DL's `shift_and_round` (dl_tool.cpp), in integers: `acc · 2^-shift` rounded the chip's way; a negative
/// shift is a left shift. The reference the vectorised epilogue is tested against.
@inline(__always)
public func shiftRound(_ acc: Int64, _ shift: Int, _ mode: RoundingMode) -> Int64 {
    if shift <= 0 { return acc << -shift }
    let half = Int64(1) << (shift - 1)
    if mode == .halfUp { return (acc + half) >> shift }
    let q = acc >> shift
    let r = acc - (q << shift)
    return r > half || (r == half && q & 1 != 0) ? q + 1 : q
}

/// `shiftRound` on SIMD lanes of int32 sums that share one shift (1…30), without branches or masks, so it
/// stays in vector registers: `(v + half − 1 + bit_s(v)) >> s` rounds half to even (a tie goes up exactly when the
/// kept part `v >> s` is odd), `(v + half) >> s` half up. Exact when `v + 2^(shift−1)` fits in int32 (the
/// callers check the accumulator bound). The integer kernels' epilogue; tested against `shiftRound`.
@inlinable @inline(__always)
public func shiftRoundLanes<V: SIMD>(_ v: V, shift: Int32, _ mode: RoundingMode) -> V where V.Scalar == Int32 {
    let s = V(repeating: shift), half = V(repeating: 1 &<< (shift &- 1))
    let bias = mode == .halfUp ? half : half &- 1 &+ ((v &>> s) & 1)
    return (v &+ bias) &>> s
}

/// The epilogue of an integer Conv/Gemm: accumulators (exact integers held in floats) plus the integer bias,
/// shifted per output channel, optional Relu, saturated to [lo, hi]; written as float-held codes.
/// `acc` is `[images][channels][planeSize]`; `load` reads one accumulator as a double.
///
/// Exact, and vectorisable: `acc + bias` is an integer below 2^53, so it and its product with `2^-shift` are exact
/// doubles, and rounding that product half-even (or `floor(x + 0.5)`) is `shiftRound` of the integer.
@inline(__always)
func requantize(images: Int, channels: Int, planeSize: Int, bias: UnsafePointer<Int64>, shifts: UnsafePointer<Int>,
                _ mode: RoundingMode, relu: Bool, lo: Int64, hi: Int64, _ out: UnsafeMutablePointer<Float>, load: (Int) -> Double) {
    let floor = Double(relu ? max(lo, 0) : lo), top = Double(hi)
    for img in 0..<images {
        for c in 0..<channels {
            let base = (img * channels + c) * planeSize
            let b = Double(bias[c]), scale = Double(sign: .plus, exponent: -shifts[c], significand: 1)
            if mode == .halfEven {
                for i in 0..<planeSize {
                    out[base + i] = Float(min(max(((load(base + i) + b) * scale).rounded(.toNearestOrEven), floor), top))
                }
            } else {
                for i in 0..<planeSize {
                    out[base + i] = Float(min(max(((load(base + i) + b) * scale + 0.5).rounded(.down), floor), top))
                }
            }
        }
    }
}

public func requantizeAccumulators(
    _ acc: UnsafePointer<Float>, images: Int, channels: Int, planeSize: Int, bias: UnsafePointer<Int64>,
    shifts: UnsafePointer<Int>, _ mode: RoundingMode, relu: Bool, lo: Int64, hi: Int64, _ out: UnsafeMutablePointer<Float>
) {
    requantize(images: images, channels: channels, planeSize: planeSize, bias: bias, shifts: shifts, mode, relu: relu,
               lo: lo, hi: hi, out) { Double(acc[$0]) }
}

public func requantizeAccumulators(
    _ acc: UnsafePointer<Double>, images: Int, channels: Int, planeSize: Int, bias: UnsafePointer<Int64>,
    shifts: UnsafePointer<Int>, _ mode: RoundingMode, relu: Bool, lo: Int64, hi: Int64, _ out: UnsafeMutablePointer<Float>
) {
    requantize(images: images, channels: channels, planeSize: planeSize, bias: bias, shifts: shifts, mode, relu: relu,
               lo: lo, hi: hi, out) { acc[$0] }
}

/// The epilogue in float32, 8 lanes wide: `round((acc + bias) · 2^-shift)`. It is ESP-PPQ's simulation of
/// the epilogue, and exact integer arithmetic whenever `|acc| + |bias| < 2^24` (every step is then exact).
public func requantizeFloat32(
    _ acc: UnsafePointer<Float>, images: Int, channels: Int, planeSize: Int, bias: UnsafePointer<Float>,
    scales: UnsafePointer<Float>, _ mode: RoundingMode, relu: Bool, lo: Float, hi: Float, _ out: UnsafeMutablePointer<Float>
) {
    let floor = relu ? max(lo, 0) : lo
    for img in 0..<images {
        for c in 0..<channels {
            let base = (img * channels + c) * planeSize
            if mode == .halfEven {
                requantizeRow(acc + base, count: planeSize, bias: bias[c], scale: scales[c], lo: floor, hi: hi, out + base) {
                    $0.rounded(.toNearestOrEven)
                }
            } else {
                requantizeRow(acc + base, count: planeSize, bias: bias[c], scale: scales[c], lo: floor, hi: hi, out + base) {
                    ($0 + 0.5).rounded(.down)
                }
            }
        }
    }
}

/// One channel of `requantizeFloat32`, 16 lanes at a time; the saturation is written as compare-and-replace, which
/// stays in vector registers (`pointwiseMin`/`Max` carry NaN rules that break the loop into scalars).
@inline(__always)
private func requantizeRow(_ acc: UnsafePointer<Float>, count: Int, bias: Float, scale: Float, lo: Float, hi: Float,
                           _ out: UnsafeMutablePointer<Float>, round: (SIMD16<Float>) -> SIMD16<Float>) {
    typealias V = SIMD16<Float>
    let b = V(repeating: bias), s = V(repeating: scale), l = V(repeating: lo), h = V(repeating: hi)
    var i = 0
    while i + 16 <= count {
        var v = round((UnsafeRawPointer(acc + i).loadUnaligned(as: V.self) + b) * s)
        v.replace(with: l, where: v .< l)
        v.replace(with: h, where: v .> h)
        UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: V.self)
        i += 16
    }
    if i < count {
        // the tail through a zero-padded vector, rounded the same way
        var tail = V(repeating: 0)
        for t in 0..<(count - i) { tail[t] = acc[i + t] }
        var v = round((tail + b) * s)
        v.replace(with: l, where: v .< l)
        v.replace(with: h, where: v .> h)
        for t in 0..<(count - i) { out[i + t] = v[t] }
    }
}

/// `round(x · scale)` the chip's way, saturated; codes in and out held as floats. `scale` is a power of two
/// or any factor the device computes in float.
public func rescaleCodes(_ x: UnsafePointer<Float>, count: Int, scale: Double, _ mode: RoundingMode, lo: Float, hi: Float,
                         _ y: UnsafeMutablePointer<Float>) {
    let s = SIMD8<Double>(repeating: scale), l = SIMD8<Float>(repeating: lo), h = SIMD8<Float>(repeating: hi)
    var i = 0
    while i + 8 <= count {
        let v = widened(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
        // a NaN input stays NaN, as min/max below leave it
        UnsafeMutableRawPointer(y + i).storeBytes(of: roundedCodes(v * s, mode, lo: l, hi: h), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        y[i] = roundedCode(Double(x[i]) * scale, mode, lo: lo, hi: hi)
        i += 1
    }
}

/// Int8 lookup: `y = table[x + 128]`.
public func lookup256(_ x: UnsafePointer<Float>, count: Int, table: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    for i in 0..<count { y[i] = table[Int(x[i]) + 128] }
}

/// Double-precision GEMM (exact for integer products below 2^53): C = A·B (row-major). One or two rows go
/// through `dgemv`, as in `sgemm`: dgemm first copies all of `B` (MobileNetV2's classifier, one row: 0.84 against
/// 0.29 ms).
public func dgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int, transA: Bool = false,
                  b: UnsafePointer<Double>, ldb: Int, transB: Bool = false, c: UnsafeMutablePointer<Double>, ldc: Int) {
    if m <= 2 {
        for i in 0..<m {
            let r = GemvRow(i, n: n, k: k, lda: lda, transA: transA, transB: transB)
            cblas_dgemv(CblasRowMajor, r.trans, r.rows, r.cols, 1, b, Int32(ldb), a + r.xOffset, r.incx, 0, c + i * ldc, 1)
        }
        return
    }
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
}

/// Same-shape integer Add/Sub with rescaling in one pass: `clamp(round(Double(x·sx ± y·sy)·inverse))`, the
/// products and the sum in float as `IntegerElementwise.binary`'s separate passes compute them (no fused
/// multiply-add), so the same codes.
public func addRescaled(_ x: UnsafePointer<Float>, scale sx: Float, _ y: UnsafePointer<Float>, scale sy: Float, subtract: Bool,
                        count: Int, inverse: Double, _ mode: RoundingMode, lo: Float, hi: Float, _ out: UnsafeMutablePointer<Float>) {
    let sign: Float = subtract ? -1 : 1   // x·sx − y·sy == x·sx + (−(y·sy)) exactly
    let vx = SIMD8<Float>(repeating: sx), vy = SIMD8<Float>(repeating: sy), vs = SIMD8<Float>(repeating: sign)
    let inv = SIMD8<Double>(repeating: inverse), l = SIMD8<Float>(repeating: lo), h = SIMD8<Float>(repeating: hi)
    var i = 0
    while i + 8 <= count {
        let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) * vx
        let b = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self) * vy * vs
        UnsafeMutableRawPointer(out + i).storeBytes(of: roundedCodes(widened(a + b) * inv, mode, lo: l, hi: h), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        let r = x[i] * sx + y[i] * sy * sign
        out[i] = roundedCode(Double(r) * inverse, mode, lo: lo, hi: hi)
        i += 1
    }
}

/// The sum of `count` integer codes, exact: in float vectors when every partial sum is an integer below 2^24
/// (`count · largest` below 2^24), else in Int64.
public func sumCodes(_ x: UnsafePointer<Float>, count: Int, largest: Float) -> Int64 {
    guard Float(count) * largest < 16_777_216 else {
        var sum: Int64 = 0
        for i in 0..<count { sum += Int64(x[i]) }
        return sum
    }
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var sum = Int64(acc.sum())
    while i < count { sum += Int64(x[i]); i += 1 }
    return sum
}
