import Testing
import Kernels
@testable import AutoMix

/// The exact int8 kernels (VNNI bytes, AVX2 int16 pairs) against ESP-DL's arithmetic written out here: int64
/// sums of code products plus the bias, `shiftRound` (dl_tool.cpp's `shift_and_round`), saturation.
@Suite struct IntegerKernelTests {
    /// The integer kernels this CPU runs (none on arm64, where the test has nothing to check).
    static let kernels = [GemmBackend.avx512, .avx2].filter { $0.isAvailable && IntegerKernel.of($0) != nil }

    @Test("the vector epilogue equals shift_and_round for every shift 1…30, ties on both sides, both roundings",
          arguments: [RoundingMode.halfEven, .halfUp])
    func lanesMatchShiftRound(_ mode: RoundingMode) {
        for shift in 1...30 {
            let half = Int64(1) << (shift - 1)
            var values: [Int64] = [0, 1, -1, Int64(Int32.max) - half, Int64(Int32.min)]
            for q in -5...5 { for d in -1...1 { values.append(Int64(q) * 2 * half + half + Int64(d)) } }
            values = values.filter { $0 + half <= Int64(Int32.max) && $0 >= Int64(Int32.min) }
            for v in values {
                let got = shiftRoundLanes(SIMD4<Int32>(repeating: Int32(v)), shift: Int32(shift), mode)[0]
                #expect(Int64(got) == shiftRound(v, shift, mode), "v \(v) shift \(shift) \(mode)")
            }
        }
    }

    struct Case: Sendable, CustomStringConvertible {
        let cin, cout, h, w, kernel, stride, pad, group: Int
        var description: String { "\(cin)→\(cout) \(h)×\(w) k\(kernel) s\(stride) p\(pad) g\(group)" }
    }

    static let cases = [
        Case(cin: 16, cout: 24, h: 7, w: 7, kernel: 1, stride: 1, pad: 0, group: 1),      // 49 columns: wide + narrow tiles
        Case(cin: 3, cout: 13, h: 9, w: 11, kernel: 3, stride: 2, pad: 1, group: 1),      // im2col, k = 27 (not a whole word)
        Case(cin: 37, cout: 7, h: 1, w: 1, kernel: 1, stride: 1, pad: 0, group: 1),       // one column, a partial panel
        Case(cin: 8, cout: 10, h: 5, w: 13, kernel: 3, stride: 1, pad: 1, group: 2),      // grouped, 4 channels per group
        Case(cin: 200, cout: 9, h: 10, w: 10, kernel: 1, stride: 1, pad: 0, group: 1),    // long k
        Case(cin: 40, cout: 5, h: 6, w: 6, kernel: 3, stride: 1, pad: 1, group: 1),       // k = 360: int16 sums in 2 chunks
        Case(cin: 600, cout: 3, h: 2, w: 3, kernel: 1, stride: 1, pad: 0, group: 1),      // k = 600: 2 chunks of 255 words
        Case(cin: 12, cout: 12, h: 9, w: 7, kernel: 3, stride: 2, pad: 1, group: 12),     // depthwise, stride 2, small plane
        Case(cin: 6, cout: 6, h: 5, w: 20, kernel: 3, stride: 1, pad: 1, group: 6),       // depthwise, rows written directly
        Case(cin: 5, cout: 5, h: 7, w: 6, kernel: 3, stride: 1, pad: 1, group: 5),        // depthwise rows of 6: overlapping moves
        Case(cin: 3, cout: 3, h: 4, w: 14, kernel: 3, stride: 1, pad: 1, group: 3),       // rows of 14: 8 + an overlapping 8
        Case(cin: 4, cout: 4, h: 3, w: 3, kernel: 3, stride: 1, pad: 1, group: 4),        // rows of 3: scalar
    ]

    @Test("int8 and int16 Conv (and depthwise) through each kernel equal the int64 definition and the float-held or double path",
          arguments: cases, [8, 16])
    func convMatchesDefinition(_ c: Case, _ bits: Int) throws {
        var rng = SplitMix64(seed: UInt64(c.cin * 1000 + c.cout + bits))
        let perGroup = c.cin / c.group, k = perGroup * c.kernel * c.kernel
        let top = Int64(1) << (bits - 1)
        // every weight code, the extremes included
        let weightCodes = (0..<(c.cout * k)).map { i in i % 17 == 0 ? -top : i % 19 == 0 ? top - 1 : Int64(rng.next() % UInt64(2 * top)) - top }
        let weight = QuantizedParameter(shape: [c.cout, perGroup, c.kernel, c.kernel], codes: weightCodes,
                                        exponents: (0..<c.cout).map { -7 - $0 % 3 - (bits == 16 ? 8 : 0) }, bits: bits)
        let biasCodes = (0..<c.cout).map { _ in Int64(rng.next() % 4001) - 2000 }
        let input = QuantFormat(bits: bits, exponent: bits == 16 ? -14 : -6), output = QuantFormat(bits: bits, exponent: bits == 16 ? -11 : -3)
        let bias = QuantizedParameter(shape: [c.cout], codes: biasCodes, exponents: weight.exponents.map { $0 + input.exponent }, bits: 32)
        // mostly small codes (so the outputs tie and round), some at the extremes (so they saturate)
        let x = Tensor(shape: [2, c.cin, c.h, c.w], data: (0..<(2 * c.cin * c.h * c.w)).map { i in
            i % 23 == 0 ? Float(-top) : i % 29 == 0 ? Float(top - 1) : Float(Int(rng.next() % 9) - 4)
        })
        for mode in [RoundingMode.halfEven, .halfUp] {
            try expectKernelsMatch(c, x, weight, bias, biasCodes, input, output, mode)
        }
    }

    @Test("int8 Conv on input codes of 0…127 (after a Relu) through each kernel, AVX2's vpmaddubsw bytes included, equals the definition",
          arguments: cases)
    func nonNegativeInputMatchesDefinition(_ c: Case) throws {
        var rng = SplitMix64(seed: UInt64(c.cin * 1000 + c.cout + 77))
        let perGroup = c.cin / c.group, k = perGroup * c.kernel * c.kernel
        // the pair sums' extremes: 2·127·(−128) and 2·127·127, which int16 holds
        let weightCodes = (0..<(c.cout * k)).map { i in i % 5 == 0 ? -128 : i % 7 == 0 ? 127 : Int64(rng.next() % 256) - 128 }
        let weight = QuantizedParameter(shape: [c.cout, perGroup, c.kernel, c.kernel], codes: weightCodes,
                                        exponents: (0..<c.cout).map { -7 - $0 % 3 }, bits: 8)
        let biasCodes = (0..<c.cout).map { _ in Int64(rng.next() % 4001) - 2000 }
        let input = QuantFormat(bits: 8, exponent: -6), output = QuantFormat(bits: 8, exponent: -1)
        let bias = QuantizedParameter(shape: [c.cout], codes: biasCodes, exponents: weight.exponents.map { $0 + input.exponent }, bits: 32)
        let x = Tensor(shape: [2, c.cin, c.h, c.w], data: (0..<(2 * c.cin * c.h * c.w)).map { i in
            i % 3 == 0 ? 127 : i % 11 == 0 ? -0.0 : Float(rng.next() % 128)   // −0: a zero code rounded from below
        })
        if c.group < c.cin, IntegerKernel.of(.avx2) != nil {
            let layer = try IntegerLinear(node: Node(name: "conv", op: .conv, inputs: ["x", "w", "b"], outputs: ["y"], attributes: [
                "kernel_shape": .ints([c.kernel, c.kernel]), "group": .int(c.group)]),
                weight: weight, bias: bias, input: input, output: output, activation: .linear, rounding: .halfEven, gemm: .avx2)
            #expect(layer.integer?.byteWeights.isEmpty == false, "the byte path is there to take the layer")
        }
        for mode in [RoundingMode.halfEven, .halfUp] {
            try expectKernelsMatch(c, x, weight, bias, biasCodes, input, output, mode)
        }
    }

    @Test("codesAreNonNegative finds a negative code in the vectors and in the tail, and takes −0 for the 0 it is")
    func nonNegativeCheck() {
        for count in [0, 1, 63, 64, 200] {
            var x = (0..<count).map { $0 % 7 == 3 ? -0.0 : Float($0 % 128) }
            #expect(count == 0 || x.withUnsafeBufferPointer { codesAreNonNegative($0.baseAddress!, count: count) })
            for at in Set([0, count / 2, count - 1]) where count > 0 {
                for bad in [Float(-1), -128, -Float.leastNonzeroMagnitude] {
                    let kept = x[at]
                    x[at] = bad
                    #expect(!x.withUnsafeBufferPointer { codesAreNonNegative($0.baseAddress!, count: count) }, "\(bad) at \(at) of \(count)")
                    x[at] = kept
                }
            }
        }
    }

    func expectKernelsMatch(_ c: Case, _ x: Tensor, _ weight: QuantizedParameter, _ bias: QuantizedParameter, _ biasCodes: [Int64],
                            _ input: QuantFormat, _ output: QuantFormat, _ mode: RoundingMode) throws {
        let node = Node(name: "conv", op: .conv, inputs: ["x", "w", "b"], outputs: ["y"], attributes: [
            "kernel_shape": .ints([c.kernel, c.kernel]), "strides": .ints([c.stride, c.stride]),
            "pads": .ints([c.pad, c.pad, c.pad, c.pad]), "group": .int(c.group)])
        let outH = (c.h + 2 * c.pad - c.kernel) / c.stride + 1, outW = (c.w + 2 * c.pad - c.kernel) / c.stride + 1
        let outShape = [2, c.cout, outH, outW]
        for relu in [false, true] {
            let expected = Self.definition(x, weight, bias: biasCodes, c, outShape, mode, relu: relu, input: input, output: output)
            let reference = try IntegerLinear(node: node, weight: weight, bias: bias, input: input, output: output,
                                              activation: relu ? .relu : .linear, rounding: mode, gemm: .openBLAS)
            #expect(reference.integer == nil)
            #expect(try reference.run(x, outShape: outShape, arithmetic: .exact).data == expected, "\(c) int\(input.bits) OpenBLAS")
            for gemm in Self.kernels {
                let layer = try IntegerLinear(node: node, weight: weight, bias: bias, input: input, output: output,
                                              activation: relu ? .relu : .linear, rounding: mode, gemm: gemm)
                #expect((layer.integer != nil) == (c.group < c.cin))   // depthwise layers keep their own kernels
                let got = try layer.run(x, outShape: outShape, arithmetic: .exact).data
                #expect(got == expected, "\(c) int\(input.bits) \(gemm) \(mode) relu \(relu): \(zip(got, expected).filter { $0 != $1 }.count) differ")
            }
        }
    }

    @Test("an int8 layer whose sums could leave int32, or with a shift outside 1…30, goes to the int16 kernel; wider codes to none")
    func kernelChoice() {
        func kind(_ w: QuantizedParameter, shifts: [Int] = [8, 8, 8, 8], input bits: Int = 8) -> String {
            guard let k = IntegerConvKernel(weights: w, group: 1, bias: [0, 0, 0, 0], shifts: shifts,
                                            input: QuantFormat(bits: bits, exponent: -7), kernel: .pairs256) else { return "none" }
            if case .int8 = k.epilogue { return "int8" }
            return "int16"
        }
        let small = QuantizedParameter(shape: [4, 4, 1, 1], codes: [Int64](repeating: 1, count: 16), exponents: [-7], bits: 8)
        #expect(kind(small) == "int8")
        #expect(kind(small, input: 16) == "int16")
        #expect(kind(small, shifts: [8, 0, 8, 8]) == "int16")
        let wide = QuantizedParameter(shape: [4, 140_000, 1, 1], codes: [Int64](repeating: 1, count: 560_000), exponents: [-7], bits: 8)
        #expect(kind(wide) == "int16")
        let huge = QuantizedParameter(shape: [4, 4, 1, 1], codes: [Int64](repeating: 40_000, count: 16), exponents: [-7], bits: 32)
        #expect(kind(huge) == "none")
    }

    /// Direct convolution in int64, then `shiftRound` and saturation: ESP-DL's definition.
    static func definition(_ x: Tensor, _ w: QuantizedParameter, bias: [Int64], _ c: Case, _ outShape: [Int], _ mode: RoundingMode,
                           relu: Bool, input: QuantFormat, output: QuantFormat) -> [Float] {
        let (outH, outW) = (outShape[2], outShape[3]), perGroup = c.cin / c.group, outPerGroup = c.cout / c.group
        var out: [Float] = []
        for img in 0..<2 {
            for o in 0..<c.cout {
                let g = o / outPerGroup
                let biasAtAccumulator = bias[o]   // its exponent is e_in + e_w, the accumulator's
                let shift = output.exponent - input.exponent - w.exponent(channel: o)
                for oy in 0..<outH {
                    for ox in 0..<outW {
                        var acc = biasAtAccumulator
                        for ci in 0..<perGroup {
                            for ky in 0..<c.kernel {
                                for kx in 0..<c.kernel {
                                    let iy = oy * c.stride - c.pad + ky, ix = ox * c.stride - c.pad + kx
                                    guard iy >= 0, iy < c.h, ix >= 0, ix < c.w else { continue }
                                    let xv = Int64(x.data[((img * c.cin + g * perGroup + ci) * c.h + iy) * c.w + ix])
                                    acc += xv * w.codes[((o * perGroup + ci) * c.kernel + ky) * c.kernel + kx]
                                }
                            }
                        }
                        let q = shiftRound(acc, shift, mode)
                        out.append(Float(min(max(q, relu ? 0 : output.qmin), output.qmax)))
                    }
                }
            }
        }
        return out
    }
}

/// The one-pass integer elementwise kernels against their definitions written out here.
@Suite struct IntegerElementwiseTests {
    @Test("a rescaled Add/Sub in one pass gives the codes of the separate float passes (ties, saturation, odd lengths)",
          arguments: [RoundingMode.halfEven, .halfUp], [false, true])
    func addRescaledMatchesPasses(_ mode: RoundingMode, _ subtract: Bool) {
        var rng = SplitMix64(seed: subtract ? 7 : 3)
        for count in [1, 7, 8, 29, 200] {
            let x = (0..<count).map { i in i % 11 == 0 ? Float(127) : Float(Int(rng.next() % 256) - 128) }
            let y = (0..<count).map { i in i % 13 == 0 ? Float(-128) : Float(Int(rng.next() % 256) - 128) }
            let (sx, sy, inverse) = (Float(1.0 / 16), Float(1.0 / 64), 16.0)   // quarters: ties, and sums past ±128
            var got = [Float](repeating: .nan, count: count)
            addRescaled(x, scale: sx, y, scale: sy, subtract: subtract, count: count, inverse: inverse, mode, lo: -128, hi: 127, &got)
            let expected = zip(x, y).map { a, b -> Float in
                let r = subtract ? a * sx - b * sy : a * sx + b * sy
                return min(max(Float(mode.round(Double(r) * inverse)), -128), 127)
            }
            #expect(got == expected, "count \(count)")
            #expect(expected.contains(127) && expected.contains(-128) || count < 29, "saturation reached")
        }
    }

    @Test("an aligned Add/Sub in one pass is the exact code sum, saturated (vector and scalar tail, odd lengths)",
          arguments: [false, true])
    func addSameShapeMatchesDefinition(_ subtract: Bool) {
        var rng = SplitMix64(seed: subtract ? 11 : 5)
        for count in [1, 15, 16, 33, 200] {
            let x = (0..<count).map { _ in Float(Int(rng.next() % 256) - 128) }
            let y = (0..<count).map { _ in Float(Int(rng.next() % 256) - 128) }
            var saturated = [Float](repeating: .nan, count: count), plain = saturated
            addSameShape(x, y, count: count, subtract: subtract, clamp: (-128, 127), &saturated)
            addSameShape(x, y, count: count, subtract: subtract, clamp: nil, &plain)
            let sums = zip(x, y).map { subtract ? $0 - $1 : $0 + $1 }
            #expect(plain == sums, "count \(count)")
            #expect(saturated == sums.map { min(max($0, -128), 127) }, "count \(count)")
            #expect(sums.contains { $0 > 127 || $0 < -128 } || count < 33, "saturation reached")
        }
    }

    @Test("requantized codes (vector and scalar tail) equal clamp(round(x·scale)) at ties and past the range",
          arguments: [RoundingMode.halfEven, .halfUp])
    func rescaleCodesMatchesDefinition(_ mode: RoundingMode) {
        let x = (0..<203).map { Float($0 - 101) / 2 }   // halves: ties at scale 1
        for scale in [1.0, 0.5, 4.0] {
            var got = [Float](repeating: .nan, count: x.count)
            rescaleCodes(x, count: x.count, scale: scale, mode, lo: -128, hi: 127, &got)
            #expect(got == x.map { min(max(Float(mode.round(Double($0) * scale)), -128), 127) }, "scale \(scale)")
        }
    }

    @Test("sums of codes are exact in float vectors below 2^24 and in Int64 above")
    func sumCodesExact() {
        var rng = SplitMix64(seed: 11)
        for (count, largest) in [(49, Float(128)), (3, 128), (600, 32768), (100_000, 32768)] {
            let x = (0..<count).map { _ in Float(Int(rng.next() % UInt64(2 * largest)) - Int(largest)) }
            #expect(sumCodes(x, count: count, largest: largest) == x.reduce(Int64(0)) { $0 + Int64($1) }, "\(count)")
        }
    }
}
