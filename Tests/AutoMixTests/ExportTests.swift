import Foundation
import Testing
@testable import AutoMix

/// The writers: `.espdl` against ESP-PPQ 1.3.12's own exports and AutoMix's reader, the deploy ONNX read back,
/// the fake-quant ONNX against the integer executor, and refusals before anything is written.
@Suite(.serialized) struct ExportTests {
    static func plan(_ model: String, target: Target, bits: Int = 8, layers: [String: Precision] = [:],
                     exponentsFrom export: String? = nil) throws -> QuantizedModel {
        let imposed = try export.map { try ESPDLModel.load(ESPDLTests.path($0 + ".espdl")).model }
        var config = QuantizationConfig(target: target, bits: bits)
        config.layers = layers
        return try QuantizationTests.quantize(model, config, imposed: imposed).1
    }

    static let mixed: [String: Precision] = ["/features/features.0/Conv": .int16, "/features/features.3/conv/conv.3/Conv": .int16,
                                             "/classifier/Gemm": .int16]

    @Test("with ESP-PPQ's exponents, AutoMix's .espdl equals ESP-PPQ's in structure: op order, attributes, initializer types, dims, exponents, bytes, LUTs",
          arguments: [("fmnist_mbv2s", Target.esp32p4, 8, "fmnist_mbv2s_esp32p4_int8"), ("fmnist_mbv2s", .esp32s3, 8, "fmnist_mbv2s_esp32s3_int8"),
                      ("fmnist_mbv2s", .esp32p4, 16, "fmnist_mbv2s_esp32p4_int16"), ("fmnist_mbv2s", .esp32p4, 8, "fmnist_mbv2s_esp32p4_mixed8_16"),
                      ("fmnist_cnn", .esp32p4, 8, "fmnist_cnn_esp32p4_int8")])
    func structure(_ model: String, _ target: Target, _ bits: Int, _ export: String) throws {
        let ours = try ESPDLExporter(model: try Self.plan(model, target: target, bits: bits,
                                                          layers: export.contains("mixed") ? Self.mixed : [:], exponentsFrom: export)).export()
        // through the bytes, so that the writer is covered too
        let dir = Fixtures.temporaryDirectory()
        try ours.write(to: dir.appendingPathComponent("m.espdl").path)
        let a = try ESPDLFile.read(dir.appendingPathComponent("m.espdl").path)
        let b = try ESPDLFile.read(ESPDLTests.path(export + ".espdl"))
        #expect(a.nodes.map(\.opType) == b.nodes.map(\.opType))
        #expect(a.inputs.map { "\($0.dataType!) \($0.shape) \($0.exponent)" } == b.inputs.map { "\($0.dataType!) \($0.shape) \($0.exponent)" })
        for (x, y) in zip(a.nodes, b.nodes) {
            #expect(x.attributes.filter { $0.key != "lut" } == y.attributes.filter { $0.key != "lut" }, "\(x.name)")
            #expect(x.inputs.count == y.inputs.count, "\(x.name)")
            var pairs = zip(x.inputs, y.inputs).compactMap { u, v in a.initializers[u].map { ($0, b.initializers[v]) } }
            if case let .string(l)? = x.attributes["lut"], case let .string(m)? = y.attributes["lut"] {
                pairs.append((a.initializers[l]!, b.initializers[m]))
            }
            for (t, u) in pairs {
                guard let u else { Issue.record("\(x.name): \(t.name) is an initializer only in AutoMix's file"); continue }
                #expect(t.dataType == u.dataType && t.dims == u.dims && t.exponents == u.exponents && t.doc == u.doc, "\(x.name): \(t.name)")
                #expect(t.ints == u.ints && t.floats == u.floats, "\(x.name): \(t.name) values")
            }
        }
    }

    @Test("AutoMix's .espdl, re-read by the reader, computes exactly the plan's integers: embedded test values and 100 images",
          arguments: [("p4-int8", Target.esp32p4, 8, [String: Precision]()),
                      ("s3-mixed-float", .esp32s3, 8, ["/features/features.0/Conv": .int16, "/features/features.10/conv/conv.0/Conv": .float]),
                      ("p4-int16", .esp32p4, 16, [:])])
    func roundTrip(_ label: String, _ target: Target, _ bits: Int, _ layers: [String: Precision]) throws {
        let plan = try Self.plan("fmnist_mbv2s", target: target, bits: bits, layers: layers)
        let dir = Fixtures.temporaryDirectory()
        let paths = try ModelWriters.write(plan, formats: [.espdl], directory: dir.path, name: "m", testInput: QuantizationTests.val.batch(0..<1))
        #expect(paths.map { URL(fileURLWithPath: $0).lastPathComponent } == ["m.espdl", "m.info", "m.json"])
        let back = try ESPDLModel.load(dir.appendingPathComponent("m.espdl").path)
        #expect(back.model.target == target)
        #expect(try back.checkTestValues(arithmetic: .exact).maxAbsDiff == 0)
        let images = QuantizationTests.val.batch(0..<100)
        let a = try QuantExecutor(model: plan).run(images)[0], b = try QuantExecutor(model: back.model).run(images)[0]
        #expect(a.data == b.data)
    }

    @Test("automix inspect prints an .espdl like ESP-PPQ's .info (graph part)")
    func inspect() throws {
        let r = try runCLI(["inspect", ESPDLTests.path("fmnist_cnn_esp32p4_int8.espdl")])
        #expect(r.status == 0)
        #expect(r.out.contains("graph main_graph (") && r.out.contains("= Gemm[activation = 'Relu'"))
        let bad = try runCLI(["inspect", ESPDLTests.path("fmnist_cnn_esp32p4_int8.log")])
        #expect(bad.status != 0 && bad.err.contains("fmnist_cnn_esp32p4_int8.log"))
    }

    @Test("the deploy ONNX holds the plan's integer weights and biases, and reads back into the same integers")
    func deployONNX() throws {
        let plan = try Self.plan("fmnist_mbv2s", target: .esp32p4, layers: ["/features/features.0/Conv": .int16])
        let dir = Fixtures.temporaryDirectory()
        _ = try ModelWriters.write(plan, formats: [.deployONNX], directory: dir.path, name: "m")
        let file = try ESPDLFile.read(deployONNX: dir.appendingPathComponent("m_deploy_model.onnx").path)
        let back = try ESPDLModel.load(file: file, target: .esp32p4).model
        #expect(back.parameters.count == plan.parameters.count)
        for (name, p) in plan.parameters {
            let q = back.parameters[name]
            #expect(q?.codes == p.codes && q?.exponents == p.exponents && q?.shape == p.shape, "\(name)")
        }
        #expect(file.initializers.values.contains { $0.dataType == .int64 })   // the int16 layer's bias
        let images = QuantizationTests.val.batch(0..<50)
        #expect(try QuantExecutor(model: back).run(images)[0].data == QuantExecutor(model: plan).run(images)[0].data)
    }

    @Test("the fake-quant graph (standard ops only) run in float reproduces the integer executor: int8 exactly, a float layer to float precision, int16 in top-1",
          arguments: [(Target.esp32p4, [String: Precision]()), (.esp32s3, [:]), (.esp32p4, ["/classifier/Gemm": .float]),
                      (.esp32s3, ["/features/features.0/Conv": .int16])])
    func fakeQuant(_ target: Target, _ layers: [String: Precision]) throws {
        let plan = try Self.plan("fmnist_mbv2s", target: target, layers: layers)
        let fq = try FakeQuantGraph(model: plan).graph()
        #expect(try FakeQuantGraph(model: plan).onnxModel().producerVersion == AutoMixVersion.string)
        #expect(fq.nodes.allSatisfy { !$0.op.isQuantOnly || $0.op == .quantizeLinear || $0.op == .dequantizeLinear })
        #expect(!fq.nodes.contains { $0.attributes["activation"] != nil })
        let images = QuantizationTests.val.batch(0..<200)
        let a = try FloatExecutor(graph: fq).run(images)[0], b = try QuantExecutor(model: plan).run(images)[0]
        let step = plan.formats[plan.graph.outputs[0].name].map { Float($0.scale) } ?? 1e-4
        let worst = maxAbsDiff(a.data, b.data) / step
        if layers.isEmpty {
            #expect(worst == 0)
        } else if layers.values.contains(.int16) {
            // float32 sums of 16-bit products are not exact, and one-step differences grow through later layers
            let agree = zip(a.argmaxRows(), b.argmaxRows()).filter { $0 == $1 }.count
            #expect(agree >= 198, "top-1 agreement \(agree)/200, worst \(worst) steps")
        } else {
            #expect(worst <= 1, "\(worst) × 1e-4")
        }
    }

    @Test("automix --version prints the version the ONNX files carry")
    func version() throws {
        let r = try runCLI(["--version"])
        #expect(r.status == 0 && r.out.trimmingCharacters(in: .whitespacesAndNewlines) == AutoMixVersion.string)
    }

    @Test("a plan with an op ESP-DL cannot run is refused, naming op and node, before anything is written")
    func refusesUnsupported() throws {
        var plan = try Self.plan("fmnist_cnn", target: .esp32p4)
        let last = plan.graph.outputs[0].name
        plan.graph.nodes.append(Node(name: "extra_dropout", op: .dropout, inputs: [last], outputs: ["dropped"]))
        let dir = Fixtures.temporaryDirectory()
        #expect {
            _ = try ModelWriters.write(plan, formats: [.all], directory: dir.path, name: "m")
        } throws: { "\($0)".contains("Dropout") && "\($0)".contains("extra_dropout") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("writing into a read-only folder is a clear error and leaves no partial file")
    func readOnlyFolder() throws {
        let plan = try Self.plan("fmnist_cnn", target: .esp32p4)
        let dir = Fixtures.temporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path) }
        // root (CI) ignores permission bits: there a folder under a regular file stands in for an unwritable one
        var target = dir.path
        if access(dir.path, W_OK) == 0 {
            let file = Fixtures.temporaryDirectory().appendingPathComponent("plain-file")
            try Data([1]).write(to: file)
            target = file.appendingPathComponent("results").path
        }
        #expect {
            _ = try ModelWriters.write(plan, formats: [.espdl], directory: target, name: "m")
        } throws: { "\($0)".contains("cannot write") && "\($0)".contains(target) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}

extension Tensor {
    /// Index of the largest value of each row of a [N, K] tensor.
    func argmaxRows() -> [Int] {
        let k = shape[1]
        return (0..<shape[0]).map { r in (0..<k).max { data[r * k + $0] < data[r * k + $1] }! }
    }
}
