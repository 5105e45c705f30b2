import COpenBLAS

/// Geometry of one 2-D convolution or pooling window over a single image plane.
public struct Window2D: Sendable, Equatable {
    public var inH: Int, inW: Int, outH: Int, outW: Int
    public var kH: Int, kW: Int
    public var strideH: Int, strideW: Int
    public var padTop: Int, padLeft: Int
    public var dilationH: Int, dilationW: Int

    public init(inH: Int, inW: Int, outH: Int, outW: Int, kH: Int, kW: Int, strideH: Int, strideW: Int,
                padTop: Int, padLeft: Int, dilationH: Int, dilationW: Int) {
        self.inH = inH; self.inW = inW; self.outH = outH; self.outW = outW
        self.kH = kH; self.kW = kW; self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padLeft = padLeft; self.dilationH = dilationH; self.dilationW = dilationW
    }

    /// Output columns `[lo, hi)` whose input column `ox*stride - pad + kx*dilation` lies inside the plane.
    @inline(__always)
    func validRange(k: Int, stride: Int, pad: Int, dilation: Int, inSize: Int, outSize: Int) -> (Int, Int) {
        let off = k * dilation - pad
        // smallest o with o*stride + off >= 0
        var lo = off >= 0 ? 0 : (-off + stride - 1) / stride
        // largest o with o*stride + off <= inSize-1
        let lastIn = inSize - 1 - off
        var hi = lastIn < 0 ? 0 : lastIn / stride + 1
        lo = min(lo, outSize); hi = min(hi, outSize)
        return (lo, max(lo, hi))
    }
}

/// Unfolds `channels` planes of one image into a `[channels*kH*kW, outH*outW]` row-major matrix (zeros in the padding).
public func im2col(_ src: UnsafePointer<Float>, channels: Int, _ w: Window2D, _ dst: UnsafeMutablePointer<Float>) {
    let outHW = w.outH * w.outW
    var row = 0
    for c in 0..<channels {
        let plane = src + c * w.inH * w.inW
        for ky in 0..<w.kH {
            let (oyLo, oyHi) = w.validRange(k: ky, stride: w.strideH, pad: w.padTop, dilation: w.dilationH,
                                            inSize: w.inH, outSize: w.outH)
            for kx in 0..<w.kW {
                let (oxLo, oxHi) = w.validRange(k: kx, stride: w.strideW, pad: w.padLeft, dilation: w.dilationW,
                                                inSize: w.inW, outSize: w.outW)
                let out = dst + row * outHW
                row += 1
                if oyLo >= oyHi || oxLo >= oxHi {
                    out.update(repeating: 0, count: outHW)
                    continue
                }
                out.update(repeating: 0, count: oyLo * w.outW)
                for oy in oyLo..<oyHi {
                    let o = out + oy * w.outW
                    let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                    let inRow = plane + iy * w.inW + kx * w.dilationW - w.padLeft
                    for ox in 0..<oxLo { o[ox] = 0 }
                    if w.strideW == 1 {
                        for ox in oxLo..<oxHi { o[ox] = inRow[ox] }
                    } else {
                        for ox in oxLo..<oxHi { o[ox] = inRow[ox * w.strideW] }
                    }
                    for ox in oxHi..<w.outW { o[ox] = 0 }
                }
                (out + oyHi * w.outW).update(repeating: 0, count: (w.outH - oyHi) * w.outW)
            }
        }
    }
}

/// `C[M,N] = A[M,K] · B[K,N] (+ C if accumulate)`, row-major, through OpenBLAS.
public func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                  b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                  c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, beta: Float = 0) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Output bounds of a convolution with a fused Relu (`0…∞`), ReLU6/Clip, or none (`-∞…∞`).
public struct Clamp: Sendable, Equatable {
    public var lo: Float, hi: Float
    public init(lo: Float, hi: Float) { self.lo = lo; self.hi = hi }
    public static let none = Clamp(lo: -.infinity, hi: .infinity)
}

/// Adds the per-channel bias and clamps, in one pass over `channels` planes (the GEMM path's epilogue).
public func biasClamp(_ y: UnsafeMutablePointer<Float>, channels: Int, planeSize: Int, bias: UnsafePointer<Float>, _ c: Clamp) {
    for ch in 0..<channels {
        let b = bias[ch]
        let p = y + ch * planeSize
        for i in 0..<planeSize { p[i] = Swift.min(Swift.max(p[i] + b, c.lo), c.hi) }
    }
}

/// Depthwise convolution of one image: output channel `oc` reads input channel `oc / multiplier`;
/// writes `clamp(bias + Σ w·x)`. Each input plane is first copied into a zero-padded scratch plane
/// (`scratch` holds `(inH+padT+padB)·(inW+padL+padR)` floats, see `depthwiseScratchCount`) so the
/// inner loops are branch-free; 3×3 kernels keep all nine taps of an output in registers.
public func depthwiseConv2d(_ src: UnsafePointer<Float>, inChannels: Int, multiplier: Int, _ w: Window2D,
                            weights: UnsafePointer<Float>, bias: UnsafePointer<Float>, _ clamp: Clamp,
                            scratch: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
    let (pw, ph) = depthwisePaddedSize(w)
    let outHW = w.outH * w.outW
    let sx = w.strideW
    scratch.update(repeating: 0, count: pw * ph)
    var lastChannel = -1
    for oc in 0..<(inChannels * multiplier) {
        let ic = oc / multiplier
        if ic != lastChannel {
            let plane = src + ic * w.inH * w.inW
            for y in 0..<w.inH { (scratch + (y + w.padTop) * pw + w.padLeft).update(from: plane + y * w.inW, count: w.inW) }
            lastChannel = ic
        }
        let out = dst + oc * outHW
        let k = weights + oc * w.kH * w.kW
        let b = bias[oc]
        if w.kH == 3 && w.kW == 3 && w.dilationH == 1 && w.dilationW == 1 {
            let (k0, k1, k2, k3, k4, k5, k6, k7, k8) = (k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8])
            for oy in 0..<w.outH {
                let r0 = scratch + oy * w.strideH * pw, r1 = r0 + pw, r2 = r1 + pw
                let o = out + oy * w.outW
                if sx == 1 {
                    for ox in 0..<w.outW {
                        var a = b + k0 * r0[ox] + k1 * r0[ox + 1] + k2 * r0[ox + 2]
                        a += k3 * r1[ox] + k4 * r1[ox + 1] + k5 * r1[ox + 2]
                        a += k6 * r2[ox] + k7 * r2[ox + 1] + k8 * r2[ox + 2]
                        o[ox] = Swift.min(Swift.max(a, clamp.lo), clamp.hi)
                    }
                } else {
                    for ox in 0..<w.outW {
                        let x = ox * sx
                        var a = b + k0 * r0[x] + k1 * r0[x + 1] + k2 * r0[x + 2]
                        a += k3 * r1[x] + k4 * r1[x + 1] + k5 * r1[x + 2]
                        a += k6 * r2[x] + k7 * r2[x + 1] + k8 * r2[x + 2]
                        o[ox] = Swift.min(Swift.max(a, clamp.lo), clamp.hi)
                    }
                }
            }
            continue
        }
        for oy in 0..<w.outH {
            let o = out + oy * w.outW
            o.update(repeating: b, count: w.outW)
            for ky in 0..<w.kH {
                let r = scratch + (oy * w.strideH + ky * w.dilationH) * pw
                for kx in 0..<w.kW {
                    let wt = k[ky * w.kW + kx]
                    let rr = r + kx * w.dilationW
                    for ox in 0..<w.outW { o[ox] += wt * rr[ox * sx] }
                }
            }
            for ox in 0..<w.outW { o[ox] = Swift.min(Swift.max(o[ox], clamp.lo), clamp.hi) }
        }
    }
}

/// Width and height of the zero-padded plane `depthwiseConv2d` works on (large enough for every window).
public func depthwisePaddedSize(_ w: Window2D) -> (width: Int, height: Int) {
    let needW = (w.outW - 1) * w.strideW + (w.kW - 1) * w.dilationW + 1
    let needH = (w.outH - 1) * w.strideH + (w.kH - 1) * w.dilationH + 1
    return (max(w.inW + w.padLeft, needW), max(w.inH + w.padTop, needH))
}

/// Depthwise convolution with double accumulators (exact for 16-bit codes, whose products reach 2^30):
/// `src` codes held as floats, `scratch` as in `depthwiseConv2d` but of doubles, no bias or clamp.
public func depthwiseConv2dDouble(_ src: UnsafePointer<Float>, inChannels: Int, multiplier: Int, _ w: Window2D,
                                  weights: UnsafePointer<Double>, scratch: UnsafeMutablePointer<Double>,
                                  _ dst: UnsafeMutablePointer<Double>) {
    let (pw, ph) = depthwisePaddedSize(w)
    let outHW = w.outH * w.outW
    let sx = w.strideW
    scratch.update(repeating: 0, count: pw * ph)
    for ic in 0..<inChannels {
        let plane = src + ic * w.inH * w.inW
        for y in 0..<w.inH {
            let row = scratch + (y + w.padTop) * pw + w.padLeft, from = plane + y * w.inW
            for x in 0..<w.inW { row[x] = Double(from[x]) }
        }
        for m in 0..<multiplier {
            let oc = ic * multiplier + m
            let out = dst + oc * outHW
            let k = weights + oc * w.kH * w.kW
            for oy in 0..<w.outH {
                let o = out + oy * w.outW
                o.update(repeating: 0, count: w.outW)
                for ky in 0..<w.kH {
                    let r = scratch + (oy * w.strideH + ky * w.dilationH) * pw
                    for kx in 0..<w.kW {
                        let wt = k[ky * w.kW + kx]
                        let rr = r + kx * w.dilationW
                        for ox in 0..<w.outW { o[ox] += wt * rr[ox * sx] }
                    }
                }
            }
        }
    }
}
