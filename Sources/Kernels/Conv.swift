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

/// Depthwise convolution of one image: output channel `oc` reads input channel `oc / multiplier`.
/// Accumulates into `dst`, which the caller has filled with the bias.
public func depthwiseConv2d(_ src: UnsafePointer<Float>, inChannels: Int, multiplier: Int, _ w: Window2D,
                            weights: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
    let outHW = w.outH * w.outW
    for oc in 0..<(inChannels * multiplier) {
        let plane = src + (oc / multiplier) * w.inH * w.inW
        let out = dst + oc * outHW
        let kern = weights + oc * w.kH * w.kW
        for ky in 0..<w.kH {
            let (oyLo, oyHi) = w.validRange(k: ky, stride: w.strideH, pad: w.padTop, dilation: w.dilationH,
                                            inSize: w.inH, outSize: w.outH)
            for kx in 0..<w.kW {
                let (oxLo, oxHi) = w.validRange(k: kx, stride: w.strideW, pad: w.padLeft, dilation: w.dilationW,
                                                inSize: w.inW, outSize: w.outW)
                let wt = kern[ky * w.kW + kx]
                if oxLo >= oxHi { continue }
                for oy in oyLo..<oyHi {
                    let o = out + oy * w.outW
                    let inRow = plane + (oy * w.strideH - w.padTop + ky * w.dilationH) * w.inW
                        + kx * w.dilationW - w.padLeft
                    if w.strideW == 1 {
                        for ox in oxLo..<oxHi { o[ox] += wt * inRow[ox] }
                    } else {
                        let s = w.strideW
                        for ox in oxLo..<oxHi { o[ox] += wt * inRow[ox * s] }
                    }
                }
            }
        }
    }
}
