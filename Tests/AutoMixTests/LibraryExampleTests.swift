import AutoMix
import Foundation
import Testing

/// The example of docs/library.md: the lines between the markers are the doc's code block, character for character
/// (checked below), so the documented example always compiles and runs.
func libraryExample(model modelPath: String, calib: String, data: String, results: String) throws -> (int8: Double, mixed: Double) {
    // docs/library.md begin
    // 1. The float model, rewritten as AutoMix runs it (constants folded, BatchNorm folded into Conv, …).
    let graph = try Graph.prepared(onnx: modelPath, inputShape: nil)
    guard let input = graph.imageInput else { throw AutoMixError.invalidArgument("\(modelPath): not an image model") }

    // 2. Images as torchvision gives them: short-side resize, center crop, /255 (add mean/std for ImageNet models).
    let preprocessing = Preprocessing(resize: .auto, crop: (input.height, input.width), channels: input.channels)
    let calibSet = try Dataset.load(try ImageFolder(root: calib), preprocessing: preprocessing, limit: 256)
    let evalSet = try Dataset.load(try ImageFolder(root: data), preprocessing: preprocessing, limit: 1000)

    // 3. One calibration (ESP-PPQ's observers, on the weight-quantized graph) serves every plan for the chip.
    let config = QuantizationConfig(target: .esp32p4)
    let calibration = try Calibration.run(for: graph, config: config, batches: calibSet.batches(of: 32))

    // 4. A plan names the layers that are not int8; the integer executor computes what the chip computes.
    //    Plans share most layers: a RebuildCache keeps weight codes and packed integer kernels between them.
    let rebuilds = RebuildCache()
    func quantize(_ plan: [String: Precision]) throws -> (model: QuantizedModel, top1: Double) {
        var planned = config
        planned.layers = plan
        let model = try Quantizer(graph: graph, config: planned, calibration: calibration, cache: rebuilds).build()
        let result = try Evaluation.run(try QuantExecutor(model: model, cache: rebuilds), on: evalSet, batchSize: 32)
        return (model, result.top1)
    }
    let firstLayer = Quantizer.layers(of: graph)[0].name
    let int8 = try quantize([:])
    let mixed = try quantize([firstLayer: .int16])
    print("all int8: \(int8.top1) %; with \(firstLayer) in int16: \(mixed.top1) %")

    // 5. The plan for the chip: the .espdl is read back and emulated before it is written.
    let files = try ModelWriters.write(mixed.model, formats: [.espdl], directory: results, name: "model",
                                       testInput: calibSet.batch(0..<1))
    print("wrote \(files.joined(separator: ", "))")
    // docs/library.md end
    return (int8.top1, mixed.top1)
}

/// The search example of docs/library.md: the whole search as one call, as `automix search` makes it.
func librarySearchExample(model modelPath: String, calib: String, data: String, folder: String) throws -> SearchReport {
    // docs/library.md search begin
    let graph = try Graph.prepared(onnx: modelPath, inputShape: nil)
    guard let input = graph.imageInput else { throw AutoMixError.invalidArgument("\(modelPath): not an image model") }
    let preprocessing = Preprocessing(resize: .auto, crop: (input.height, input.width), channels: input.channels)
    var request = SearchRequest(
        modelPath: modelPath, graph: graph,
        evaluation: try Dataset.load(try ImageFolder(root: data), preprocessing: preprocessing, limit: 500), evaluationPath: data,
        calibration: try Dataset.load(try ImageFolder(root: calib), preprocessing: preprocessing, limit: 256), calibrationPath: calib)
    request.target = .esp32s3
    request.metric = .agreement          // with the float model's own top-1: no labels needed
    request.maxDrop = 0                  // not one image may change its class
    request.objective = .cost            // the cheapest plan on the chip (CostModel), not the fewest layers
    request.folders = SearchFolders(results: folder + "/Results", log: folder + "/amct_log", tmp: folder + "/tmp")
    let report = try AutoSearch.run(request, log: SearchLog(path: folder + "/amct_log/automix.log", append: false))
    if report.budgetMet {
        print("int16: \(report.int16Layers), chip cost \(report.chipCost!) vs all-int8 \(report.int8Cost.chipCost)")
        print("\(report.trials) trials, \(report.fullEvaluations) full evaluations; files: \(report.modelFiles)")
    }
    // docs/library.md search end
    return report
}

@Suite("The library example (docs/library.md)")
struct LibraryExampleTests {
    @Test("the search example runs the whole search from the library: its final plan meets the budget, in full, and is on the front")
    func search() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = try librarySearchExample(model: Fixtures.model("fmnist_cnn"), calib: Fixtures.fashion + "/calib",
                                              data: Fixtures.fashion + "/val", folder: dir.path)
        #expect(report.budgetMet)
        #expect(report.finalMetric == 100)
        #expect(!report.int16Layers.isEmpty || !report.floatLayers.isEmpty)
        #expect(report.paretoFront.contains { $0.chosen && $0.metric == 100 })
        #expect(report.fullEvaluations <= Double(report.trials))
        let journal = try SearchJournal.read(URL(fileURLWithPath: report.journal))
        #expect(journal.trials[journal.finalTrial!].complete)
        let espdl = try ESPDLModel.load(dir.appendingPathComponent("Results/fmnist_cnn.espdl").path)
        #expect(try espdl.checkTestValues(arithmetic: .exact).passes)
    }

    @Test("runs on the bundled model: the .espdl it writes passes its own embedded test values on the emulated chip")
    func runs() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (int8, mixed) = try libraryExample(model: Fixtures.model("fmnist_mbv2s"), calib: Fixtures.fashion + "/calib",
                                               data: Fixtures.fashion + "/val", results: dir.path)
        // 1,000 Fashion-MNIST test images; the float model scores 91.2 % on all 10,000
        #expect((85...95).contains(int8) && (85...95).contains(mixed))
        let espdl = try ESPDLModel.load(dir.appendingPathComponent("model.espdl").path)
        #expect(try espdl.checkTestValues(arithmetic: .exact).passes)
    }

    @Test("docs/library.md shows exactly the code this test compiles", arguments: ["docs/library.md", "docs/library.md search"])
    func documentMatchesCode(marker: String) throws {
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let begin = "    // \(marker) begin\n", end = "    // \(marker) end\n"
        let code = source[source.range(of: begin)!.upperBound..<source.range(of: end)!.lowerBound]
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("    ") ? String($0.dropFirst(4)) : String($0) }.joined(separator: "\n")
        let doc = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("docs/library.md"), encoding: .utf8)
        let blocks = doc.components(separatedBy: "```swift\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.contains { $0.contains(code) }, "docs/library.md has no swift block with the \(marker) example's body")
    }
}
