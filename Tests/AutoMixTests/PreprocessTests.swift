import Foundation
import Testing
@testable import AutoMix

/// Decoding and preprocessing against Pillow + numpy with torchvision's rules (Scripts/make_golden.py).
@Suite struct PreprocessTests {
    struct Case: CustomStringConvertible, Sendable {
        let image: String, tensor: String, resize: Int?, crop: Int, mean: [Float], std: [Float], channels: Int
        var description: String { tensor }
    }

    static let cases: [Case] = {
        let dir = Fixtures.root.appendingPathComponent("preprocess")
        let list = try! JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("manifest.json"))) as! [[String: Any]]
        return list.map { e in
            Case(image: e["image"] as! String, tensor: e["tensor"] as! String, resize: e["resize"] as? Int, crop: e["crop"] as! Int,
                 mean: (e["mean"] as! [Double]).map(Float.init), std: (e["std"] as! [Double]).map(Float.init), channels: e["channels"] as! Int)
        }
    }()

    @Test("JPEG (RGB, gray, CMYK, progressive) and PNG (RGBA, gray) preprocess like PIL + torchvision within 1e-6", arguments: cases)
    func matchesPillow(_ c: Case) throws {
        let dir = Fixtures.root.appendingPathComponent("preprocess")
        let image = try ImageDecoder.decode(file: dir.appendingPathComponent(c.image).path)
        let p = Preprocessing(resize: c.resize.map { .shortSide($0) } ?? .none, crop: (c.crop, c.crop), channels: c.channels,
                              mean: c.mean, std: c.std)
        var out = [Float](repeating: .nan, count: p.valuesPerImage)
        out.withUnsafeMutableBufferPointer { p.apply(image, into: $0.baseAddress!) }
        let expected = try Fixtures.floats(dir.appendingPathComponent(c.tensor))
        #expect(out.count == expected.count)
        #expect(maxAbsDiff(out, expected) <= 1e-6)
    }

    @Test("the ImageNet photos need no resize at 224 and keep their exact pixels")
    func autoResizeKeepsModelSizedImages() throws {
        let folder = try ImageFolder(root: Fixtures.dataset("imagenet_photos"), labels: .numeric)
        let file = folder.samples[0].path
        let img = try ImageDecoder.decode(file: file)
        #expect(img.width == 224 && img.height == 224)
        let p = Preprocessing(resize: .auto, crop: (224, 224), channels: 3)
        var out = [Float](repeating: 0, count: p.valuesPerImage)
        out.withUnsafeMutableBufferPointer { p.apply(img, into: $0.baseAddress!) }
        #expect(out[0] == Float(img.pixels[0]) / 255)
        #expect(out[224 * 224] == Float(img.pixels[1]) / 255)
    }
}
