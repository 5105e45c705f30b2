import Foundation
import ONNXProto
import Testing
@testable import AutoMix

/// Each bad input ends in one clear line naming the culprit and a non-zero exit.
@Suite struct BadInputTests {
    func expectCLIError(_ args: [String], mentions needles: [String]) throws {
        let r = try runCLI(args)
        #expect(r.status != 0)
        // progress lines may precede it; the error is one line, and the last
        let errors = r.err.split(separator: "\n").filter { $0.hasPrefix("automix: error:") || $0.hasPrefix("Error:") }
        #expect(errors.count == 1, "stderr: \(r.err)")
        #expect(r.err.split(separator: "\n").last.map(String.init) == errors.first.map(String.init))
        for n in needles { #expect(errors.first?.contains(n) == true, "stderr: \(r.err)") }
    }

    @Test("a truncated ONNX file")
    func truncated() throws {
        let path = Fixtures.temporaryDirectory().appendingPathComponent("cut.onnx")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.model("fmnist_cnn")))
        try bytes.prefix(bytes.count / 2).write(to: path)
        #expect(throws: AutoMixError.self) { try Graph.load(onnx: path.path) }
        try expectCLIError(["eval", "--model", path.path, "--data", Fixtures.dataset("imagenet_photos")], mentions: [path.path, "ONNX"])
    }

    @Test("a file that is not ONNX")
    func notONNX() throws {
        let path = Fixtures.temporaryDirectory().appendingPathComponent("notes.onnx")
        try "this is a text file, not a model\n".write(to: path, atomically: true, encoding: .utf8)
        try expectCLIError(["eval", "--model", path.path, "--data", Fixtures.dataset("imagenet_photos")], mentions: [path.path])
    }

    @Test("unsupported ops are all named, each with one node, before any work")
    func unsupportedOps() throws {
        var model = Onnx_ModelProto()
        model.irVersion = 8
        var opset = Onnx_OperatorSetIdProto(); opset.version = 13
        model.opsetImport = [opset]
        func node(_ op: String, _ name: String, _ i: String, _ o: String) -> Onnx_NodeProto {
            var n = Onnx_NodeProto(); n.opType = op; n.name = name; n.input = [i]; n.output = [o]; return n
        }
        model.graph.node = [node("Relu", "r", "x", "a"), node("Shrink", "shrink_1", "a", "b"), node("Shrink", "shrink_2", "b", "c"),
                            node("Celu", "celu_1", "c", "y")]
        var input = Onnx_ValueInfoProto(); input.name = "x"
        model.graph.input = [input]
        var output = Onnx_ValueInfoProto(); output.name = "y"
        model.graph.output = [output]
        let path = Fixtures.temporaryDirectory().appendingPathComponent("odd.onnx")
        try (model.serializedBytes() as Data).write(to: path)
        do {
            _ = try Graph.load(onnx: path.path)
            Issue.record("loading should fail")
        } catch let e as AutoMixError {
            #expect(e.description == "\(path.path): unsupported ops: Shrink (e.g. node 'shrink_1'), Celu (e.g. node 'celu_1')")
        }
        try expectCLIError(["eval", "--model", path.path, "--data", "/nonexistent"], mentions: ["Shrink", "shrink_1", "Celu", "celu_1"])
    }

    @Test("a missing or empty data folder")
    func missingData() throws {
        try expectCLIError(["eval", "--model", Fixtures.model("fmnist_cnn"), "--data", "/nonexistent/val"], mentions: ["/nonexistent/val"])
        let empty = Fixtures.temporaryDirectory()
        try expectCLIError(["eval", "--model", Fixtures.model("fmnist_cnn"), "--data", empty.path], mentions: [empty.path, "class folders"])
        try FileManager.default.createDirectory(at: empty.appendingPathComponent("cls"), withIntermediateDirectories: true)
        try expectCLIError(["eval", "--model", Fixtures.model("fmnist_cnn"), "--data", empty.path], mentions: [empty.path, "no .jpg"])
    }

    @Test("a corrupt JPEG is named, or skipped and counted with --skip-bad-images")
    func corruptJPEG() throws {
        let root = Fixtures.temporaryDirectory()
        let cls = root.appendingPathComponent("0")
        try FileManager.default.createDirectory(at: cls, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.root.appendingPathComponent("preprocess/gray_28x28.png"), to: cls.appendingPathComponent("good.png"))
        let jpeg = try Data(contentsOf: Fixtures.root.appendingPathComponent("preprocess/rgb_q90_61x47.jpg"))
        let bad = cls.appendingPathComponent("broken.jpg")
        try (jpeg.prefix(20) + Data(repeating: 0x55, count: 40)).write(to: bad)
        try expectCLIError(["eval", "--model", Fixtures.model("fmnist_cnn"), "--data", root.path], mentions: [bad.path])
        let r = try runCLI(["eval", "--model", Fixtures.model("fmnist_cnn"), "--data", root.path, "--skip-bad-images", "--json"])
        #expect(r.status == 0)
        #expect(r.out.contains("\"skipped\":1"))
        #expect(r.out.contains("\"images\":1"))
        #expect(r.err.contains("skipped 1 unreadable images") && r.err.contains("broken.jpg"), "the skipped image is named: \(r.err)")
    }
}
