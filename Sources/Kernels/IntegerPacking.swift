/// Integer codes packed for the integer matrix kernels: several consecutive `k` of one row (weights) or one column
/// (activations) share a 32-bit word, the unit `vpdpbusd` (4 bytes) and `vpmaddwd` (2 int16 lanes) reduce.
///
/// Activation codes arrive as floats (the executor holds every code in a float; int8/int16 are exact there) and are
/// turned into lanes by adding `2^23` plus an offset: the float's low mantissa bits are then the integer itself,
/// so the conversion is one add and a mask, and vectorises.

/// How codes share a word: `perWord` lanes of `32 / perWord` bits; activations get `offset` added (VNNI's
/// unsigned bytes: `x + 128`).
public struct IntegerLanes: Sendable, Equatable {
    public let perWord: Int
    public let offset: Int32
    /// Four unsigned bytes `x + 128` (activations) or signed bytes (weights): `vpdpbusd`.
    public static let bytes = IntegerLanes(perWord: 4, offset: 128)
    /// Four bytes as they are: activations of 0…127 (`vpmaddubsw`'s unsigned operand) or signed weights.
    public static let unsignedBytes = IntegerLanes(perWord: 4, offset: 0)
    /// Two int16 lanes: `vpmaddwd`.
    public static let pairs = IntegerLanes(perWord: 2, offset: 0)

    public func words(_ k: Int) -> Int { (k + perWord - 1) / perWord }
    var laneBits: UInt32 { UInt32(32 / perWord) }
    var laneMask: UInt32 { perWord == 4 ? 0xFF : 0xFFFF }
}

/// Packs the weight codes `A[m×k]` (row-major floats, integers that fit a lane) into `rows`-row panels of words,
/// `panel[kw·rows + r]` = lanes `k = kw·perWord …` of row `r`; rows past `m` and `k` past the end are zero.
public func packIntegerPanels(m: Int, k: Int, codes a: UnsafePointer<Float>, rows: Int, _ lanes: IntegerLanes,
                              into p: UnsafeMutablePointer<Int32>) {
    let words = lanes.words(k)
    for panel in 0..<panelCount(m, rows: rows) {
        let base = p + panel * rows * words
        for r in 0..<rows {
            let row = panel * rows + r
            for kw in 0..<words {
                var word: UInt32 = 0
                if row < m {
                    for t in 0..<lanes.perWord where kw * lanes.perWord + t < k {
                        let code = Int32(a[row * k + kw * lanes.perWord + t])
                        word |= (UInt32(bitPattern: code) & lanes.laneMask) << (lanes.laneBits * UInt32(t))
                    }
                }
                base[kw * rows + r] = Int32(bitPattern: word)
            }
        }
    }
}

/// How a driver packs a block of `B`: `packIntegerColumns`, or a CPU's own version of it (the same words).
public typealias IntegerColumnPacker = (_ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int, _ first: Int, _ count: Int, _ width: Int,
                                        _ lanes: IntegerLanes, _ into: UnsafeMutablePointer<Int32>) -> Void

/// Packs columns `first..<first + count` of the `k` rows of the float codes `B` into words (`offset` added),
/// `d[kw·width + j]`, zero past `count` and past `k`: one column block of the integer kernels.
public func packIntegerColumns(_ b: UnsafePointer<Float>, ldb: Int, k: Int, first: Int, count: Int, width: Int,
                               _ lanes: IntegerLanes, into d: UnsafeMutablePointer<Int32>) {
    typealias F = SIMD16<Float>
    typealias U = SIMD16<UInt32>
    // x + 2^23 + offset (+ 2^15 for int16, undone by the xor) is exact, and its low bits are the lane
    let magic = Float(8_388_608) + Float(lanes.offset) + (lanes.perWord == 2 ? 32_768 : 0)
    let flip: UInt32 = lanes.perWord == 2 ? 0x8000 : 0
    let mask = lanes.laneMask, bits = lanes.laneBits
    for kw in 0..<lanes.words(k) {
        let out = d + kw * width
        let rowsHere = min(lanes.perWord, k - kw * lanes.perWord)
        var j = 0
        while j + 16 <= count {
            var word = U(repeating: 0)
            for t in 0..<rowsHere {
                let x = UnsafeRawPointer(b + (kw * lanes.perWord + t) * ldb + first + j).loadUnaligned(as: F.self)
                let lane = (unsafeBitCast(x + F(repeating: magic), to: U.self) & U(repeating: mask)) ^ U(repeating: flip)
                word |= lane &<< U(repeating: bits * UInt32(t))
            }
            UnsafeMutableRawPointer(out + j).storeBytes(of: word, as: U.self)
            j += 16
        }
        while j < count {
            var word: UInt32 = 0
            for t in 0..<rowsHere {
                let x = b[(kw * lanes.perWord + t) * ldb + first + j]
                word |= ((((x + magic).bitPattern) & mask) ^ flip) << (bits * UInt32(t))
            }
            out[j] = Int32(bitPattern: word)
            j += 1
        }
        (out + count).update(repeating: 0, count: width - count)
    }
}

/// Whether every one of `count` float-held codes is 0 or above (`-0.0` is 0, and packs as 0): whether a layer's
/// input may take `vpmaddubsw`'s unsigned bytes. Stops at the first stretch of 256 with a negative code.
public func codesAreNonNegative(_ x: UnsafePointer<Float>, count: Int) -> Bool {
    typealias U = SIMD8<UInt32>
    // as unsigned bit patterns, floats of 0 and above stay below 2^31, −0 is 2^31, negative ones lie above
    let negativeZero: UInt32 = 0x8000_0000
    var i = 0
    while i + 256 <= count {
        var high = U(repeating: 0)
        for j in stride(from: 0, to: 256, by: 8) { high = pointwiseMax(high, UnsafeRawPointer(x + i + j).loadUnaligned(as: U.self)) }
        if high.max() > negativeZero { return false }
        i += 256
    }
    while i < count {
        if x[i] < 0 { return false }
        i += 1
    }
    return true
}
