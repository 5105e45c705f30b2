import Foundation
import Testing
@testable import AutoMix

/// ESP-PPQ 1.3.12's own exports (Fixtures/esp-ppq, copied from shared/fixtures) read and emulated by AutoMix.
@Suite struct ESPDLTests {
    static let directory = Fixtures.root.appendingPathComponent("esp-ppq")
    static let files: [String] = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?
        .filter { $0.hasSuffix(".espdl") }.sorted() ?? []
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @Test("all 15 ESP-PPQ exports are present") func present() { #expect(Self.files.count == 15) }

    /// Every Conv kernel this CPU runs: the integer ones (VNNI bytes, AVX2 int16 pairs) and the float-held sums.
    static let backends = GemmBackend.allCases.filter(\.isAvailable)

    @Test("automix run's emulation reproduces every embedded test output (int8 exactly, int16 within ±1), with every Conv kernel",
          arguments: files, backends)
    func embeddedTestValues(_ file: String, _ gemm: GemmBackend) throws {
        let model = try ESPDLModel.load(Self.path(file))
        #expect(model.model.target == (file.contains("esp32s3") ? .esp32s3 : .esp32p4))
        let check = try model.checkTestValues(arithmetic: .espPPQ, gemm: gemm)
        #expect(check.passes, "\(file) \(gemm): \(check.perOutput)")
        // every int8 Conv with its depthwise Conv fused (ExpandDepthwise): the same codes
        let fused = try model.checkTestValues(arithmetic: .espPPQ, gemm: gemm, fusedFromBytes: 0)
        #expect(fused.passes && fused.perOutput.map(\.maxAbsDiff) == check.perOutput.map(\.maxAbsDiff), "\(file) \(gemm) fused: \(fused.perOutput)")
        // int8 files match with the chip's exact arithmetic too; ESP-PPQ's float32 int16 simulation drifts by a step or two
        let exact = try model.checkTestValues(arithmetic: .exact, gemm: gemm)
        #expect(exact.maxAbsDiff <= (file.contains("int16") ? 2 : 0), "\(file) \(gemm): \(exact.perOutput)")
        let exactFused = try model.checkTestValues(arithmetic: .exact, gemm: gemm, fusedFromBytes: 0)
        #expect(exactFused.perOutput.map(\.maxAbsDiff) == exact.perOutput.map(\.maxAbsDiff), "\(file) \(gemm) fused: \(exactFused.perOutput)")
    }

    @Test("a packed filter unpacks to the ONNX order it was packed from", arguments: [(8, false), (16, false), (8, true), (16, true)])
    func packRoundTrip(_ bits: Int, _ depthwise: Bool) {
        let (n, c) = depthwise ? (37, 1) : (21, 5)
        let onnx = (0..<(n * c * 9)).map { Int64($0) }
        let packed = WeightLayout.pack(onnx, n: n, c: c, kH: 3, kW: 3, depthwise: depthwise, bits: bits)
        #expect(Set(packed).count == onnx.count)
        #expect(WeightLayout.unpack(packed, n: n, c: c, kH: 3, kW: 3, depthwise: depthwise, bits: bits) == onnx)
    }

    @Test("a truncated or foreign file is refused with a one-line error naming it")
    func badFiles() throws {
        let dir = Fixtures.temporaryDirectory()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.path("sin_mlp_esp32p4_int8.espdl")))
        let truncated = dir.appendingPathComponent("truncated.espdl")
        try bytes.prefix(600).write(to: truncated)
        let foreign = dir.appendingPathComponent("foreign.espdl")
        try Data("not a model at all".utf8).write(to: foreign)
        for url in [truncated, foreign] {
            #expect {
                _ = try ESPDLModel.load(url.path)
            } throws: { e in
                let d = (e as? AutoMixError)?.description ?? ""
                return d.hasPrefix(url.path) && !d.contains("\n")
            }
        }
    }

    @Test("automix run --json reports test_max_abs_diff and, with --data, ESP-PPQ's top-1 of 91.04 % on 10,000 images")
    func runCLI() throws {
        let r = try AutoMixTests.runCLI(["run", Self.path("fmnist_mbv2s_esp32p4_int8.espdl"), "--data", Fixtures.fashion + "/val", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let json = try JSONSerialization.jsonObject(with: Data(r.out.split(separator: "\n").last!.utf8)) as! [String: Any]
        #expect(json["test_max_abs_diff"] as? Int == 0)
        #expect(json["top1"] as? Double == 91.04)
        #expect(json["images"] as? Int == 10_000)
    }
}
