import Foundation
import Testing
@testable import AutoMix

/// PRelu, Split and ReduceMean planned in integer, against ESP-PPQ 1.3.12's exports of the same ONNX models
/// (Fixtures/esp-ppq-planned): given ESP-PPQ's exponents, AutoMix writes ESP-PPQ's graph.
@Suite struct ESPPPQPlannedOpTests {
    static let directory = Fixtures.root.appendingPathComponent("esp-ppq-planned")
    static let cases: [(String, Target, Int)] = ["prelu", "split", "reducemean"].flatMap { op in
        [(Target.esp32p4, 8), (.esp32s3, 8), (.esp32p4, 16)].map { (op, $0.0, $0.1) }
    }

    @Test("given ESP-PPQ's exponents, the integer plan of PRelu / Split / ReduceMean is written as ESP-PPQ writes it", arguments: cases)
    func sameGraph(_ op: String, _ target: Target, _ bits: Int) throws {
        let path = Self.directory.appendingPathComponent("\(op)_\(target.rawValue)_int\(bits).espdl").path
        let theirs = try ESPDLFile.read(path)
        let reference = try ESPDLModel.load(path)
        let graph = try Graph.prepared(onnx: Self.directory.appendingPathComponent("\(op).onnx").path)
        let config = QuantizationConfig(target: target, bits: bits)
        let batches = (0..<4).map { _ in ESPDLExporter.normalInput(shape: [8, 3, 8, 8]) }
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)), batches: batches)
        let plan = try Quantizer(graph: graph, config: config, calibration: calibration, imposed: reference.model).build()
        #expect(plan.graph.nodes.allSatisfy { plan.precision(of: $0) != .float }, "every op integer")
        let input = reference.testInputs[0]
        let real = Tensor(shape: input.codes.shape, data: input.codes.data.map { $0 * Float(input.format!.scale) })
        let ours = try ESPDLExporter(model: plan).export(testInput: real)
        #expect(ours.nodes.map(\.opType) == theirs.nodes.map(\.opType))
        for (x, y) in zip(ours.nodes, theirs.nodes) {
            #expect(x.attributes.filter { $0.key != "lut" } == y.attributes.filter { $0.key != "lut" }, "\(x.name)")
            for (u, v) in zip(x.inputs, y.inputs) {
                guard let a = ours.initializers[u] else { continue }
                guard let b = theirs.initializers[v] else { Issue.record("\(x.name): \(u) is an initializer only in AutoMix's file"); continue }
                #expect(a.dataType == b.dataType && a.dims == b.dims && a.exponents == b.exponents && a.ints == b.ints && a.floats == b.floats,
                        "\(x.name): \(a.name) \(a.dataType) \(a.dims) \(a.exponents) vs \(b.dataType) \(b.dims) \(b.exponents)")
            }
        }
        #expect(ours.testInputs.map(\.ints) == theirs.testInputs.map(\.ints))
        if bits == 8 { #expect(ours.testOutputs.map(\.ints) == theirs.testOutputs.map(\.ints)) }
    }
}
