#if arch(x86_64)
import _Builtin_intrinsics.intel
import Kernels

/// `packIntegerColumns` with 16 words per 512-bit vector: the same words (`IntegerPackingTests` compares them),
/// in fewer instructions than the portable loop, which the `haswell` build splits into 256-bit halves with a shift
/// per lane. Packing is the integer kernels' own cost that float does not have (6 % of the int8 run, 8 % of int16).
///
/// - pairs: `cvtps2dq` turns each exact float code into its int32, whose low 16 bits are the int16 lane; one shift
///   and one word blend make `lo | hi << 16`.
/// - bytes: `x + 2^23 + 128` leaves `x + 128` in the float's low byte (the portable magic); shifts and three
///   bit selects place the four bytes, so the bits above a byte never leak into its neighbour.
public func packIntegerColumnsAVX512(_ b: UnsafePointer<Float>, ldb: Int, k: Int, first: Int, count: Int, width: Int,
                                     _ lanes: IntegerLanes, into d: UnsafeMutablePointer<Int32>) {
    for kw in 0..<lanes.words(k) {
        let out = d + kw * width
        let rowsHere = min(lanes.perWord, k - kw * lanes.perWord)
        let row0 = b + kw * lanes.perWord * ldb + first
        var j = 0
        while j < count {
            let mask = count - j >= 16 ? __mmask16.max : __mmask16(truncatingIfNeeded: (1 << (count - j)) - 1)
            let word = lanes.perWord == 2 ? pairWords(row0 + j, ldb: ldb, rows: rowsHere, mask)
                                          : byteWords(row0 + j, ldb: ldb, rows: rowsHere, offset: lanes.offset, mask)
            _mm512_mask_storeu_epi32(out + j, mask, word)
            j += 16
        }
        (out + count).update(repeating: 0, count: width - count)
    }
}

/// Row `t` of a word's rows as 16 floats, only the lanes in `mask`; a row past `k` as zeros.
@inline(__always)
private func row(_ p: UnsafePointer<Float>, _ t: Int, ldb: Int, rows: Int, _ mask: __mmask16) -> __m512 {
    t < rows ? _mm512_maskz_loadu_ps(mask, p + t * ldb) : _mm512_setzero_ps()
}

/// `lo | hi << 16` of two rows of int16 codes.
@inline(__always)
private func pairWords(_ p: UnsafePointer<Float>, ldb: Int, rows: Int, _ mask: __mmask16) -> __m512i {
    let lo = _mm512_cvtps_epi32(row(p, 0, ldb: ldb, rows: rows, mask))
    let hi = _mm512_cvtps_epi32(row(p, 1, ldb: ldb, rows: rows, mask))
    return _mm512_mask_blend_epi16(0xAAAA_AAAA, lo, _mm512_slli_epi32(hi, 16))
}

/// Four rows of int8 codes as unsigned bytes `x + offset`, row `t` in byte `t`; a row past `k` is byte 0, as the
/// portable packer leaves it.
@inline(__always)
private func byteWords(_ p: UnsafePointer<Float>, ldb: Int, rows: Int, offset: Int32, _ mask: __mmask16) -> __m512i {
    let magic = _mm512_set1_ps(8_388_608 + Float(offset))
    @inline(__always) func lane(_ t: Int) -> __m512i {
        t < rows ? _mm512_castps_si512(_mm512_add_ps(row(p, t, ldb: ldb, rows: rows, mask), magic)) : _mm512_setzero_si512()
    }
    let low = select(_mm512_set1_epi32(0x0000_00FF), lane(0), else: _mm512_slli_epi32(lane(1), 8))
    let high = select(_mm512_set1_epi32(0x00FF_0000), _mm512_slli_epi32(lane(2), 16), else: _mm512_slli_epi32(lane(3), 24))
    return select(_mm512_set1_epi32(0x0000_FFFF), low, else: high)
}

/// Per bit, `then` where `mask` is set, else `other` (one `vpternlogd`; its intrinsic is a C macro Swift cannot call).
@inline(__always)
private func select(_ mask: __m512i, _ then: __m512i, else other: __m512i) -> __m512i {
    _mm512_or_si512(_mm512_and_si512(then, mask), _mm512_andnot_si512(mask, other))
}
#endif
