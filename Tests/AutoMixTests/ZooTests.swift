import Foundation
import Testing
@testable import AutoMix

/// The `.espdl` files of ESP-DL's model zoo and test apps (shared/fixtures/esp-dl-zoo, as ESP-PPQ wrote them): every
/// file reads, runs, and reproduces its embedded test outputs; the chip comes from the file.
@Suite struct ZooTests {
    /// shared/fixtures/esp-dl-zoo beside the repository when it is there (all files), else the small copies in Fixtures.
    static let shared = Fixtures.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/esp-dl-zoo")
    static let directory = FileManager.default.fileExists(atPath: shared.path) ? shared : Fixtures.root.appendingPathComponent("esp-dl-zoo")
    static let files: [String] = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?
        .filter { $0.hasSuffix(".espdl") }.sorted() ?? []
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    static func size(_ name: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path(name)))?[.size] as? Int) ?? 0 }
    /// Every file is emulated (a streaming model as its first call).
    static func emulated(_ name: String) -> Bool { true }

    @Test("the zoo fixtures are present (all 39 beside the repository, or the 17 small copies)")
    func present() { #expect(Self.files.count >= (Self.directory == Self.shared ? 39 : 17)) }

    @Test("embedded test outputs reproduced exactly (int8) with the target the file names",
          arguments: files.filter { emulated($0) && size($0) < 64_000 }, ESPDLTests.backends)
    func embeddedTestValues(_ file: String, _ gemm: GemmBackend) throws {
        let model = try ESPDLModel.load(Self.path(file))
        guard !model.testOutputs.isEmpty else { return }
        let expected: Target = file.contains("__c__") ? .c : file.contains("p4") ? .esp32p4 : .esp32s3
        #expect(model.model.target == expected, "\(file): \(model.targetSource)")
        let check = try model.checkTestValues(arithmetic: .espPPQ, gemm: gemm)
        #expect(check.maxAbsDiff == 0, "\(file) \(gemm): \(check.perOutput)")
    }

    @Test("a file without test values runs every node on the fixed input",
          arguments: files.filter { emulated($0) && size($0) < 3_000_000 })
    func runsOnFixedInput(_ file: String) throws {
        let model = try ESPDLModel.load(Self.path(file))
        guard model.testOutputs.isEmpty else { return }
        let run = try model.runOnFixedInput()
        #expect(run.outputs.count == model.model.graph.outputs.count)
        #expect(run.outputs.allSatisfy { $0.shape.reduce(1, *) > 0 })
    }

    @Test("the C target's filters are plain NHWC: read as SIMD blocks the Gemm misses its test values")
    func cFiltersArePlain() throws {
        let file = try #require(Self.files.first { $0.contains("__c__Gemm__linear_ishap_1_64") })
        let asC = try ESPDLModel.load(Self.path(file))
        #expect(asC.model.target == .c && asC.targetSource == "the file's metadata")
        #expect(try asC.checkTestValues().maxAbsDiff == 0)
        var blocks = try ESPDLFile.read(Self.path(file))
        for k in blocks.initializers.keys where blocks.initializers[k]!.layout == "NHWC" { blocks.initializers[k]!.doc = "layout ==> (N/16)HWC16" }
        blocks.metadata["target"] = nil
        #expect(try ESPDLModel.load(file: blocks).checkTestValues().maxAbsDiff > 0)
    }

    @Test("a target AutoMix cannot emulate is refused, naming it")
    func unknownTargetRefused() throws {
        var file = try ESPDLFile.read(Self.path(try #require(Self.files.first { $0.contains("esp32p4__Gemm") })))
        file.metadata["target"] = "esp32h4x"
        #expect(throws: AutoMixError.self) { try ESPDLModel.load(file: file) }
    }

    @Test("a streaming model runs as its first call: every StreamingCache is window − 1 zero frames before its input")
    func streamingFirstCall() throws {
        let file = try #require(Self.files.first { $0.contains("esp32p4__streaming_model") })
        let model = try ESPDLModel.load(Self.path(file))
        #expect(model.streaming)
        let caches = model.model.graph.nodes.filter { $0.op == .pad }
        #expect(caches.count == 5)
        #expect(try model.runOnFixedInput().outputs.count == 1)
    }
}

/// ESP-PPQ's exports of one-op models (Fixtures/esp-ppq-ops, Scripts/make_ppq_ops.py): the reference for the integer
/// kernels of PRelu, ReduceMean, Split, Resize, Swish, Erf/Gelu parts, Div, Sqrt, AvgPool, LeakyRelu, Tanh, Add, Mul.
@Suite struct ESPPPQOpTests {
    static let directory = Fixtures.root.appendingPathComponent("esp-ppq-ops")
    static let files: [String] = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?
        .filter { $0.hasSuffix(".espdl") }.sorted() ?? []

    @Test("all 39 one-op exports are present") func present() { #expect(Self.files.count == 39) }

    @Test("each reproduces ESP-PPQ's embedded test values: int8 exactly, int16 within the device's ±1", arguments: files)
    func reproduces(_ file: String) throws {
        let model = try ESPDLModel.load(Self.directory.appendingPathComponent(file).path)
        for gemm in ESPDLTests.backends {
            let check = try model.checkTestValues(arithmetic: .espPPQ, gemm: gemm)
            #expect(check.maxAbsDiff <= (file.contains("int16") ? 1 : 0), "\(file) \(gemm): \(check.perOutput)")
        }
    }
}
