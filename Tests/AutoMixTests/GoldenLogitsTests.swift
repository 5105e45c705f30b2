import Foundation
import Testing
@testable import AutoMix

/// Logits against onnxruntime (Fixtures made by Scripts/make_golden.py with pip's onnxruntime).
@Suite struct GoldenLogitsTests {
    struct Case: CustomStringConvertible, Sendable {
        let name: String, model: String, golden: URL, inputShape: [Int], outputShape: [Int]
        var description: String { name }
    }

    static func cases(_ key: String) -> [Case] {
        let manifest = try! JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.root.appendingPathComponent("golden.json"))) as! [String: [[String: Any]]]
        return manifest[key]!.map { e in
            let name = e["name"] as! String
            let dir = key == "models" ? "logits" : "ops"
            let model = key == "models" ? Fixtures.model(name) : Fixtures.root.appendingPathComponent("ops/\(name).onnx").path
            return Case(name: name, model: model, golden: Fixtures.root.appendingPathComponent("\(dir)/\(name).out.bin"),
                        inputShape: e["input_shape"] as! [Int], outputShape: e["output_shape"] as! [Int])
        }
    }

    /// Conv's matrix products both ways this machine can run them: the own AVX-512 kernel and OpenBLAS.
    static let backends = GemmBackend.allCases.filter(\.isAvailable)

    @Test("every bundled model's logits equal onnxruntime's within 1e-4", arguments: cases("models"), backends)
    func models(_ c: Case, _ gemm: GemmBackend) throws { try expectGolden(c, gemm) }

    @Test("each op and opset form matches onnxruntime", arguments: cases("ops"), backends)
    func ops(_ c: Case, _ gemm: GemmBackend) throws { try expectGolden(c, gemm) }

    func expectGolden(_ c: Case, _ gemm: GemmBackend) throws {
        let graph = try Graph.prepared(onnx: c.model)
        let executor = try FloatExecutor(graph: graph, gemm: gemm)
        #expect(executor.gemm == gemm)
        let out = try executor.run(fixedInput(c.inputShape))[0]
        #expect(out.shape == c.outputShape)
        #expect(maxAbsDiff(out.data, try Fixtures.floats(c.golden)) < 1e-4)
    }

    @Test("rewrites remove what they fold: BN, Pad, bias Add, Identity, Dropout, shape chains, Clip forms")
    func rewritesFold() throws {
        func ops(_ name: String) throws -> [OpKind] {
            try Graph.prepared(onnx: Fixtures.root.appendingPathComponent("ops/\(name).onnx").path).nodes.map(\.op)
        }
        #expect(try ops("conv_bn_fold") == [.conv])
        #expect(try ops("gemm_bn_fold") == [.gemm])
        #expect(try ops("pad_into_conv") == [.conv])
        #expect(try ops("matmul_add") == [.gemm])
        #expect(try ops("identity_dropout") == [.relu])
        #expect(try ops("reshape_shape_chain") == [.reshape])
        #expect(try ops("clip_min_only_is_relu") == [.relu])
        // a BatchNorm no Conv/Gemm before it can absorb: ESP-PPQ's depthwise 1x1 Conv
        #expect(try ops("batchnorm_standalone") == [.add, .conv])
        let bn = try Graph.prepared(onnx: Fixtures.model("fmnist_mbv2s_bn"))
        #expect(!bn.nodes.contains { $0.op == .batchNormalization })
        #expect(bn.nodes.count == (try Graph.prepared(onnx: Fixtures.model("fmnist_mbv2s"))).nodes.count)
    }

    @Test("a rewritten graph saved as ONNX loads back and gives the same outputs")
    func saveRoundTrip() throws {
        let graph = try Graph.prepared(onnx: Fixtures.model("fmnist_mbv2s_bn"))
        let path = Fixtures.temporaryDirectory().appendingPathComponent("folded.onnx").path
        try graph.save(onnx: path)
        let back = try Graph.prepared(onnx: path)
        let x = fixedInput([3, 1, 28, 28])
        #expect(try FloatExecutor(graph: back).run(x)[0] == (try FloatExecutor(graph: graph).run(x)[0]))
    }

    @Test("a batch split over the cores equals image-by-image runs (to BLAS summation order)")
    func batchSplit() throws {
        let executor = try FloatExecutor(graph: try Graph.prepared(onnx: Fixtures.model("fmnist_cnn")))
        let x = fixedInput([5, 1, 28, 28])
        let whole = try executor.run(x)[0]
        for i in 0..<5 {
            let one = try executor.run(Tensor(shape: [1, 1, 28, 28], data: Array(x.data[(i * 784)..<((i + 1) * 784)])))[0]
            #expect(maxAbsDiff(Array(whole.data[(i * 10)..<((i + 1) * 10)]), one.data) < 1e-5)
        }
    }
}
