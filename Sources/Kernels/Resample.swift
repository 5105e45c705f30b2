/// Pillow's separable 8-bit resampling (`libImaging/Resample.c`, BILINEAR), ported so that AutoMix's
/// preprocessing is bit-identical to torchvision on PIL images: antialiased (support grows with the
/// scale), horizontal pass first, 22-bit fixed-point weights, round to uint8 after each pass.
public struct ResampleCoefficients: Sendable {
    public let kernelSize: Int
    /// For each output index: first input index and number of taps.
    public let bounds: [(Int, Int)]
    public let weights: [Int32]
}

public let resamplePrecisionBits = 32 - 8 - 2

/// `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear filter over input range `[0, inSize)`.
public func bilinearCoefficients(inSize: Int, outSize: Int) -> ResampleCoefficients {
    let scale = Double(inSize) / Double(outSize)
    let filterScale = max(scale, 1.0)
    let support = 1.0 * filterScale
    let ksize = Int(support.rounded(.up)) * 2 + 1
    var bounds: [(Int, Int)] = []
    bounds.reserveCapacity(outSize)
    var weights = [Int32](repeating: 0, count: outSize * ksize)
    var k = [Double](repeating: 0, count: ksize)
    for xx in 0..<outSize {
        let center = (Double(xx) + 0.5) * scale
        let ss = 1.0 / filterScale
        // C casts truncate toward zero; both values are >= -0.5 + 0.5 here only when positive, so use Int(_:)
        var xmin = Int(center - support + 0.5)
        if xmin < 0 { xmin = 0 }
        var xmax = Int(center + support + 0.5)
        if xmax > inSize { xmax = inSize }
        xmax -= xmin
        var ww = 0.0
        for x in 0..<ksize { k[x] = 0 }
        for x in 0..<max(xmax, 0) {
            var t = (Double(x + xmin) - center + 0.5) * ss
            if t < 0 { t = -t }
            let w = t < 1 ? 1 - t : 0
            k[x] = w
            ww += w
        }
        for x in 0..<max(xmax, 0) where ww != 0 { k[x] /= ww }
        for x in 0..<ksize {
            let v = k[x] * Double(1 << resamplePrecisionBits)
            weights[xx * ksize + x] = Int32(v < 0 ? (-0.5 + v).rounded(.towardZero) : (0.5 + v).rounded(.towardZero))
        }
        bounds.append((xmin, max(xmax, 0)))
    }
    return ResampleCoefficients(kernelSize: ksize, bounds: bounds, weights: weights)
}

@inline(__always)
func clip8(_ v: Int32) -> UInt8 {
    let s = v >> Int32(resamplePrecisionBits)
    return s < 0 ? 0 : (s > 255 ? 255 : UInt8(s))
}

/// Horizontal pass over interleaved `channels`-per-pixel rows `[rowStart, rowStart + rows)` of `src` (width `inW`).
public func resampleHorizontal(_ src: UnsafePointer<UInt8>, inW: Int, channels: Int, rowStart: Int, rows: Int,
                               _ c: ResampleCoefficients, _ dst: UnsafeMutablePointer<UInt8>) {
    let outW = c.bounds.count
    c.weights.withUnsafeBufferPointer { wts in
        for y in 0..<rows {
            let inRow = src + (rowStart + y) * inW * channels
            let outRow = dst + y * outW * channels
            for xx in 0..<outW {
                let (xmin, n) = c.bounds[xx]
                let k = wts.baseAddress! + xx * c.kernelSize
                for ch in 0..<channels {
                    var ss: Int32 = 1 << Int32(resamplePrecisionBits - 1)
                    for x in 0..<n { ss &+= Int32(inRow[(x + xmin) * channels + ch]) &* k[x] }
                    outRow[xx * channels + ch] = clip8(ss)
                }
            }
        }
    }
}

/// Vertical pass: `src` rows of `width * channels` bytes; output row `yy` reads input rows `bounds[yy]` shifted by `rowOffset`.
public func resampleVertical(_ src: UnsafePointer<UInt8>, width: Int, channels: Int, rowOffset: Int,
                             _ c: ResampleCoefficients, _ dst: UnsafeMutablePointer<UInt8>) {
    let rowLen = width * channels
    c.weights.withUnsafeBufferPointer { wts in
        for yy in 0..<c.bounds.count {
            let (ymin, n) = c.bounds[yy]
            let k = wts.baseAddress! + yy * c.kernelSize
            let outRow = dst + yy * rowLen
            for i in 0..<rowLen {
                var ss: Int32 = 1 << Int32(resamplePrecisionBits - 1)
                for y in 0..<n { ss &+= Int32(src[(y + ymin - rowOffset) * rowLen + i]) &* k[y] }
                outRow[i] = clip8(ss)
            }
        }
    }
}

/// Interleaved uint8 pixels (HWC) of a crop to planar float CHW: `(p/255 − mean[c]) / std[c]` in Float,
/// the same operation order as torchvision's ToTensor + Normalize.
public func normalizeToCHW(_ src: UnsafePointer<UInt8>, width: Int, channels: Int, cropTop: Int, cropLeft: Int,
                           cropH: Int, cropW: Int, mean: UnsafePointer<Float>, std: UnsafePointer<Float>,
                           _ dst: UnsafeMutablePointer<Float>) {
    for ch in 0..<channels {
        let m = mean[ch], s = std[ch]
        let plane = dst + ch * cropH * cropW
        for y in 0..<cropH {
            let row = src + ((y + cropTop) * width + cropLeft) * channels + ch
            for x in 0..<cropW { plane[y * cropW + x] = (Float(row[x * channels]) / 255 - m) / s }
        }
    }
}
