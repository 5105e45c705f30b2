import Kernels
#if arch(x86_64)
import KernelsAVX512
import KernelsVNNI
#endif

/// How a depthwise layer's exact codes are made (`IntegerLinear.DepthwiseSums.exact`, 3×3 windows): where the CPU
/// has integer kernels, int32 pairs (`depthwise3x3Int16VNNI` with AVX-512 VNNI, `depthwise3x3Pairs256` with AVX2) for
/// every channel whose sums provably fit (`pairSumsFit`, checked per channel and image; always, for int8 codes), the
/// double taps (`depthwiseConv2dExact`) for the rest and everywhere else. All give ESP-DL's codes, so which one ran
/// never shows in the output.
///
/// Made once per layer (`IntegerLinear.exactDepthwiseTaps`); the saturation comes with each call, as a folded
/// activation changes it.
struct ExactDepthwiseTaps {
    let doubles: IntegerLinear.ExactDepthwiseKernel
    let weightsD: [Double], biasD: [Double], scales: [Double]
    let mode: RoundingMode
    /// The pairs kernel (VNNI's or AVX2's) and its per-channel codes, `Σ|w|`, bias and shift; nil where it does not run.
    let pairs: (kernel: PairsKernel, codes: [Int32], absSums: [Int64], bias: [Int64], shifts: [Int32])?
    /// Whether the pairs also beat the float32 taps of a layer exact in float32 (int8): measured with VNNI (MobileNetV2's
    /// int8 depthwise 27.1 → 22.6 % of the float run), not with AVX2 (24.4 → 26.2 %: the same 8 products an instruction).
    let pairsBeatFloat32: Bool
    typealias PairsKernel = (_ src: UnsafePointer<Float>, _ channels: Int, _ w: Window2D, _ weights: UnsafePointer<Int32>,
                             _ absSums: UnsafePointer<Int64>, _ bias: UnsafePointer<Int64>, _ shifts: UnsafePointer<Int32>,
                             _ mode: RoundingMode, _ lo: Float, _ hi: Float, _ scratch: UnsafeMutablePointer<Int16>,
                             _ dst: UnsafeMutablePointer<Float>, _ fallback: (Int) -> Void) -> Void

    /// `weights`: the layer's codes `[cout, 1, kH, kW]`; `weightsD` the same as doubles.
    init(weights: Tensor, weightsD: [Double], bias: [Int64], shifts: [Int], _ mode: RoundingMode, gemm: GemmBackend) {
        var doubles: IntegerLinear.ExactDepthwiseKernel = depthwiseConv2dExact
        var pairs: (kernel: PairsKernel, codes: [Int32], absSums: [Int64], bias: [Int64], shifts: [Int32])?
        let integer = IntegerKernel.of(gemm)
        #if arch(x86_64)   // the AVX-512, VNNI and AVX2 kernels exist on x86 only
        if gemm.bringsAVX512Depthwise { doubles = depthwiseConv2dExactAVX512 }
        if let integer, weights.shape.count == 4, weights.shape[1...3] == [1, 3, 3],
           shifts.allSatisfy({ (1...30).contains($0) }) {
            let codes = weights.data.map { Int32($0) }
            let absSums = (0..<weights.shape[0]).map { c in (0..<9).reduce(Int64(0)) { $0 + Int64(abs(codes[9 * c + $1])) } }
            var kernel: PairsKernel = depthwise3x3Pairs256
            if integer == .vnni { kernel = depthwise3x3Int16VNNI }
            pairs = (kernel, codes, absSums, bias, shifts.map { Int32($0) })
        }
        #endif
        self.doubles = doubles
        self.pairs = pairs
        pairsBeatFloat32 = pairs != nil && integer == .vnni
        self.weightsD = weightsD
        biasD = bias.map { Double($0) }
        scales = shifts.map { Double(sign: .plus, exponent: -$0, significand: 1) }
        self.mode = mode
    }

    /// The codes of one image's input channels `first..<first + channels` (`src`, their planes) into `dst`; `first` counts
    /// input channels, each with `multiplier` outputs (the pairs kernel takes multiplier 1).
    func run(_ src: UnsafePointer<Float>, channels: Int, multiplier: Int = 1, first: Int, _ win: Window2D, clamp: Clamp,
             scratch: Scratch, _ dst: UnsafeMutablePointer<Float>) {
        weightsD.withUnsafeBufferPointer { wp in biasD.withUnsafeBufferPointer { bp in scales.withUnsafeBufferPointer { sp in
            let o = first * multiplier
            let (w, b, s) = (wp.baseAddress! + 9 * o, bp.baseAddress! + o, sp.baseAddress! + o)
            #if arch(x86_64)
            if let pairs, multiplier == 1 {
                let inHW = win.inH * win.inW, outHW = win.outH * win.outW
                pairs.codes.withUnsafeBufferPointer { cp in pairs.absSums.withUnsafeBufferPointer { ap in
                pairs.bias.withUnsafeBufferPointer { ib in pairs.shifts.withUnsafeBufferPointer { hp in
                    pairs.kernel(src, channels, win, cp.baseAddress! + 9 * first, ap.baseAddress! + first, ib.baseAddress! + first,
                                 hp.baseAddress! + first, mode, clamp.lo, clamp.hi, scratch.int16Plane, dst) { c in
                        doubles(src + c * inHW, 1, 1, win, w + 9 * c, b + c, s + c, mode, clamp, scratch.doublePlane, dst + c * outHW)
                    }
                }}}}
                return
            }
            #endif
            doubles(src, channels, multiplier, win, w, b, s, mode, clamp, scratch.doublePlane, dst)
        }}}
    }

    /// What `run` works in, kept across its calls within one layer call (an allocation each, not one per image or
    /// panel, and the double taps' plane only once some channel needs it: a large one costs page faults).
    final class Scratch {
        private let win: Window2D
        private var int16: UnsafeMutablePointer<Int16>?
        private var double: UnsafeMutablePointer<Double>?

        init(_ win: Window2D) { self.win = win }
        deinit {
            int16?.deallocate()
            double?.deallocate()
        }

        /// The pairs kernel's plane (the kernel zeroes it).
        var int16Plane: UnsafeMutablePointer<Int16> {
            if let int16 { return int16 }
            let made = UnsafeMutablePointer<Int16>.allocate(capacity: PairPlaneLayout(win).count)
            int16 = made
            return made
        }

        /// The double taps' plane (the taps zero it).
        var doublePlane: UnsafeMutablePointer<Double> {
            if let double { return double }
            let made = UnsafeMutablePointer<Double>.allocate(capacity: depthwiseScratchCount(win))
            double = made
            return made
        }
    }
}
