/// Max pooling of `channels` planes; padded positions never win (ONNX semantics).
public func maxPool2d(_ src: UnsafePointer<Float>, channels: Int, _ w: Window2D, _ dst: UnsafeMutablePointer<Float>) {
    for c in 0..<channels {
        let plane = src + c * w.inH * w.inW
        let out = dst + c * w.outH * w.outW
        for oy in 0..<w.outH {
            for ox in 0..<w.outW {
                var m = -Float.infinity
                for ky in 0..<w.kH {
                    let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                    if iy < 0 || iy >= w.inH { continue }
                    for kx in 0..<w.kW {
                        let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                        if ix < 0 || ix >= w.inW { continue }
                        m = max(m, plane[iy * w.inW + ix])
                    }
                }
                out[oy * w.outW + ox] = m
            }
        }
    }
}

/// Average pooling; the divisor counts the padding only when `countIncludePad` (ONNX `count_include_pad`).
/// Windows reaching past the explicit padding (ceil_mode) never count those extra cells.
public func avgPool2d(_ src: UnsafePointer<Float>, channels: Int, _ w: Window2D, padBottom: Int, padRight: Int,
                      countIncludePad: Bool, _ dst: UnsafeMutablePointer<Float>) {
    for c in 0..<channels {
        let plane = src + c * w.inH * w.inW
        let out = dst + c * w.outH * w.outW
        for oy in 0..<w.outH {
            let y0 = oy * w.strideH - w.padTop
            let y1 = min(y0 + (w.kH - 1) * w.dilationH + 1, w.inH + padBottom)
            for ox in 0..<w.outW {
                let x0 = ox * w.strideW - w.padLeft
                let x1 = min(x0 + (w.kW - 1) * w.dilationW + 1, w.inW + padRight)
                var sum: Float = 0
                var count = 0
                var padded = 0
                for ky in 0..<w.kH {
                    let iy = y0 + ky * w.dilationH
                    if iy >= y1 { break }
                    for kx in 0..<w.kW {
                        let ix = x0 + kx * w.dilationW
                        if ix >= x1 { break }
                        padded += 1
                        if iy < 0 || iy >= w.inH || ix < 0 || ix >= w.inW { continue }
                        sum += plane[iy * w.inW + ix]
                        count += 1
                    }
                }
                let divisor = countIncludePad ? padded : count
                out[oy * w.outW + ox] = divisor > 0 ? sum / Float(divisor) : 0
            }
        }
    }
}

/// Mean of each of `planes` contiguous planes of `planeSize` values.
public func globalAveragePool(_ src: UnsafePointer<Float>, planes: Int, planeSize: Int, _ dst: UnsafeMutablePointer<Float>) {
    for p in 0..<planes {
        let s = src + p * planeSize
        var acc: Float = 0
        for i in 0..<planeSize { acc += s[i] }
        dst[p] = acc / Float(planeSize)
    }
}
