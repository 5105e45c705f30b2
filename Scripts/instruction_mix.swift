// Products per nanosecond of the three 256-bit instruction mixes AutoMix's AVX2 Conv tiles issue, on one core, in
// loops shaped like the tiles (6 rows × 16 columns: 12 accumulators; per step 2 vector loads of activations and 6
// broadcast weights, from buffers that stay in L1):
//   float:  vfmadd231ps                          8 products per instruction   (`tile6x16`)
//   pairs:  vpmaddwd + vpaddd                   16 products per 2             (`int8Gemm256`, int16 pairs)
//   bytes:  vpmaddubsw + vpmaddwd(ones) + vpaddd 32 products per 3            (`int8Gemm256(nonNegative: true)`)
// What it shows: how much an exact integer kernel can gain over float on a CPU without VNNI, before memory.
//   swiftc -Ounchecked -target-cpu haswell Scripts/instruction_mix.swift -o /tmp/instruction_mix && taskset -c 1 /tmp/instruction_mix
import _Builtin_intrinsics.intel
import Foundation

let ring = 64   // steps before the loads wrap: 4 KB of activations, 1.5 KB of weights

@inline(never) func floatMix(_ steps: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> SIMD8<Float> {
    typealias V = SIMD8<Float>
    let z = V(repeating: 0)
    var c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z
    for s in 0..<steps {
        let ap = a + (s & (ring - 1)) * 6, bp = b + (s & (ring - 1)) * 16
        let b0 = UnsafeRawPointer(bp).loadUnaligned(as: V.self), b1 = UnsafeRawPointer(bp + 8).loadUnaligned(as: V.self)
        var w = V(repeating: ap[0]); c00.addProduct(w, b0); c01.addProduct(w, b1)
        w = V(repeating: ap[1]); c10.addProduct(w, b0); c11.addProduct(w, b1)
        w = V(repeating: ap[2]); c20.addProduct(w, b0); c21.addProduct(w, b1)
        w = V(repeating: ap[3]); c30.addProduct(w, b0); c31.addProduct(w, b1)
        w = V(repeating: ap[4]); c40.addProduct(w, b0); c41.addProduct(w, b1)
        w = V(repeating: ap[5]); c50.addProduct(w, b0); c51.addProduct(w, b1)
    }
    return c00 + c01 + c10 + c11 + c20 + c21 + c30 + c31 + c40 + c41 + c50 + c51
}

@inline(__always) func load(_ p: UnsafePointer<Int32>) -> __m256i { unsafeBitCast(UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Int32>.self), to: __m256i.self) }
@inline(__always) func pair(_ acc: __m256i, _ b: __m256i, _ w: __m256i, _ one: __m256i) -> __m256i { _mm256_add_epi32(acc, _mm256_madd_epi16(b, w)) }
@inline(__always) func byte(_ acc: __m256i, _ b: __m256i, _ w: __m256i, _ one: __m256i) -> __m256i {
    _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(b, w), one))
}

@inline(__always) func integerMix(_ steps: Int, _ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>,
                                  _ dot: (__m256i, __m256i, __m256i, __m256i) -> __m256i) -> __m256i {
    let z = _mm256_setzero_si256(), one = _mm256_set1_epi16(1)
    var c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z
    for s in 0..<steps {
        let ap = a + (s & (ring - 1)) * 6, bp = b + (s & (ring - 1)) * 16
        let b0 = load(bp), b1 = load(bp + 8)
        var w = _mm256_set1_epi32(ap[0]); c00 = dot(c00, b0, w, one); c01 = dot(c01, b1, w, one)
        w = _mm256_set1_epi32(ap[1]); c10 = dot(c10, b0, w, one); c11 = dot(c11, b1, w, one)
        w = _mm256_set1_epi32(ap[2]); c20 = dot(c20, b0, w, one); c21 = dot(c21, b1, w, one)
        w = _mm256_set1_epi32(ap[3]); c30 = dot(c30, b0, w, one); c31 = dot(c31, b1, w, one)
        w = _mm256_set1_epi32(ap[4]); c40 = dot(c40, b0, w, one); c41 = dot(c41, b1, w, one)
        w = _mm256_set1_epi32(ap[5]); c50 = dot(c50, b0, w, one); c51 = dot(c51, b1, w, one)
    }
    return [c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51].reduce(c00) { _mm256_add_epi32($0, $1) }
}
@inline(never) func pairMix(_ steps: Int, _ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>) -> __m256i { integerMix(steps, a, b, pair) }
@inline(never) func byteMix(_ steps: Int, _ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>) -> __m256i { integerMix(steps, a, b, byte) }

func nanoseconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start)
}

let steps = 20_000_000
let weights = (0..<(ring * 6)).map { Float($0 % 7) * 0.01 }, activations = (0..<(ring * 16)).map { Float($0 % 5) * 0.01 }
let weightWords = (0..<(ring * 6)).map { Int32($0 % 7) }, activationWords = (0..<(ring * 16)).map { Int32($0 % 5) }
var sink: Float = 0
var rates: [[Double]] = [[], [], []]
let products = Double(steps * 6 * 16)
for _ in 0..<7 {
    rates[0].append(products / nanoseconds { sink += floatMix(steps, weights, activations).sum() })
    rates[1].append(2 * products / nanoseconds {
        sink += Float(unsafeBitCast(pairMix(steps, weightWords, activationWords), to: SIMD8<Int32>.self)[0])
    })
    rates[2].append(4 * products / nanoseconds {
        sink += Float(unsafeBitCast(byteMix(steps, weightWords, activationWords), to: SIMD8<Int32>.self)[0])
    })
}
func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
let (f, p, b) = (median(rates[0]), median(rates[1]), median(rates[2]))
print(String(format: "products per ns, medians of 7: float FMA %.1f, int16 pairs (vpmaddwd) %.1f, bytes (vpmaddubsw) %.1f", f, p, b))
print(String(format: "against float: pairs %.2f×, bytes %.2f×", p / f, b / f))
if sink == 42 { print("") }
