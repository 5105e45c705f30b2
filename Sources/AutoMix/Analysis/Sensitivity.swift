import Foundation
import Kernels

/// ESP-PPQ's NOISE:SIGNAL POWER RATIO analyses and AMCT's cosine sensitivity
/// (shared/specs/espdl-format-and-quantization.md §4, amct-accuracy-based-calibration.md §1.4).
public enum Sensitivity {
    /// ESP-PPQ's default: 8 steps, and its loops stop after batch index 8, so 9 batches.
    public static let batchCount = 9

    /// `batch_random_fetch`'s LCG indices, drawn with replacement (ESP-PPQ samples 4096 values per image with seed 10086).
    static func fetchIndices(elements n: Int, fetches: Int = 4096, seed: UInt64 = 10086) -> [Int] {
        var s = seed
        return (0..<fetches).map { _ in
            defer { s = (0x343FD &* s &+ 0x269EC3) % (1 << 32) }
            return Int(s % UInt64(n))
        }
    }

    /// Each image's values at `indices` (or all of them).
    static func sample(_ t: Tensor, _ indices: [Int]?) -> [[Float]] {
        let b = t.shape[0], n = t.count / max(b, 1)
        return (0..<b).map { i in
            guard let indices else { return Array(t.data[(i * n)..<((i + 1) * n)]) }
            return indices.map { t.data[i * n + $0] }
        }
    }

    /// `torch_snr_error` per image: Σ(q − r)² / (Σ r² + 1e-7).
    static func noiseToSignal(real: [Float], quantized: [Float]) -> Double {
        var noise = 0.0, signal = 0.0
        for (r, q) in zip(real, quantized) {
            let d = Double(q) - Double(r)
            noise += d * d
            signal += Double(r) * Double(r)
        }
        return noise / (signal + 1e-7)
    }

    /// ESP-PPQ's graphwise analysis: every Conv/Gemm output of the quantized model against the float model,
    /// the error accumulated from the input up to that layer.
    public static func graphwise(float graph: Graph, quantized model: QuantizedModel, batches: [Tensor]) throws -> [String: Double] {
        let layers = Quantizer.layers(of: graph)
        let layerOf = Dictionary(layers.map { ($0.outputs[0], $0.name) }, uniquingKeysWith: { a, _ in a })
        let floatExecutor = try FloatExecutor(graph: graph, fuseActivations: false)
        let quantExecutor = try QuantExecutor(model: model)
        var sums: [String: Double] = [:]
        var images = 0
        for batch in batches {
            let reference = Box<[String: [[Float]]]>([:])
            _ = try floatExecutor.run(batch, split: false) { name, t in
                guard let layer = layerOf[name] else { return }
                reference.value[layer] = sample(t, fetchIndices(elements: t.count / t.shape[0]))
            }
            _ = try quantExecutor.run(batch) { layer, t in
                guard let r = reference.value[layer] else { return }
                let q = sample(t, fetchIndices(elements: t.count / t.shape[0]))
                sums[layer, default: 0] += zip(r, q).reduce(0) { $0 + noiseToSignal(real: $1.0, quantized: $1.1) }
            }
            images += batch.shape[0]
        }
        return sums.mapValues { $0 / Double(max(images, 1)) }
    }

    /// ESP-PPQ's layerwise analysis: each Conv/Gemm quantized alone, the graph outputs compared with the float
    /// model's. Alone means as ESP-PPQ restores one op: its weights and bias; its input only when it reads the
    /// graph input (elsewhere the input's config belongs to the float producer); its output unless a following
    /// Relu/Clip shares it. The rest of the network stays float.
    public static func layerwise(float graph: Graph, quantized model: QuantizedModel, batches: [Tensor],
                                 progress: Progress? = nil) throws -> [String: Double] {
        let floatExecutor = try FloatExecutor(graph: graph)
        let references = try batches.map { try floatExecutor.run($0) }
        let layers = Quantizer.layers(of: graph).filter { model.precisions[$0.name]?.bits != nil }
        var result: [String: Double] = [:]
        for (k, layer) in layers.enumerated() {
            let executor = try QuantExecutor(model: try singleLayerModel(graph, model, layer: layer.name))
            var sum = 0.0, count = 0
            for (batch, reference) in zip(batches, references) {
                let outputs = try executor.run(batch)
                for (r, q) in zip(reference, outputs) {
                    sum += zip(sample(r, nil), sample(q, nil)).reduce(0) { $0 + noiseToSignal(real: $1.0, quantized: $1.1) }
                    count += batch.shape[0]
                }
            }
            result[layer.name] = sum / Double(max(count, 1))
            progress?.update(k + 1)
        }
        progress?.finish(layers.count)
        return result
    }

    /// The float graph with one layer fake-quantized as ESP-PPQ's layerwise analysis restores it.
    static func singleLayerModel(_ graph: Graph, _ model: QuantizedModel, layer name: String) throws -> QuantizedModel {
        guard let i = graph.nodes.firstIndex(where: { $0.name == name }),
              let deployed = model.graph.nodes.first(where: { $0.name == name }) else {
            throw AutoMixError.invalidArgument("layer '\(name)' is not in the model")
        }
        var g = graph
        var n = g.nodes[i]
        var formats: [String: QuantFormat] = [:]
        var precisions = Dictionary(uniqueKeysWithValues: g.nodes.map { ($0.name, Precision.float) })
        var nodes = Array(g.nodes[..<i])
        // weights and bias as the quantized model holds them
        for k in 1..<min(n.inputs.count, 3) where !n.inputs[k].isEmpty {
            guard let p = model.parameters[deployed.inputs[k]] else { continue }
            var t = p.dequantized
            if k == 1 && n.op == .gemm && n.int("transB", default: 0) == 0 { t = LayoutOps.transpose(t, perm: [1, 0]) }
            let key = "\(n.inputs[k])::fake-quant"
            g.constants[key] = .float(t)
            n.inputs[k] = key
        }
        func fakeQuant(_ value: String, _ q: QuantFormat) -> String {
            let coded = value + "::codes", back = value + "::fake-quant"
            nodes.append(Node(name: "QuantizeLinear::" + value, op: .quantizeLinear, inputs: [value], outputs: [coded]))
            nodes.append(Node(name: "DequantizeLinear::" + value, op: .dequantizeLinear, inputs: [coded], outputs: [back]))
            formats[coded] = q
            return back
        }
        if n.inputs[0] == g.inputs[0].name, let q = model.formats[deployed.inputs[0]] { n.inputs[0] = fakeQuant(n.inputs[0], q) }
        let output = n.outputs[0]
        let shared = QuantExecutor.sharesOutput(deployed, model, model.graph.consumers())
        if !shared, let q = model.formats[deployed.outputs[0]] {
            n.outputs[0] = output + "::float"
            nodes.append(n)
            let back = fakeQuant(n.outputs[0], q)
            nodes.append(Node(name: "Identity::" + output, op: .identity, inputs: [back], outputs: [output]))
        } else {
            nodes.append(n)
        }
        nodes += g.nodes[(i + 1)...]
        g.nodes = nodes
        for m in nodes where precisions[m.name] == nil { precisions[m.name] = m.op == .quantizeLinear ? Precision(bits: formats[m.outputs[0]]!.bits) : .float }
        try g.inferShapes()
        return QuantizedModel(graph: g, target: model.target, precisions: precisions, formats: formats, parameters: [:])
    }

    /// AMCT's isolated sensitivity: per batch `0.5 + 0.5·cos(y_float, y_quantized)` of each layer's own output on
    /// the inputs it receives in the weight-quantized float model; lower is more sensitive.
    public static func cosine(float graph: Graph, quantized model: QuantizedModel, config: QuantizationConfig,
                              batches: [Tensor]) throws -> [String: Double] {
        let inputsGraph = try Quantizer.weightQuantizedGraph(graph, config: config)
        let executor = try FloatExecutor(graph: inputsGraph, fuseActivations: false)
        let layers = Quantizer.layers(of: graph).filter { model.precisions[$0.name]?.bits != nil }
        var kernels: [String: (IntegerLinear, QuantFormat)] = [:]
        for layer in layers {
            guard let deployed = model.graph.nodes.first(where: { $0.name == layer.name }),
                  case let .linear(l)? = try? QuantExecutor.kernel(for: deployed, model),
                  let input = model.formats[deployed.inputs[0]] else { continue }
            kernels[layer.name] = (l, input)
        }
        let readers = Dictionary(grouping: layers, by: { $0.inputs[0] })
        var sums: [String: Double] = [:]
        for batch in batches {
            let found = Box<[(Node, Tensor)]>([])
            _ = try executor.run(batch, split: false) { name, t in
                for layer in readers[name] ?? [] { found.value.append((layer, t)) }
            }
            for (layer, x) in found.value {
                guard let (kernel, format) = kernels[layer.name] else { continue }
                let inputs: [Tensor?] = layer.inputs.map { graph.constant($0)?.floatTensor } .enumerated().map { $0.offset == 0 ? x : $0.element }
                let reference = try FloatOps.evaluate(layer, inputs, opset: graph.opset)[0]
                let q = QuantExecutor.quantize(x, format, model.target.rounding)
                let quantized = try kernel.preActivation(q, outShape: reference.shape)
                sums[layer.name, default: 0] += cosineScore(reference.data, quantized.data)
            }
        }
        return sums.mapValues { $0 / Double(max(batches.count, 1)) }
    }

    static func cosineScore(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        if na == 0 { return 1 }
        if nb == 0 { return 0 }
        return 0.5 + 0.5 * dot / (na.squareRoot() * nb.squareRoot())
    }

    /// ESP-PPQ's `MeasurePrinter` table, largest first.
    public static func table(_ values: [(String, Double)], measure: String = "NOISE:SIGNAL POWER RATIO") -> String {
        let rows = values.sorted { $0.1 > $1.1 }
        let width = max(rows.map { $0.0.count + 1 }.max() ?? 0, "Layer".count)
        let lo = rows.map(\.1).min() ?? 0, hi = rows.map(\.1).max() ?? 0
        var out = "Layer" + String(repeating: " ", count: width - 5) + " | \(measure) \n"
        for (name, v) in rows {
            let k = Int((20 * (v - lo) / (hi - lo + 1e-7)).rounded())
            out += "\(name):" + String(repeating: " ", count: width - name.count - 1) + " | "
                + String(repeating: "█", count: k) + String(repeating: " ", count: 20 - k) + " | " + String(format: "%.3f%%", v * 100) + "\n"
        }
        return out
    }
}

/// A mutable cell for observer callbacks.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
