import Foundation
import Testing
import Kernels
import KernelsAVX512
@testable import AutoMix

/// A packed Conv kernel against a double-precision product: `run` multiplies with the given scratch count.
func expectPackedProduct(m: Int, n: Int, panelRows: Int = packedPanelRows, scratch count: (Int) -> Int,
                         _ run: (_ k: Int, _ packed: [Float], _ b: [Float], _ c: inout [Float], _ ldc: Int, _ bias: [Float], _ scratch: inout [Float]) -> Void) {
    for k in [1, 9, 27] {
        var seed: UInt64 = UInt64(m * 1000 + n * 10 + k)
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(seed >> 40) % 2001 - 1000) / 1000
        }
        let a = (0..<(m * k)).map { _ in next() }, b = (0..<(k * n)).map { _ in next() }
        let bias = (0..<m).map { _ in next() }
        // a wider output row than n checks that nothing is written past the matrix's columns
        let ldc = n + 3
        var packed = [Float](repeating: .nan, count: packedCount(m: m, k: k, rows: panelRows))
        packPanels(m: m, k: k, a: a, lda: k, into: &packed, rows: panelRows)
        var c = [Float](repeating: 99, count: m * ldc)
        var scratch = [Float](repeating: .nan, count: count(k))
        run(k, packed, b, &c, ldc, bias, &scratch)
        var worst: Double = 0
        for i in 0..<m {
            for j in 0..<n {
                var s = Double(bias[i])
                for kk in 0..<k { s += Double(a[i * k + kk]) * Double(b[kk * n + j]) }
                worst = max(worst, abs(min(max(s, -0.5), 2) - Double(c[i * ldc + j])))
            }
            #expect(c[(i * ldc + n)..<(i * ldc + ldc)].allSatisfy { $0 == 99 }, "m \(m) n \(n) k \(k): wrote past column \(n)")
        }
        #expect(worst < 1e-5, "m \(m) n \(n) k \(k): largest error \(worst)")
    }
}

/// The packed AVX-512 Conv kernel on shapes that reach every path: partial 8-row panels, whole 48-column tiles,
/// padded tails (24–47 columns) and single-column tails.
@Suite(.enabled(if: CPUFeatures.hasAVX512, "the AVX-512 kernel needs an AVX-512 CPU"))
struct GemmKernelTests {
    @Test("packedGemm equals the exact product plus bias, clamped", arguments: [1, 7, 8, 13, 24], [1, 4, 5, 23, 24, 47, 48, 49, 100, 196])
    func product(m: Int, n: Int) {
        expectPackedProduct(m: m, n: n, scratch: packedGemmScratchCount) { k, packed, b, c, ldc, bias, scratch in
            packedGemm(m: m, n: n, k: k, packedA: packed, b: b, ldb: n, c: &c, ldc: ldc, bias: bias, lo: -0.5, hi: 2, scratch: &scratch)
        }
    }

    #if arch(x86_64)   // the depthwise taps exist on x86 only
    /// Planes (h, w, stride, pad) narrower and wider than a vector, whole vectors and tails, stride 1 and 2 with even
    /// and odd sizes, both paddings of stride 2; stride-2 rows of 1, 4, 7, 14, 15 and 56 pairs (each way of
    /// splitting a row into its quarters).
    static let depthwisePlanes: [(h: Int, w: Int, stride: Int, pad: Int)] =
        [(7, 7, 1, 1), (16, 16, 1, 1), (33, 20, 1, 1), (112, 112, 2, 1), (15, 9, 2, 1), (14, 31, 2, 0), (2, 3, 2, 1),
         (14, 14, 2, 1), (28, 28, 2, 1)]

    static func window(_ size: (h: Int, w: Int, stride: Int, pad: Int)) -> Window2D {
        let (h, w, s, pad) = size
        return Window2D(inH: h, inW: w, outH: (h + 2 * pad - 3) / s + 1, outW: (w + 2 * pad - 3) / s + 1, kH: 3, kW: 3,
                        strideH: s, strideW: s, padTop: pad, padLeft: pad, dilationH: 1, dilationW: 1)
    }

    /// The AVX-512 depthwise taps give the portable kernel's floats bit for bit (same sums, same order): planes
    /// narrower and wider than a vector, whole vectors and tails, stride 1 and 2 with even and odd sizes, both
    /// paddings of stride 2, a channel multiplier, a clamp, and integer codes with both roundings (ties included).
    @Test("the AVX-512 depthwise 3×3 kernel equals the portable one bit for bit",
          arguments: depthwisePlanes)
    func depthwise(size: (h: Int, w: Int, stride: Int, pad: Int)) {
        let (h, w, s, _) = size
        let channels = 3, multiplier = 2
        let win = Self.window(size), (outH, outW) = (win.outH, win.outW)
        var rng = SplitMix64(seed: UInt64(h * 100 + w + s))
        // codes times weights in eighths: exact sums whose scaled values land on ties
        let x = (0..<(channels * h * w)).map { _ in Float(Int(rng.next() % 255) - 128) }
        let k = (0..<(channels * multiplier * 9)).map { _ in Float(Int(rng.next() % 17) - 8) / 8 }
        let bias = (0..<(channels * multiplier)).map { _ in Float(Int(rng.next() % 64) - 32) / 4 }
        let scales = (0..<(channels * multiplier)).map { c in Float(1) / Float(1 << (c % 3 + 1)) }
        var scratch = [Float](repeating: 0, count: depthwiseScratchCount(win))
        for (clamp, mode) in [(Clamp.none, nil), (Clamp(lo: 0, hi: 60), nil), (Clamp(lo: -128, hi: 127), RoundingMode.halfEven),
                              (Clamp(lo: -128, hi: 127), .halfUp)] as [(Clamp, RoundingMode?)] {
            var portable = [Float](repeating: .nan, count: channels * multiplier * outH * outW), own = portable
            scales.withUnsafeBufferPointer { sp in
                let codes = mode.map { CodeRounding(scales: sp.baseAddress!, mode: $0) }
                depthwiseConv2d(x, inChannels: channels, multiplier: multiplier, win, weights: k, bias: bias, clamp, codes: codes,
                                scratch: &scratch, &portable)
                depthwise3x3AVX512(x, inChannels: channels, multiplier: multiplier, win, weights: k, bias: bias, clamp, codes: codes,
                                   scratch: &scratch, &own)
            }
            #expect(own.map(\.bitPattern) == portable.map(\.bitPattern), "\(size) \(clamp) \(String(describing: mode))")
            #expect(!own.contains { $0.isNaN })
            if mode == nil {
                // both share the plane layout (padding, stride-2 quarters): check it against the definition too
                let reference = Self.directDepthwise(x, channels: channels, multiplier: multiplier, win, weights: k, bias: bias)
                let worst = zip(portable, reference).map { abs(Double($0) - min(max($1, Double(clamp.lo)), Double(clamp.hi))) }.max()!
                #expect(worst < 1e-3, "\(size) \(clamp): largest difference from the definition \(worst)")
            }
        }
    }

    /// `out[oc][oy][ox] = bias[oc] + Σ k[oc][ky][kx]·x[oc / multiplier][oy·s + ky − pad][ox·s + kx − pad]` (zeros outside).
    static func directDepthwise(_ x: [Float], channels: Int, multiplier: Int, _ w: Window2D, weights k: [Float], bias: [Float]) -> [Double] {
        var out: [Double] = []
        for oc in 0..<(channels * multiplier) {
            let ic = oc / multiplier
            for oy in 0..<w.outH {
                for ox in 0..<w.outW {
                    var sum = Double(bias[oc])
                    for ky in 0..<3 {
                        for kx in 0..<3 {
                            let iy = oy * w.strideH + ky - w.padTop, ix = ox * w.strideW + kx - w.padLeft
                            guard iy >= 0, iy < w.inH, ix >= 0, ix < w.inW else { continue }
                            sum += Double(k[oc * 9 + ky * 3 + kx]) * Double(x[(ic * w.inH + iy) * w.inW + ix])
                        }
                    }
                    out.append(sum)
                }
            }
        }
        return out
    }

    /// The int16 kernel (sums in doubles) likewise: full-range int16 codes and weights, so sums reach 2^33; shifts
    /// that land on ties and saturate both ways.
    @Test("the AVX-512 exact int16 depthwise 3×3 kernel equals the portable one bit for bit",
          arguments: depthwisePlanes)
    func exactDepthwise(size: (h: Int, w: Int, stride: Int, pad: Int)) {
        let (h, w, s, _) = size
        let channels = 3, multiplier = 2
        let win = Self.window(size), (outH, outW) = (win.outH, win.outW)
        var rng = SplitMix64(seed: UInt64(h * 100 + w + s))
        let x = (0..<(channels * h * w)).map { _ in Float(Int(rng.next() % 65536) - 32768) }
        let k = (0..<(channels * multiplier * 9)).map { _ in Double(Int(rng.next() % 65536) - 32768) }
        let bias = (0..<(channels * multiplier)).map { _ in Double(Int(rng.next() % 65536) - 32768) * 64 }
        // shifts 1 (ties, saturation), 16 and 20 (the int16 range)
        let scales = (0..<(channels * multiplier)).map { c in Double(sign: .plus, exponent: -[1, 16, 20][c % 3], significand: 1) }
        var scratch = [Double](repeating: 0, count: depthwiseScratchCount(win))
        for mode in [RoundingMode.halfEven, .halfUp] {
            var portable = [Float](repeating: .nan, count: channels * multiplier * outH * outW), own = portable
            let clamp = Clamp(lo: -32768, hi: 32767)
            depthwiseConv2dExact(x, inChannels: channels, multiplier: multiplier, win, weights: k, bias: bias, scales: scales, mode, clamp,
                                 scratch: &scratch, &portable)
            depthwiseConv2dExactAVX512(x, inChannels: channels, multiplier: multiplier, win, weights: k, bias: bias, scales: scales,
                                       mode, clamp, scratch: &scratch, &own)
            #expect(own.map(\.bitPattern) == portable.map(\.bitPattern), "\(size) \(mode)")
            #expect(!own.contains { $0.isNaN })
            #expect(Set(own).count > 100 || own.count < 200, "codes spread over the range, not all saturated")
        }
    }
    #endif
}

/// Each own kernel this CPU runs inside a real Conv: grouped, padded, strided, with a fused clip.
@Suite struct PackedConvTests {
    @Test("a grouped Conv runs the same through the packed kernel as through OpenBLAS",
          arguments: [GemmBackend.avx512, .avx2].filter(\.isAvailable))
    func groupedConv(backend: GemmBackend) throws {
        let conv = Node(name: "g", op: .conv, inputs: ["x", "w", "b"], outputs: ["y"],
                        attributes: ["group": .int(2), "pads": .ints([1, 1, 1, 1]), "strides": .ints([2, 2])])
        let x = fixedInput([2, 6, 11, 9])
        let w = Tensor(shape: [10, 3, 3, 3], data: fixedInput([10, 3, 3, 3]).data.map { $0 * 3 })
        let b = fixedInput([10])
        let outShape = [2, 10, 6, 5]
        let packed = try #require(PackedConvWeights(conv: w, group: 2, backend: backend))
        let own = try ConvOp.run(conv, x: x, w: w, bias: b, outShape: outShape, clamp: Clamp(lo: 0, hi: 6), packed: packed)
        let blas = try ConvOp.run(conv, x: x, w: w, bias: b, outShape: outShape, clamp: Clamp(lo: 0, hi: 6))
        #expect(maxAbsDiff(own.data, blas.data) < 1e-5)
        #expect(own.data.contains { $0 == 6 } && own.data.contains { $0 == 0 })
    }
}

/// The packed 256-bit (AVX2 + FMA) Conv kernel: partial 6-row panels, whole 16-column tiles, padded tails (1–15 columns),
/// and column blocks (k = 27: 2,416 columns per 256 KB block, so n = 5,000 crosses two block ends).
@Suite(.enabled(if: CPUFeatures.hasAVX2, "the 256-bit kernel needs AVX2 + FMA"))
struct Gemm256KernelTests {
    @Test("packedGemm256 equals the exact product plus bias, clamped", arguments: [1, 5, 6, 7, 13, 24], [1, 5, 15, 16, 17, 49, 100, 196, 5000])
    func product(m: Int, n: Int) {
        expectPackedProduct(m: m, n: n, panelRows: packed256PanelRows, scratch: packedGemm256ScratchCount) { k, packed, b, c, ldc, bias, scratch in
            packedGemm256(m: m, n: n, k: k, packedA: packed, b: b, ldb: n, c: &c, ldc: ldc, bias: bias, lo: -0.5, hi: 2, scratch: &scratch)
        }
    }
}

/// One- and two-row products go through gemv (`GemvRow`) in both precisions: every transposition against the
/// plain definition.
@Suite struct GemvRowTests {
    @Test("sgemm and dgemm with one or two rows equal the definition for every transA/transB", arguments: [1, 2])
    func rows(m: Int) {
        let (n, k) = (5, 7)
        let a = (0..<(m * k)).map { Double(($0 * 7) % 11) - 5 }, b = (0..<(k * n)).map { Double(($0 * 5) % 13) - 6 }
        for transA in [false, true] {
            for transB in [false, true] {
                // op(A)[i][kk] and op(B)[kk][j] in the stored layouts
                let lda = transA ? m : k, ldb = transB ? k : n
                let aStored = (0..<(m * k)).map { p in transA ? a[(p % m) * k + p / m] : a[p] }
                let bStored = (0..<(k * n)).map { p in transB ? b[(p % k) * n + p / k] : b[p] }
                var expected = [Double](repeating: 0, count: m * n)
                for i in 0..<m { for j in 0..<n { for kk in 0..<k { expected[i * n + j] += a[i * k + kk] * b[kk * n + j] } } }
                var cd = [Double](repeating: .nan, count: m * n)
                dgemm(m: m, n: n, k: k, a: aStored, lda: lda, transA: transA, b: bStored, ldb: ldb, transB: transB, c: &cd, ldc: n)
                var cs = [Float](repeating: .nan, count: m * n)
                sgemm(m: m, n: n, k: k, a: aStored.map(Float.init), lda: lda, transA: transA, b: bStored.map(Float.init), ldb: ldb,
                      transB: transB, c: &cs, ldc: n)
                #expect(cd == expected, "dgemm transA \(transA) transB \(transB)")
                #expect(cs.map(Double.init) == expected, "sgemm transA \(transA) transB \(transB)")
            }
        }
    }
}

/// The worker count follows the CPU affinity (what `taskset` and container limits give), and a command's choice.
@Suite(.serialized) struct ParallelismTests {
    @Test("the cores this process may use are counted from its affinity mask; --threads overrides them")
    func cores() throws {
        #expect(Parallelism.cores >= 1 && Parallelism.cores <= ProcessInfo.processInfo.activeProcessorCount)
        let before = Parallelism.workers
        defer { Parallelism.workers = before }
        Parallelism.workers = 3
        #expect(Parallelism.workers == 3)
        let one = try runCLI(["bench", "--model", Fixtures.model("fmnist_cnn"), "--runs", "1", "--threads", "1", "--json"])
        #expect(one.status == 0, "\(one.err)")
    }
}
