/// ESP-DL's packed filter layouts on the SIMD targets (shared/specs/espdl-format-and-quantization.md §1.5):
/// output channels in blocks of `A` (16 for 8-bit weights, 8 for 16-bit) as `(N/A)HWC(A)`, the remainder
/// appended as plain NHWC (group 1) or `C,H,W,n` (depthwise). Maps ONNX `[N][C][KH][KW]` ↔ file order.
enum WeightLayout {
    /// Float weights (32) have no blocks: plain NHWC.
    static func blockSize(bits: Int) -> Int { bits == 8 ? 16 : bits == 16 ? 8 : 1 }

    /// The file position of every ONNX-ordered element (`[n][c][h][w]` row-major).
    static func packedIndex(n: Int, c: Int, kH: Int, kW: Int, depthwise: Bool, bits: Int, packed: Bool = true) -> [Int] {
        if !packed { return plainIndex(n: n, c: c, kH: kH, kW: kW, depthwise: depthwise) }
        let a = blockSize(bits: bits)
        let aligned = n / a * a
        let remain = n - aligned
        var index = [Int](repeating: 0, count: n * c * kH * kW)
        for o in 0..<n {
            for ci in 0..<c {
                for h in 0..<kH {
                    for w in 0..<kW {
                        let p: Int
                        if o < aligned {
                            p = ((o / a * kH + h) * kW + w) * c * a + ci * a + o % a
                        } else if depthwise {
                            p = aligned * kH * kW * c + ((ci * kH + h) * kW + w) * remain + (o - aligned)
                        } else {
                            p = aligned * kH * kW * c + ((o - aligned) * kH + h) * kW * c + w * c + ci
                        }
                        index[((o * c + ci) * kH + h) * kW + w] = p
                    }
                }
            }
        }
        return index
    }

    /// The C kernels' filters: NHWC, depthwise HWCN (ESP-PPQ's `reset_conv_filter_layout` for the C platforms).
    static func plainIndex(n: Int, c: Int, kH: Int, kW: Int, depthwise: Bool) -> [Int] {
        var index = [Int](repeating: 0, count: n * c * kH * kW)
        for o in 0..<n {
            for ci in 0..<c {
                for h in 0..<kH {
                    for w in 0..<kW {
                        index[((o * c + ci) * kH + h) * kW + w] = depthwise ? ((h * kW + w) * c + ci) * n + o : ((o * kH + h) * kW + w) * c + ci
                    }
                }
            }
        }
        return index
    }

    static func unpack(_ packed: [Int64], n: Int, c: Int, kH: Int, kW: Int, depthwise: Bool, bits: Int, blocks: Bool = true) -> [Int64] {
        packedIndex(n: n, c: c, kH: kH, kW: kW, depthwise: depthwise, bits: bits, packed: blocks).map { packed[$0] }
    }

    static func pack(_ onnx: [Int64], n: Int, c: Int, kH: Int, kW: Int, depthwise: Bool, bits: Int, blocks: Bool = true) -> [Int64] {
        var out = [Int64](repeating: 0, count: onnx.count)
        for (i, p) in packedIndex(n: n, c: c, kH: kH, kW: kW, depthwise: depthwise, bits: bits, packed: blocks).enumerated() { out[p] = onnx[i] }
        return out
    }
}
