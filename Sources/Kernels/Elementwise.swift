import Foundation

/// Element-wise functions of one input, with the parameters ONNX gives them.
public enum UnaryFunction: Sendable, Equatable {
    case relu
    case clip(min: Float, max: Float)
    case leakyRelu(alpha: Float)
    case sigmoid
    case hardSigmoid(alpha: Float, beta: Float)
    case hardSwish
    case tanh
    case round   // ONNX Round: half to even
    case floor
    case identity
    case sqrt
    /// x·sigmoid(x) (SiLU).
    case swish
    /// 0.5·x·(1 + erf(x/√2)), or the tanh approximation.
    case gelu(tanhApproximation: Bool)
    case elu(alpha: Float)
    case exp
    case erf
}

public func applyUnary(_ f: UnaryFunction, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    switch f {
    case .relu:
        for i in 0..<count { y[i] = x[i] > 0 ? x[i] : 0 }   // keeps NaN out of max() ordering questions
    case let .clip(lo, hi):
        for i in 0..<count { y[i] = Swift.min(Swift.max(x[i], lo), hi) }
    case let .leakyRelu(alpha):
        for i in 0..<count { y[i] = x[i] >= 0 ? x[i] : x[i] * alpha }
    case .sigmoid:
        for i in 0..<count { y[i] = 1 / (1 + Foundation.exp(-x[i])) }
    case let .hardSigmoid(alpha, beta):
        for i in 0..<count { y[i] = Swift.max(0, Swift.min(1, alpha * x[i] + beta)) }
    case .hardSwish:
        for i in 0..<count { y[i] = x[i] * Swift.max(0, Swift.min(1, x[i] / 6 + 0.5)) }
    case .tanh:
        for i in 0..<count { y[i] = Foundation.tanh(x[i]) }
    case .round:
        for i in 0..<count { y[i] = x[i].rounded(.toNearestOrEven) }
    case .floor:
        for i in 0..<count { y[i] = x[i].rounded(.down) }
    case .identity:
        if UnsafePointer(y) != x { y.update(from: x, count: count) }
    case .sqrt:
        for i in 0..<count { y[i] = x[i].squareRoot() }
    case .swish:
        for i in 0..<count { y[i] = x[i] / (1 + Foundation.exp(-x[i])) }
    case let .gelu(approximate):
        for i in 0..<count {
            let v = Double(x[i])
            y[i] = Float(approximate ? 0.5 * v * (1 + Foundation.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))
                                     : 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot())))
        }
    case let .elu(alpha):
        for i in 0..<count { y[i] = x[i] >= 0 ? x[i] : alpha * (Foundation.exp(x[i]) - 1) }
    case .exp:
        for i in 0..<count { y[i] = Foundation.exp(x[i]) }
    case .erf:
        for i in 0..<count { y[i] = Float(Foundation.erf(Double(x[i]))) }
    }
}

public enum BinaryFunction: Sendable, Equatable { case add, sub, mul, div, max, min, pow, prelu }

@inline(__always)
func combine(_ f: BinaryFunction, _ a: Float, _ b: Float) -> Float {
    switch f {
    case .add: return a + b
    case .sub: return a - b
    case .mul: return a * b
    case .div: return a / b
    case .max: return Swift.max(a, b)
    case .min: return Swift.min(a, b)
    case .pow: return Foundation.pow(a, b)
    case .prelu: return a >= 0 ? a : a * b
    }
}

/// `out[i] = a[i] ± b[i]` over one flat run, then clamped to [lo, hi] when `clamp` is given (an aligned integer Add or
/// Sub: exact code sums, saturated), 16 lanes at a time: a residual Add of same-shaped values in one pass.
public func addSameShape(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, subtract: Bool, clamp: (lo: Float, hi: Float)?,
                         _ out: UnsafeMutablePointer<Float>) {
    typealias V = SIMD16<Float>
    let lo = V(repeating: clamp?.lo ?? -.infinity), hi = V(repeating: clamp?.hi ?? .infinity)
    let sign: Float = subtract ? -1 : 1
    var i = 0
    while i + 16 <= count {
        var v = UnsafeRawPointer(a + i).loadUnaligned(as: V.self) + sign * UnsafeRawPointer(b + i).loadUnaligned(as: V.self)
        if clamp != nil {
            v.replace(with: lo, where: v .< lo)
            v.replace(with: hi, where: v .> hi)
        }
        UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: V.self)
        i += 16
    }
    while i < count {
        let v = subtract ? a[i] - b[i] : a[i] + b[i]
        out[i] = clamp.map { Swift.min(Swift.max(v, $0.lo), $0.hi) } ?? v
        i += 1
    }
}

/// `out[i] = f(a[i·sa], b[i·sb])` over an N-d index space; strides are 0 along broadcast dimensions.
/// The innermost dimension is specialised for the common contiguous and scalar cases.
public func broadcastBinary(_ f: BinaryFunction, shape: [Int],
                            _ a: UnsafePointer<Float>, aStrides: [Int],
                            _ b: UnsafePointer<Float>, bStrides: [Int], _ out: UnsafeMutablePointer<Float>) {
    let rank = shape.count
    if rank == 0 { out[0] = combine(f, a[0], b[0]); return }
    let n = shape[rank - 1], sa = aStrides[rank - 1], sb = bStrides[rank - 1]
    var outerCount = 1
    for d in 0..<(rank - 1) { outerCount *= shape[d] }
    var index = [Int](repeating: 0, count: Swift.max(rank - 1, 1))
    var aOff = 0, bOff = 0
    var o = out
    for _ in 0..<outerCount {
        let pa = a + aOff, pb = b + bOff
        switch (f, sa, sb) {
        case (.add, 1, 1): for i in 0..<n { o[i] = pa[i] + pb[i] }
        case (.add, 1, 0): let v = pb[0]; for i in 0..<n { o[i] = pa[i] + v }
        case (.mul, 1, 1): for i in 0..<n { o[i] = pa[i] * pb[i] }
        case (.mul, 1, 0): let v = pb[0]; for i in 0..<n { o[i] = pa[i] * v }
        default: for i in 0..<n { o[i] = combine(f, pa[i * sa], pb[i * sb]) }
        }
        o += n
        // odometer over the outer dimensions
        var d = rank - 2
        while d >= 0 {
            index[d] += 1
            aOff += aStrides[d]; bOff += bStrides[d]
            if index[d] < shape[d] { break }
            aOff -= aStrides[d] * shape[d]; bOff -= bStrides[d] * shape[d]
            index[d] = 0
            d -= 1
        }
    }
}

/// Softmax along contiguous rows of length `n` (max-subtracted, as onnxruntime).
public func softmaxRows(_ x: UnsafePointer<Float>, rows: Int, n: Int, _ y: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        let xi = x + r * n, yi = y + r * n
        var m = -Float.infinity
        for i in 0..<n { m = Swift.max(m, xi[i]) }
        var s: Float = 0
        for i in 0..<n { let e = Foundation.exp(xi[i] - m); yi[i] = e; s += e }
        for i in 0..<n { yi[i] /= s }
    }
}

/// Per-channel affine `y = x·scale[c] + shift[c]` over `planes` planes of `planeSize` (batch normalization).
public func channelAffine(_ x: UnsafePointer<Float>, planes: Int, channels: Int, planeSize: Int,
                          scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    for p in 0..<planes {
        let c = p % channels
        let s = scale[c], t = shift[c]
        let xi = x + p * planeSize, yi = y + p * planeSize
        for i in 0..<planeSize { yi[i] = xi[i] * s + t }
    }
}

extension UnaryFunction {
    /// One value through `f`, with exactly the arithmetic of `applyUnary` (lookup tables are built from it).
    public static func evaluate(_ f: UnaryFunction, _ x: Float) -> Float {
        var x = x, y: Float = 0
        applyUnary(f, &x, &y, count: 1)
        return y
    }
}
