/// What the int32-pairs depthwise 3×3 kernels share (`depthwise3x3Int16VNNI` in KernelsVNNI, `depthwise3x3Pairs256`
/// here): the loop over channels and rows (`pairDepthwise3x3`), the int16 plane they hold a channel in, the bound
/// under which a channel's sums are exact, and a channel's tap words.

/// One vector width's part of a pairs kernel: converting a channel's plane, and one output row from its taps.
public protocol PairDepthwiseTaps {
    init(_ t: PairTapWords, lo: Float, hi: Float)
    /// Writes one channel's float codes into the plane's interior (the padding stays zero); returns the largest `|x|`.
    static func fill(_ plane: UnsafeMutablePointer<Int16>, pitch: Int, from src: UnsafePointer<Float>, _ w: Window2D) -> UInt32
    /// One output row of `count` codes at stride 1 or 2, the window's top row at `row`.
    func row(_ row: UnsafePointer<Int16>, pitch: Int, stride: Int, count: Int, _ out: UnsafeMutablePointer<Float>)
}

/// ESP-DL's 3×3 depthwise Conv (stride 1 or 2, multiplier 1) on int32 pairs, with `Taps`' vector width: for each
/// channel, its plane as int16 (`PairPlaneLayout`), then, when `pairSumsFit` holds, every output row; any other
/// channel is left to `fallback(channel)`. `weights`: 9 codes per channel; `absSums`: `Σ|w|` per channel; `scratch`
/// holds `PairPlaneLayout(w).count` lanes. Inlinable so that each kernel's module specializes it with its own
/// instructions (as `depthwise3x3`).
@inlinable
public func pairDepthwise3x3<Taps: PairDepthwiseTaps>(_: Taps.Type, _ src: UnsafePointer<Float>, channels: Int, _ w: Window2D,
                                                      weights: UnsafePointer<Int32>, absSums: UnsafePointer<Int64>,
                                                      bias: UnsafePointer<Int64>, shifts: UnsafePointer<Int32>, _ mode: RoundingMode,
                                                      lo: Float, hi: Float, scratch: UnsafeMutablePointer<Int16>,
                                                      _ dst: UnsafeMutablePointer<Float>, fallback: (_ channel: Int) -> Void) {
    let layout = PairPlaneLayout(w)
    scratch.update(repeating: 0, count: layout.count)
    let outHW = w.outH * w.outW
    for c in 0..<channels {
        let largest = Taps.fill(scratch, pitch: layout.pitch, from: src + c * w.inH * w.inW, w)
        guard pairSumsFit(bias: bias[c], largestInput: largest, absSum: absSums[c], shift: shifts[c]) else {
            fallback(c)
            continue
        }
        let taps = Taps(PairTapWords(weights + 9 * c, bias: Int32(bias[c]), shift: shifts[c], mode), lo: lo, hi: hi)
        for oy in 0..<w.outH {
            taps.row(UnsafePointer(scratch) + oy * w.strideH * layout.pitch, pitch: layout.pitch, stride: w.strideW, count: w.outW,
                     dst + c * outHW + oy * w.outW)
        }
    }
}

/// A channel's plane as int16 lanes: the window's padded size (`depthwisePaddedSize`), each row with room for a whole
/// last vector past it (its lanes land in outputs that are never stored), and a spare row below.
public struct PairPlaneLayout: Sendable {
    public let pitch: Int, count: Int

    @inlinable
    public init(_ w: Window2D) {
        let (pw, ph) = depthwisePaddedSize(w)
        pitch = (pw + 40 + 31) / 32 * 32
        count = (ph + 1) * pitch
    }
}

/// Whether a channel's int32 pair sums are ESP-DL's exactly: `|bias| + max|x|·Σ|w| + 2^(shift−1) < 2^31` (so the sum
/// and the rounding's addend fit in int32) and `shift` in 1…30 (`shiftRoundLanes`).
@inlinable @inline(__always)
public func pairSumsFit(bias: Int64, largestInput: UInt32, absSum: Int64, shift: Int32) -> Bool {
    (1...30).contains(shift)
        && bias.magnitude + UInt64(largestInput) * absSum.magnitude + (UInt64(1) << (shift - 1)) < UInt64(Int32.max)
}

/// One channel's scalars for the pairs kernels, which splat them to their vector width: each kernel row's tap pairs
/// `(w0, w1)` and `(w2, 0)` as two int16 lanes of a word, the bias, and `shiftRoundLanes`' addend before the shift:
/// `2^(shift−1)` (half up), or `2^(shift−1) − 1` plus the kept part's lowest bit (half to even).
public struct PairTapWords {
    public let p0, q0, p1, q1, p2, q2: Int32
    public let bias, shift, half, halfLess1: Int32
    public let halfEven: Bool

    /// `k`: the channel's 9 weight codes; `shift` in 1…30 (`pairSumsFit`).
    @inlinable @inline(__always)
    public init(_ k: UnsafePointer<Int32>, bias: Int32, shift: Int32, _ mode: RoundingMode) {
        @inline(__always) func pair(_ a: Int32, _ b: Int32) -> Int32 { (a & 0xFFFF) | (b << 16) }
        (p0, q0, p1, q1, p2, q2) = (pair(k[0], k[1]), pair(k[2], 0), pair(k[3], k[4]), pair(k[5], 0), pair(k[6], k[7]), pair(k[8], 0))
        self.bias = bias
        self.shift = shift
        half = 1 << (shift - 1)
        halfLess1 = half - 1
        halfEven = mode == .halfEven
    }
}
