/// What the int32-pairs depthwise 3×3 kernels share (`depthwise3x3Int16VNNI` in KernelsVNNI, `depthwise3x3Pairs256`
/// here): the int16 plane they hold a channel in, and the bound under which a channel's sums are exact.

/// A channel's plane as int16 lanes: the window's padded size (`depthwisePaddedSize`), each row with room for a whole
/// last vector past it (its lanes land in outputs that are never stored), and a spare row below.
public struct PairPlaneLayout: Sendable {
    public let pitch: Int, count: Int

    public init(_ w: Window2D) {
        let (pw, ph) = depthwisePaddedSize(w)
        pitch = (pw + 40 + 31) / 32 * 32
        count = (ph + 1) * pitch
    }
}

/// Whether a channel's int32 pair sums are ESP-DL's exactly: `|bias| + max|x|·Σ|w| + 2^(shift−1) < 2^31` (so the sum
/// and the rounding's addend fit in int32) and `shift` in 1…30 (`shiftRoundLanes`).
@inline(__always)
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
    @inline(__always)
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
