import Foundation
import Testing
@testable import AutoMix

/// ESP-PPQ's printed analyses, recomputed from the same calibration data.
@Suite struct AnalysisTests {
    /// `sin_mlp`'s data in ESP-PPQ's run: linspace(−π, π, 256) as [1]-shaped samples, batches of 8 in order.
    static func sinBatches() -> [Tensor] {
        let xs = (0..<256).map { Float(-Double.pi + 2 * Double.pi * Double($0) / 255) }
        return stride(from: 0, to: 256, by: 8).map { Tensor(shape: [8, 1], data: Array(xs[$0..<($0 + 8)])) }
    }

    @Test("sin_mlp esp32p4 int8: graphwise error prints as ESP-PPQ's log (1.608 % for the last Gemm)")
    func sinGraphwise() throws {
        let graph = try Graph.prepared(onnx: ESPDLTests.path("sin_mlp.onnx"))
        let config = QuantizationConfig(target: .esp32p4)
        let batches = Self.sinBatches()
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)), batches: batches)
        let model = try Quantizer(graph: graph, config: config, calibration: calibration).build()
        let espdl = try ESPDLModel.load(ESPDLTests.path("sin_mlp_esp32p4_int8.espdl"))
        #expect(ExponentComparison(model, espdl.model).fraction == 1)
        let graphwise = try Sensitivity.graphwise(float: graph, quantized: model, batches: Array(batches.prefix(Sensitivity.batchCount)))
        let table = Sensitivity.table(graphwise.map { ($0.key, $0.value) })
        print(table)
        #expect(table.contains("/4/Gemm: | ████████████████████ | 1.608%"))
        let layerwise = try Sensitivity.layerwise(float: graph, quantized: model, batches: Array(batches.prefix(Sensitivity.batchCount)))
        let layerTable = Sensitivity.table(layerwise.map { ($0.key, $0.value) })
        print(layerTable)
        #expect(layerTable.hasPrefix("""
            Layer    | NOISE:SIGNAL POWER RATIO 
            /0/Gemm: | ████████████████████ | 0.336%
            /4/Gemm: | ██                   | 0.039%
            /2/Gemm: |                      | 0.014%
            """))
    }

    @Test("cosine sensitivity: every quantized layer scored in (0.5, 1], int16 at least as close to its float layer as int8")
    func cosineOrdersWidths() throws {
        let graph = try BatchedTailTests.graph()
        var scores: [Int: [String: Double]] = [:]
        for bits in [8, 16] {
            let config = QuantizationConfig(target: .esp32p4, bits: bits)
            let batches = [BatchedTailTests.images(3), BatchedTailTests.images(2)]
            let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)),
                                                  batches: batches)
            let model = try Quantizer(graph: graph, config: config, calibration: calibration).build()
            scores[bits] = try Sensitivity.cosine(float: graph, quantized: model, config: config, batches: batches)
        }
        let int8 = try #require(scores[8]), int16 = try #require(scores[16])
        #expect(Set(int8.keys) == ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "fc"] && Set(int16.keys) == Set(int8.keys))
        for (layer, v) in int8 {
            #expect(v > 0.5 && v <= 1 && int16[layer]! <= 1, "\(layer): \(v)")
            #expect(int16[layer]! >= v, "\(layer): int16 \(int16[layer]!) against int8 \(v)")
            // int8 loses visibly (1 − score ≈ quantization noise power), int16 about 2^16 times less
            #expect(1 - int16[layer]! < (1 - v) / 16 || 1 - v < 1e-9, "\(layer)")
        }
    }

    @Test("cosine sensitivity: a batch scored piece by piece (one image at a time) as in one piece")
    func cosinePiecesAddUp() throws {
        let graph = try BatchedTailTests.graph()
        let config = QuantizationConfig(target: .esp32p4, bits: 8)
        let batches = [BatchedTailTests.images(3), BatchedTailTests.images(2)]
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config)),
                                              batches: batches)
        let model = try Quantizer(graph: graph, config: config, calibration: calibration).build()
        let whole = try Sensitivity.cosine(float: graph, quantized: model, config: config, batches: batches, pieceImages: 3)
        let pieces = try Sensitivity.cosine(float: graph, quantized: model, config: config, batches: batches, pieceImages: 1)
        #expect(whole.count == 8 && Set(pieces.keys) == Set(whole.keys))
        for (layer, v) in whole {
            // the float reference may sum in another order for another batch size: float32 rounding, far below the
            // differences between layers
            #expect(abs(pieces[layer]! - v) <= 1e-5 * (1 - v) + 1e-12, "\(layer): \(pieces[layer]!) against \(v)")
        }
    }
}
