import Foundation
import Kernels

/// Weights, biases and constant operands as integer codes: the parameter half of the quantizer.
extension Quantizer {
    /// Weights per output channel (esp32p4) or per tensor (esp32s3); the bias at the accumulator's exponent.
    func quantizeParameters(_ n: inout Node, bits: Int, input: QuantFormat, into parameters: inout [String: QuantizedParameter],
                            graph g: Graph) throws {
        guard var w = g.constant(n.inputs[1])?.floatTensor else { throw ShapeInference.fail(n, "the weight is not a constant") }
        if n.op == .gemm && n.int("transB", default: 0) == 0 {
            w = LayoutOps.transpose(w, perm: [1, 0])
            n.attributes["transB"] = .int(1)
        }
        let given = imposed?.parameters[n.inputs[1]]?.exponents
        let inputs = WeightInputs(values: w, bits: bits, given: given, observer: config.weightObserver(bits: bits),
                                  perChannel: config.perChannelWeights, rounding: config.target.rounding)
        let (codes, exponents) = cache?.value("weight|" + n.inputs[1], inputs: inputs) { quantizeWeight(w, bits: bits, exponents: given) }
            ?? quantizeWeight(w, bits: bits, exponents: given)
        let weightName = uniqueName(n.inputs[1], for: n, in: parameters)
        parameters[weightName] = QuantizedParameter(shape: w.shape, codes: codes, exponents: exponents, bits: bits)
        n.inputs[1] = weightName
        if n.inputs.count > 2, !n.inputs[2].isEmpty, let b = g.constant(n.inputs[2])?.floatTensor {
            let biasBits = config.target.biasBits(forBits: bits)
            let biasExponents = exponents.map { input.exponent + $0 }
            let codes = b.data.enumerated().map { c, x in
                QuantFormat(bits: biasBits, exponent: biasExponents.count == 1 ? biasExponents[0] : biasExponents[c])
                    .quantize(Double(x), config.target.rounding)
            }
            let biasName = uniqueName(n.inputs[2], for: n, in: parameters)
            parameters[biasName] = QuantizedParameter(shape: [b.count], codes: codes, exponents: biasExponents, bits: biasBits)
            n.inputs[2] = biasName
        }
    }

    /// Constant operands of Add/Sub/Mul/Div at the op's width: Add/Sub's at the output's exponent (ESP-PPQ aligns their
    /// inputs to the output), Mul/Div's at the power-of-two exponent of their largest magnitude.
    func quantizeOperands(_ n: inout Node, bits: Int, output: QuantFormat?, into parameters: inout [String: QuantizedParameter], graph g: Graph) {
        for k in n.inputs.indices.dropFirst() {
            guard let c = g.constant(n.inputs[k])?.floatTensor else { continue }
            var s = ValueStatistics()
            s.min = Swift.min(c.data.min() ?? 0, 0); s.max = Swift.max(c.data.max() ?? 0, 0)
            let own = s.exponent(.minmax, bits: bits)
            let exponent = n.op.rule.constantOperand == .atOutputExponent ? output?.exponent ?? own : own
            let q = QuantFormat(bits: bits, exponent: exponent)
            let name = uniqueName(n.inputs[k], for: n, in: parameters)
            parameters[name] = QuantizedParameter(shape: c.shape, codes: c.data.map { q.quantize(Double($0), config.target.rounding) },
                                                  exponents: [exponent], bits: bits)
            n.inputs[k] = name
        }
    }

    /// Codes and exponents of a weight `[N, …]`: per output channel (esp32p4) or per tensor (esp32s3).
    func quantizeWeight(_ w: Tensor, bits: Int, exponents given: [Int]? = nil) -> (codes: [Int64], exponents: [Int]) {
        let channels = w.shape[0]
        let perChannel = w.count / channels
        let observer = config.weightObserver(bits: bits)
        var exponents: [Int]
        if let given {
            exponents = given
        } else if config.perChannelWeights {
            exponents = (0..<channels).map { c in
                var s = ValueStatistics()
                let slice = w.data[(c * perChannel)..<((c + 1) * perChannel)]
                s.min = slice.min() ?? 0; s.max = slice.max() ?? 0
                return s.exponent(observer == .percentile ? .minmax : observer, bits: bits)
            }
        } else {
            var s = ValueStatistics()
            s.min = w.data.min() ?? 0; s.max = w.data.max() ?? 0
            if observer == .percentile {
                // torch.kthvalue positions of ESP-PPQ's percentile observer, over the whole tensor
                let count = w.count, q = ValueStatistics.percentile
                var copy = w.data
                copy.withUnsafeMutableBufferPointer {
                    s.percentileLow = Double(kthSmallest($0.baseAddress!, count: count, k: Int(Double(count) * (1 - q)) + 1))
                    s.percentileHigh = Double(kthSmallest($0.baseAddress!, count: count, k: Swift.min(Int(Double(count) * q), count - 1) + 1))
                }
                s.batches = 1
            }
            exponents = [s.exponent(observer == .kl ? .minmax : observer, bits: bits)]
        }
        let mode = config.target.rounding
        let codes = w.data.enumerated().map { i, x -> Int64 in
            QuantFormat(bits: bits, exponent: exponents.count == 1 ? exponents[0] : exponents[i / perChannel]).quantize(Double(x), mode)
        }
        return (codes, exponents)
    }

    /// The float graph with every Conv/Gemm's weights replaced by their quantized values at the config's default
    /// width: ESP-PPQ quantizes parameters before it calibrates activations, so its observers see these. Per-layer
    /// overrides are left out on purpose, so that one calibration serves every plan of a search and
    /// `quantize --config` with the final plan calibrates exactly as the search did.
    public static func weightQuantizedGraph(_ graph: Graph, config: QuantizationConfig) throws -> Graph {
        var base = config
        base.layers = [:]
        let q = weightsOnly(graph, config: base)
        let precision = try q.precisions()
        var g = graph
        for n in graph.nodes where n.op.rule.format == .layer {
            guard let bits = precision[n.name]?.bits, let w = graph.constant(n.inputs[1])?.floatTensor else { continue }
            g.constants[n.inputs[1]] = .float(q.fakeQuantizedWeight(n, w, bits: bits))
        }
        return g
    }

    /// A Conv/Gemm weight (in the graph's layout) quantized at `bits` with the config's weight observer, and back.
    func fakeQuantizedWeight(_ n: Node, _ w: Tensor, bits: Int) -> Tensor {
        let transposed = n.op == .gemm && n.int("transB", default: 0) == 0
        let w = transposed ? LayoutOps.transpose(w, perm: [1, 0]) : w
        let (codes, exponents) = quantizeWeight(w, bits: bits)
        let fake = QuantizedParameter(shape: w.shape, codes: codes, exponents: exponents, bits: bits).dequantized
        return transposed ? LayoutOps.transpose(fake, perm: [1, 0]) : fake
    }

    /// A quantizer for weights only (no calibration statistics).
    static func weightsOnly(_ graph: Graph, config: QuantizationConfig) -> Quantizer {
        Quantizer(graph: graph, config: config, calibration: Calibration(statistics: [:], images: 0, batchSize: 0, seconds: 0))
    }

    /// Initializers shared by several layers get one integer copy per layer.
    func uniqueName(_ name: String, for n: Node, in parameters: [String: QuantizedParameter]) -> String {
        parameters[name] == nil ? name : "\(name)::\(n.name)"
    }
}

/// Everything `quantizeWeight` reads, for `RebuildCache`.
private struct WeightInputs: Equatable {
    let values: Tensor
    let bits: Int
    let given: [Int]?
    let observer: Observer
    let perChannel: Bool
    let rounding: RoundingMode
}
