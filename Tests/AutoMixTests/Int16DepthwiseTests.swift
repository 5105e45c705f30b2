import Testing
import Kernels
@testable import AutoMix

/// The int16 depthwise layers' exact codes through `ExactDepthwiseTaps`: the VNNI int32 pairs where a channel's bound
/// holds, the double taps where it does not, against ESP-DL's int64 definition (`IntegerKernelTests.definition`).
@Suite struct Int16DepthwiseTests {
    typealias Case = IntegerKernelTests.Case

    static let cases = [
        Case(cin: 6, cout: 6, h: 9, w: 37, kernel: 3, stride: 1, pad: 1, group: 6),     // a row of 32 outputs, then 5
        Case(cin: 5, cout: 5, h: 7, w: 16, kernel: 3, stride: 1, pad: 1, group: 5),     // exactly 16: one half of a step
        Case(cin: 4, cout: 4, h: 11, w: 35, kernel: 3, stride: 2, pad: 1, group: 4),    // stride 2: 16 outputs, then 2
        Case(cin: 3, cout: 3, h: 3, w: 3, kernel: 3, stride: 1, pad: 1, group: 3),      // a plane smaller than a vector
        Case(cin: 4, cout: 4, h: 6, w: 6, kernel: 3, stride: 2, pad: 0, group: 4),      // no padding
    ]

    @Test("int16 depthwise codes equal the int64 definition, on int32 pairs within the bound and doubles past it (ties, saturation)",
          arguments: cases, [RoundingMode.halfEven, .halfUp])
    func matchesDefinition(_ c: Case, _ mode: RoundingMode) throws {
        var rng = SplitMix64(seed: UInt64(c.cin * 100 + c.w))
        // channel 0: large weights against inputs at the extremes, past the int32 bound (the double taps); the rest within
        let weightCodes = (0..<(c.cout * 9)).map { i -> Int64 in
            i < 9 ? (i % 2 == 0 ? -32768 : 32767) : Int64(rng.next() % 4001) - 2000
        }
        let weight = QuantizedParameter(shape: [c.cout, 1, 3, 3], codes: weightCodes, exponents: (0..<c.cout).map { -15 - $0 % 3 }, bits: 16)
        let input = QuantFormat(bits: 16, exponent: -14), output = QuantFormat(bits: 16, exponent: -24)   // shifts 5…7: ties and saturation
        let biasCodes = (0..<c.cout).map { _ in Int64(rng.next() % 40001) - 20000 }
        let bias = QuantizedParameter(shape: [c.cout], codes: biasCodes, exponents: weight.exponents.map { $0 + input.exponent }, bits: 32)
        let plane = c.h * c.w
        let x = Tensor(shape: [2, c.cin, c.h, c.w], data: (0..<(2 * c.cin * plane)).map { i in
            let channel = i / plane % c.cin
            if channel == 0 { return i % 2 == 0 ? -32768 : 32767 }
            // small codes whose sums tie at every shift, and a few large ones that saturate the output
            return i % 31 == 0 ? 32767 : i % 37 == 0 ? -32768 : Float(Int(rng.next() % 64) - 32)
        })
        let node = Node(name: "dw", op: .conv, inputs: ["x", "w", "b"], outputs: ["y"], attributes: [
            "kernel_shape": .ints([3, 3]), "strides": .ints([c.stride, c.stride]),
            "pads": .ints([c.pad, c.pad, c.pad, c.pad]), "group": .int(c.group)])
        let outH = (c.h + 2 * c.pad - 3) / c.stride + 1, outW = (c.w + 2 * c.pad - 3) / c.stride + 1
        let outShape = [2, c.cout, outH, outW]
        for relu in [false, true] {
            let expected = IntegerKernelTests.definition(x, weight, bias: biasCodes, c, outShape, mode, relu: relu, input: input, output: output)
            for gemm in GemmBackend.allCases where gemm.isAvailable {
                let layer = try IntegerLinear(node: node, weight: weight, bias: bias, input: input, output: output,
                                              activation: relu ? .relu : .linear, rounding: mode, gemm: gemm)
                let got = try layer.run(x, outShape: outShape, arithmetic: .exact).data
                #expect(got == expected, "\(c) \(gemm) \(mode) relu \(relu): \(zip(got, expected).filter { $0 != $1 }.count) differ")
            }
        }
    }
}
