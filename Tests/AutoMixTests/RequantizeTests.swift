import Testing
import Kernels

/// The vectorised epilogues against ESP-DL's integer `shift_and_round` (dl_tool.cpp), ties included.
@Suite struct RequantizeTests {
    static func reference(_ acc: [Int64], bias: Int64, shift: Int, _ mode: RoundingMode, relu: Bool, lo: Int64, hi: Int64) -> [Float] {
        acc.map { a in Float(min(max(shiftRound(a + bias, shift, mode), relu ? max(lo, 0) : lo), hi)) }
    }

    @Test("double and float32 epilogues equal shift_and_round, half-even (P4) and half-up (S3)",
          arguments: [RoundingMode.halfEven, .halfUp], [-2, 0, 1, 3, 9])
    func matchesShiftRound(_ mode: RoundingMode, _ shift: Int) {
        // every tie and its neighbours, positive and negative, and saturating values
        var acc: [Int64] = []
        for k in -40...40 { for d in -1...1 { acc.append(Int64(k) * (Int64(1) << max(shift, 0)) / 2 + Int64(d)) } }
        acc += [1 << 20, -(1 << 20), 8_000_000, -8_000_000]
        for relu in [false, true] {
            let bias: Int64 = 5
            let expected = Self.reference(acc, bias: bias, shift: shift, mode, relu: relu, lo: -128, hi: 127)
            let asFloat = acc.map { Float($0) }, asDouble = acc.map { Double($0) }
            var viaDouble = [Float](repeating: 0, count: acc.count), viaFloat = viaDouble
            let shifts = [shift]
            requantizeAccumulators(asDouble, images: 1, channels: 1, planeSize: acc.count, bias: [bias], shifts: shifts, mode,
                                   relu: relu, lo: -128, hi: 127, &viaDouble)
            requantizeFloat32(asFloat, images: 1, channels: 1, planeSize: acc.count, bias: [Float(bias)],
                              scales: [Float(Double(sign: .plus, exponent: -shift, significand: 1))], mode, relu: relu,
                              lo: -128, hi: 127, &viaFloat)
            #expect(viaDouble == expected)
            #expect(viaFloat == expected)
        }
    }
}
