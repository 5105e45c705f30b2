import Testing
@testable import AutoMix
import Kernels
import KernelsVNNI

/// The integer kernels' column packing: the AVX-512 packer the VNNI drivers take must write the portable packer's
/// words, or every exact int8/int16 code after it is wrong.
@Suite struct IntegerPackingTests {
    @Test("the AVX-512 column packer writes the portable packer's words (bytes and pairs, k past a word, partial vectors, padding)",
          arguments: [IntegerLanes.bytes, .pairs])
    func avx512PackerMatchesPortable(_ lanes: IntegerLanes) throws {
        #if arch(x86_64)
        guard CPUFeatures.hasAVX512VNNI else { return }
        var rng = SplitMix64(seed: UInt64(lanes.perWord))
        let top = lanes.perWord == 4 ? 128 : 32_768
        for (k, n, first, count) in [(1, 5, 0, 5), (3, 40, 3, 33), (4, 16, 0, 16), (7, 70, 1, 64), (9, 100, 17, 47), (32, 48, 0, 48)] {
            let ldb = n + 3
            // every code in range, the extremes included
            let b = (0..<(k * ldb)).map { i in
                Float(i % 13 == 0 ? -top : i % 11 == 0 ? top - 1 : Int(rng.next() % UInt64(2 * top)) - top)
            }
            let width = (count + 15) / 16 * 16 + 16
            var portable = [Int32](repeating: -1, count: lanes.words(k) * width)
            var vector = portable
            packIntegerColumns(b, ldb: ldb, k: k, first: first, count: count, width: width, lanes, into: &portable)
            packIntegerColumnsAVX512(b, ldb: ldb, k: k, first: first, count: count, width: width, lanes, into: &vector)
            #expect(vector == portable, "k \(k), columns \(first)..<\(first + count), \(lanes.perWord) per word")
        }
        #endif
    }
}
