import Kernels

/// How an image becomes the model's input tensor; torchvision's `Resize` + `CenterCrop` + `ToTensor` +
/// `Normalize` on a PIL image, reproduced to the bit (shared/specs/swift-stack-recipes.md §4).
public struct Preprocessing: Sendable, Equatable {
    public enum Resize: Sendable, Equatable {
        /// No resize (pre-cropped images).
        case none
        /// Short side to this many pixels, long side `int(size·long/short)`, PIL bilinear with antialias.
        case shortSide(Int)
        /// Images already at the crop size pass as they are; others get ImageNet's recipe,
        /// short side to `round(crop / 0.875)` (256 for 224).
        case auto
    }

    public var resize: Resize
    /// Output height and width (the model's input size).
    public var crop: (h: Int, w: Int)
    /// 1 (grayscale, PIL "L") or 3 (RGB).
    public var channels: Int
    public var mean: [Float]
    public var std: [Float]

    public init(resize: Resize = .auto, crop: (h: Int, w: Int), channels: Int, mean: [Float]? = nil, std: [Float]? = nil) {
        self.resize = resize; self.crop = crop; self.channels = channels
        self.mean = mean ?? [Float](repeating: 0, count: channels)
        self.std = std ?? [Float](repeating: 1, count: channels)
    }

    public static func == (a: Preprocessing, b: Preprocessing) -> Bool {
        a.resize == b.resize && a.crop == b.crop && a.channels == b.channels && a.mean == b.mean && a.std == b.std
    }

    public var valuesPerImage: Int { channels * crop.h * crop.w }

    /// Writes the CHW float tensor of `image` to `out` (`valuesPerImage` floats).
    public func apply(_ image: DecodedImage, into out: UnsafeMutablePointer<Float>) {
        var img = converted(image)
        let target: (w: Int, h: Int)? = {
            let side: Int
            switch resize {
            case .none: return nil
            case let .shortSide(s): side = s
            case .auto:
                if img.width == crop.w && img.height == crop.h { return nil }
                side = Int((Double(max(crop.h, crop.w)) / 0.875).rounded())
            }
            let short = min(img.width, img.height), long = max(img.width, img.height)
            if short == side { return nil }
            let newLong = Int(Double(side) * Double(long) / Double(short))
            return img.width <= img.height ? (side, newLong) : (newLong, side)
        }()
        if let target { img = Self.resized(img, width: target.w, height: target.h) }
        img = padded(img)
        // torchvision CenterCrop: offsets int(round((size − crop) / 2)), round half to even
        let top = Int((Double(img.height - crop.h) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(img.width - crop.w) / 2).rounded(.toNearestOrEven))
        img.pixels.withUnsafeBufferPointer { px in mean.withUnsafeBufferPointer { m in std.withUnsafeBufferPointer { s in
            normalizeToCHW(px.baseAddress!, width: img.width, channels: channels, cropTop: top, cropLeft: left,
                           cropH: crop.h, cropW: crop.w, mean: m.baseAddress!, std: s.baseAddress!, out)
        }}}
    }

    /// PIL's `convert("RGB")` (gray replicated) or `convert("L")` (ITU-R 601-2 luma in 16-bit fixed point).
    func converted(_ image: DecodedImage) -> DecodedImage {
        if image.channels == channels { return image }
        let n = image.width * image.height
        var px = [UInt8](repeating: 0, count: n * channels)
        if channels == 3 {
            for i in 0..<n { let v = image.pixels[i]; px[3 * i] = v; px[3 * i + 1] = v; px[3 * i + 2] = v }
        } else {
            for i in 0..<n {
                let r = Int(image.pixels[3 * i]), g = Int(image.pixels[3 * i + 1]), b = Int(image.pixels[3 * i + 2])
                px[i] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
            }
        }
        return DecodedImage(width: image.width, height: image.height, channels: channels, pixels: px)
    }

    /// PIL `Image.resize(size, BILINEAR)`: horizontal pass first, only the rows the vertical pass reads.
    static func resized(_ img: DecodedImage, width: Int, height: Int) -> DecodedImage {
        let hc = bilinearCoefficients(inSize: img.width, outSize: width)
        let vc = bilinearCoefficients(inSize: img.height, outSize: height)
        var src = img.pixels
        var rowOffset = 0
        if width != img.width {
            let first = vc.bounds.first!.0
            let last = vc.bounds.last!.0 + vc.bounds.last!.1
            var tmp = [UInt8](repeating: 0, count: width * (last - first) * img.channels)
            src.withUnsafeBufferPointer { s in tmp.withUnsafeMutableBufferPointer { t in
                resampleHorizontal(s.baseAddress!, inW: img.width, channels: img.channels, rowStart: first, rows: last - first, hc, t.baseAddress!)
            }}
            src = tmp
            rowOffset = first
        }
        if height == img.height && rowOffset == 0 {
            return DecodedImage(width: width, height: height, channels: img.channels, pixels: src)
        }
        var out = [UInt8](repeating: 0, count: width * height * img.channels)
        src.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { o in
            resampleVertical(s.baseAddress!, width: width, channels: img.channels, rowOffset: rowOffset, vc, o.baseAddress!)
        }}
        return DecodedImage(width: width, height: height, channels: img.channels, pixels: out)
    }

    /// torchvision pads with zeros when the crop is larger than the image.
    func padded(_ img: DecodedImage) -> DecodedImage {
        guard crop.w > img.width || crop.h > img.height else { return img }
        let left = max(0, (crop.w - img.width) / 2), top = max(0, (crop.h - img.height) / 2)
        let w = max(img.width, crop.w), h = max(img.height, crop.h), c = img.channels
        var px = [UInt8](repeating: 0, count: w * h * c)
        for y in 0..<img.height {
            for x in 0..<(img.width * c) { px[((y + top) * w + left) * c + x] = img.pixels[y * img.width * c + x] }
        }
        return DecodedImage(width: w, height: h, channels: c, pixels: px)
    }
}
