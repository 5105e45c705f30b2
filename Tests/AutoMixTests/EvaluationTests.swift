import Foundation
import Testing
@testable import AutoMix

/// The accuracies the dataset README gives for the float models, through AutoMix's own data path.
@Suite(.serialized) struct EvaluationTests {
    @Test("Fashion-MNIST test split: top-1 91.23 / 91.23 / 91.12 %", arguments: [
        ("fmnist_mbv2s", 91.23), ("fmnist_mbv2s_bn", 91.23), ("fmnist_cnn", 91.12),
    ])
    func fashion(_ model: String, _ expected: Double) throws {
        let graph = try Graph.prepared(onnx: Fixtures.model(model))
        let data = try Dataset.load(try ImageFolder(root: Fixtures.fashion + "/val"),
                                    preprocessing: Preprocessing(crop: (28, 28), channels: 1))
        #expect(data.count == 10_000)
        let result = try Evaluation.run(try FloatExecutor(graph: graph), on: data, batchSize: 250)
        #expect(abs(result.top1 - expected) < 0.005)
    }

    @Test("ImageNet MobileNetV2 names all 62 photos by their folder (numeric labels, no resize)")
    func imagenet() throws {
        let graph = try Graph.prepared(onnx: Fixtures.model("mobilenetv2_imagenet"))
        let folder = try ImageFolder(root: Fixtures.dataset("imagenet_photos"), labels: .numeric)
        let data = try Dataset.load(folder, preprocessing: Preprocessing(resize: .none, crop: (224, 224), channels: 3,
                                                                           mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]))
        let result = try Evaluation.run(try FloatExecutor(graph: graph), on: data, batchSize: 16)
        #expect(result.images == 62)
        #expect(result.top1 == 100)
    }

    @Test("eval --json ends with top1/top5/images/images_per_s, --predictions writes one row per image")
    func cliJSON() throws {
        let csv = Fixtures.temporaryDirectory().appendingPathComponent("p.csv").path
        let r = try runCLI(["eval", "--model", Fixtures.model("mobilenetv2_imagenet"), "--data", Fixtures.dataset("imagenet_photos"),
                            "--labels", "numeric", "--resize", "none", "--mean", "0.485", "0.456", "0.406",
                            "--std", "0.229", "0.224", "0.225", "--predictions", csv, "--json"])
        #expect(r.status == 0)
        let last = try #require(r.out.split(separator: "\n").last)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        #expect(json["top1"] as? Double == 100)
        #expect(json["images"] as? Int == 62)
        #expect((json["images_per_s"] as? Double ?? 0) > 0)
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(rows.first == "file,top1,label,top5")
        #expect(rows.count == 63)
        let row = rows[1].split(separator: ",")
        #expect(row[1] == row[2])
        #expect(row[3].split(separator: " ").count == 5)
    }

    @Test("label rules: sorted folder order, numeric names, class-list file")
    func labelRules() throws {
        let root = Fixtures.temporaryDirectory()
        let png = Fixtures.root.appendingPathComponent("preprocess/gray_28x28.png")
        for folder in ["b", "a", "10", "2"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: png, to: root.appendingPathComponent("\(folder)/x.png"))
        }
        let sorted = try ImageFolder(root: root.path)
        #expect(sorted.samples.map { ($0.path as NSString).pathComponents.suffix(2).first! } == ["10", "2", "a", "b"])
        #expect(sorted.samples.map(\.label) == [0, 1, 2, 3])
        let list = root.appendingPathComponent("classes.txt")
        try "b\na\n2\n10\n".write(to: list, atomically: true, encoding: .utf8)
        #expect(try ImageFolder(root: root.path, labels: .file(list.path)).samples.map(\.label) == [3, 2, 1, 0])
        #expect(throws: AutoMixError.self) { try ImageFolder(root: root.path, labels: .numeric) }
    }
}
