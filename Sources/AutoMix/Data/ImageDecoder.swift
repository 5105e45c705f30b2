import CPNG
import CTurboJPEG
import Foundation

/// 8-bit pixels, interleaved (HWC); 1 channel (grayscale) or 3 (RGB).
public struct DecodedImage: Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]
}

/// JPEG through TurboJPEG (accurate DCT: bit-identical to Pillow) and PNG through libpng's simplified API.
/// The format is chosen by the file's magic bytes, not its name.
public enum ImageDecoder {
    public static func decode(file path: String) throws -> DecodedImage {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AutoMixError.badImage(path: path, reason: "cannot read the file")
        }
        let bytes = [UInt8](data)
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return try decodeJPEG(bytes, path: path) }
        if bytes.count >= 8, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return try decodePNG(bytes, path: path)
        }
        throw AutoMixError.badImage(path: path, reason: "neither JPEG nor PNG")
    }

    /// The largest image decoded: 50 megapixels (a 8192×6144 photo). A header claiming more is refused before any
    /// pixel memory is allocated.
    static let maxPixels = 50_000_000

    static func checkSize(_ width: Int, _ height: Int, path: String) throws {
        guard width > 0, height > 0, width <= maxPixels / height else {
            throw AutoMixError.badImage(path: path, reason: "its header claims \(width)×\(height) pixels; at most \(maxPixels / 1_000_000) megapixels are decoded")
        }
    }

    static func decodeJPEG(_ bytes: [UInt8], path: String) throws -> DecodedImage {
        guard let h = tjInitDecompress() else { throw AutoMixError.badImage(path: path, reason: "TurboJPEG failed to start") }
        defer { tjDestroy(h) }
        var w: Int32 = 0, ht: Int32 = 0, sub: Int32 = 0, cs: Int32 = 0
        var buf = bytes
        let size = UInt(buf.count)
        func failure() -> AutoMixError { AutoMixError.badImage(path: path, reason: String(cString: tjGetErrorStr2(h))) }
        guard tjDecompressHeader3(h, &buf, size, &w, &ht, &sub, &cs) == 0, w > 0, ht > 0 else { throw failure() }
        let width = Int(w), height = Int(ht)
        try checkSize(width, height, path: path)
        let gray = cs == Int32(TJCS_GRAY.rawValue)
        let cmyk = cs == Int32(TJCS_CMYK.rawValue) || cs == Int32(TJCS_YCCK.rawValue)
        let channels = gray ? 1 : (cmyk ? 4 : 3)
        let format = gray ? TJPF_GRAY : (cmyk ? TJPF_CMYK : TJPF_RGB)
        var out = [UInt8](repeating: 0, count: width * height * channels)
        let rc = tjDecompress2(h, &buf, size, &out, w, 0, ht, Int32(format.rawValue), TJFLAG_ACCURATEDCT)
        // A warning (e.g. extraneous bytes) still yields an image, as in Pillow; only fatal errors fail.
        if rc != 0 && tjGetErrorCode(h) == Int32(TJERR_FATAL.rawValue) { throw failure() }
        if cmyk {
            // Pillow reads CMYK JPEGs as Adobe-inverted ("CMYK;I") and converts with
            // R = K' − K'·(255 − C')/255 in its MULDIV255 fixed point (libImaging/Convert.c, cmyk2rgb).
            var rgb = [UInt8](repeating: 0, count: width * height * 3)
            for i in 0..<(width * height) {
                let nk = Int(out[i * 4 + 3])
                for c in 0..<3 {
                    let tmp = (255 - Int(out[i * 4 + c])) * nk + 128
                    rgb[i * 3 + c] = UInt8(clamping: nk - (((tmp >> 8) + tmp) >> 8))
                }
            }
            return DecodedImage(width: width, height: height, channels: 3, pixels: rgb)
        }
        return DecodedImage(width: width, height: height, channels: channels, pixels: out)
    }

    static func decodePNG(_ bytes: [UInt8], path: String) throws -> DecodedImage {
        var img = png_image()
        img.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&img) }
        func failure() -> AutoMixError {
            let message = withUnsafeBytes(of: img.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            return AutoMixError.badImage(path: path, reason: message.isEmpty ? "libpng failed" : message)
        }
        guard png_image_begin_read_from_memory(&img, bytes, bytes.count) != 0 else { throw failure() }
        let color = img.format & 0x02 != 0   // PNG_FORMAT_FLAG_COLOR
        let hasAlpha = img.format & 0x01 != 0 // PNG_FORMAT_FLAG_ALPHA
        // Ask for alpha when there is one and drop it ourselves: Pillow's convert("RGB") drops alpha
        // without compositing, while libpng would composite onto a background.
        let stored = (color ? 3 : 1) + (hasAlpha ? 1 : 0)
        img.format = (color ? 0x02 : 0) | (hasAlpha ? 0x01 : 0)
        let width = Int(img.width), height = Int(img.height)
        try checkSize(width, height, path: path)
        var out = [UInt8](repeating: 0, count: width * height * stored)
        guard png_image_finish_read(&img, nil, &out, Int32(width * stored), nil) != 0 else { throw failure() }
        let channels = color ? 3 : 1
        if !hasAlpha { return DecodedImage(width: width, height: height, channels: channels, pixels: out) }
        var stripped = [UInt8](repeating: 0, count: width * height * channels)
        for i in 0..<(width * height) { for c in 0..<channels { stripped[i * channels + c] = out[i * stored + c] } }
        return DecodedImage(width: width, height: height, channels: channels, pixels: stripped)
    }
}
