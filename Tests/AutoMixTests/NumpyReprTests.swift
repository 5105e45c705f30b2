import Foundation
import Testing
@testable import AutoMix

/// The `.info` writer's arrays against numpy's own `repr` (Fixtures/numpy/repr.json, Scripts/make_numpy_repr_fixture.py):
/// positional and scientific floats, nan/inf, signed zeros, wrapping, integer dtypes.
@Suite("numpy repr")
struct NumpyReprTests {
    struct Case: Decodable { let dtype: String; let bits: [UInt32]?; let ints: [Int64]?; let repr: String }
    struct File: Decodable { let numpy: String; let cases: [Case] }

    static let cases: [Case] = {
        let url = Bundle.module.url(forResource: "Fixtures/numpy/repr", withExtension: "json")!
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }()

    @Test("every array prints as numpy prints it", arguments: Array(0..<cases.count))
    func matchesNumpy(_ i: Int) {
        let c = Self.cases[i]
        let dtype = c.dtype == "int64" ? "" : c.dtype
        let text = c.bits.map { NumpyRepr.floats($0.map { Float(bitPattern: $0) }, dtype: dtype) }
            ?? NumpyRepr.integers(c.ints ?? [], dtype: dtype)
        #expect(text == c.repr)
    }
}
