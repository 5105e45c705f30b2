import COpenBLAS
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
    /// the error accumulated from the input up to that layer. Images are independent, so each batch is split over the cores.
    public static func graphwise(float graph: Graph, quantized model: QuantizedModel, batches: [Tensor],
                                 progress: Progress? = nil) throws -> [String: Double] {
        let layers = Quantizer.layers(of: graph)
        let layerOf = Dictionary(layers.map { ($0.outputs[0], $0.name) }, uniquingKeysWith: { a, _ in a })
        let floatExecutor = try FloatExecutor(graph: graph, fuseActivations: false)
        let quantExecutor = try QuantExecutor(model: model)
        let sums = LockedSums(), fetches = FetchIndices()
        let workers = Parallelism.workers
        openblas_set_num_threads(1)
        for batch in batches {
            let b = batch.shape[0]
            let failure = LockedSums.Failure()
            DispatchQueue.concurrentPerform(iterations: min(workers, b)) { w in
                let r = (b * w / workers)..<(b * (w + 1) / workers)
                // the measure is per image: each worker's images go `chunkLimit` at a time, so values stay in cache
                for first in stride(from: r.lowerBound, to: r.upperBound, by: floatExecutor.chunkLimit) {
                    let part = batch.images(first..<min(first + floatExecutor.chunkLimit, r.upperBound))
                    do {
                        var reference: [String: [[Float]]] = [:]
                        _ = try floatExecutor.runChunk(part) { name, t in
                            if let layer = layerOf[name] { reference[layer] = sample(t, fetches.of(t.count / t.shape[0])) }
                        }
                        _ = try quantExecutor.run(part) { layer, t, scale in
                            guard let ref = reference[layer] else { return }
                            let q = sample(t, fetches.of(t.count / t.shape[0])).map { $0.map { $0 * scale } }
                            sums.add(layer, zip(ref, q).reduce(0) { $0 + noiseToSignal(real: $1.0, quantized: $1.1) }, count: part.shape[0])
                        }
                    } catch { failure.set(error) }
                }
            }
            if let e = failure.error { throw e }
            progress?.advance()
        }
        progress?.finish(batches.count)
        return sums.means()
    }

    /// ESP-PPQ's layerwise analysis: each Conv/Gemm quantized alone, the graph outputs compared with the float
    /// model's. Alone means as ESP-PPQ restores one op: its weights and bias; its input only when it reads the
    /// graph input (elsewhere the input's config belongs to the float producer); its output unless a following
    /// Relu/Clip shares it. The images are traced `chunkLimit` at a time (a 32-image batch does not fit the caches),
    /// `subBatch` traces per round (default 16) across the calibration batches, the traces spread over the cores;
    /// each layer then re-runs only what follows it, the cores taking the next layer as they finish (first layers
    /// first: they cost most): the steps before the executor's batched tail trace by trace, the tail on the round's
    /// images at once (`FloatExecutor.rerun(_:from:replacement:)`). The measure is per image, so rounds give the
    /// batches' values. `progress` counts layers × images.
    public static func layerwise(float graph: Graph, quantized model: QuantizedModel, batches: [Tensor], subBatch: Int = 16,
                                 progress: Progress? = nil) throws -> [String: Double] {
        let executor = try FloatExecutor(graph: graph)
        let layers = Quantizer.layers(of: graph).filter { model.precisions[$0.name]?.bits != nil }
        let consumers = model.graph.consumers()
        let fakes = try layers.map { try FakeQuantLayer(layer: $0, graph: graph, model: model, consumers: consumers) }
        let sums = LockedSums()
        let workers = Parallelism.workers
        let traced = executor.chunkLimit, perRound = max(1, subBatch) * traced
        var done = 0
        openblas_set_num_threads(1)
        for round in imageRounds(batches, perRound) {
            let count = round.shape[0]
            let firsts = Array(stride(from: 0, to: count, by: traced))
            let traces = try parallelMap(firsts.count, workers: workers) { t in
                try executor.trace(round.images(firsts[t]..<min(firsts[t] + traced, count)))
            }
            let reference = traces.flatMap { $0.outputs.map { sample($0, nil) } }
            let outputCount = traces[0].outputs.count
            _ = try parallelMap(fakes.count, workers: workers) { k in
                let outputs = try executor.rerun(traces, from: fakes[k].name) { try fakes[k].evaluate($0, $1, opset: graph.opset) }
                var sum = 0.0
                for (o, q) in outputs.enumerated() {
                    // the reference of output o, trace by trace, in image order
                    let r = stride(from: o, to: reference.count, by: outputCount).flatMap { reference[$0] }
                    sum += zip(r, sample(q, nil)).reduce(0) { $0 + noiseToSignal(real: $1.0, quantized: $1.1) }
                }
                sums.add(fakes[k].name, sum, count: count * outputs.count)
                progress?.advance(by: count)
            }
            done += fakes.count * count
        }
        progress?.finish(done)
        return sums.means()
    }

    /// The batches' images regrouped `perRound` at a time (a round may be shorter: the last, and one before a batch
    /// whose images have another shape, which starts a new round).
    static func imageRounds(_ batches: [Tensor], _ perRound: Int) -> [Tensor] {
        var rounds: [Tensor] = [], pending: [Tensor] = [], held = 0
        func closeRound() {
            guard !pending.isEmpty else { return }
            rounds.append(pending.count == 1 ? pending[0] : Tensor(concatenatingImages: pending))
            pending = []
            held = 0
        }
        for batch in batches {
            if let last = pending.last, last.shape.dropFirst() != batch.shape.dropFirst() { closeRound() }
            var first = 0
            while first < batch.shape[0] {
                let take = min(perRound - held, batch.shape[0] - first)
                pending.append(take == batch.shape[0] ? batch : batch.images(first..<first + take))
                held += take
                first += take
                if held == perRound { closeRound() }
            }
        }
        closeRound()
        return rounds
    }

    /// `body(0..<count)` on `workers` threads, each taking the next index as it finishes (so indices start in
    /// order); the results in index order, or the first error thrown.
    static func parallelMap<T>(_ count: Int, workers: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        let results = Box<[T?]>(Array(repeating: nil, count: count))
        let next = LockedCounter(), failure = LockedSums.Failure(), lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: min(workers, count)) { _ in
            while let i = next.take(below: count) {
                do {
                    let r = try body(i)
                    lock.lock(); results.value[i] = r; lock.unlock()
                } catch { failure.set(error) }
            }
        }
        if let e = failure.error { throw e }
        return results.value.map { $0! }
    }

    /// AMCT's isolated sensitivity: per batch `0.5 + 0.5·cos(y_float, y_quantized)` of each layer's own output on
    /// the inputs it receives in the weight-quantized float model; lower is more sensitive. `pieceImages`: images per
    /// piece (default: the executor's `chunkLimit`); any size gives the same scores.
    public static func cosine(float graph: Graph, quantized model: QuantizedModel, config: QuantizationConfig,
                              batches: [Tensor], pieceImages: Int? = nil, progress: Progress? = nil) throws -> [String: Double] {
        let inputsGraph = try Quantizer.weightQuantizedGraph(graph, config: config)
        let executor = try FloatExecutor(graph: inputsGraph, fuseActivations: false)
        let layers = Quantizer.layers(of: graph).filter { model.precisions[$0.name]?.bits != nil }
        let kernelOf: [String: (IntegerLinear, QuantFormat, PackedConvWeights?)] = Dictionary(uniqueKeysWithValues: layers.compactMap { layer in
            guard let deployed = model.graph.nodes.first(where: { $0.name == layer.name }),
                  case let .linear(l)? = try? QuantExecutor.kernel(for: deployed, model),
                  let input = model.formats[deployed.inputs[0]] else { return nil }
            // the float reference on the executors' own packed kernel (OpenBLAS otherwise)
            let packed = layer.op == .conv ? graph.constant(layer.inputs[1]).map {
                PackedConvWeights(conv: $0.floatTensor, group: layer.int("group", default: 1), backend: .preferred)
            } ?? nil : nil
            return (layer.name, (l, input, packed))
        })
        let readers = Dictionary(grouping: layers, by: { $0.inputs[0] })
        let scores = LockedSums()
        let workers = Parallelism.workers
        for batch in batches {
            // pieces of `chunkLimit` images keep each layer's input, reference and quantized output in cache (MobileNetV2:
            // 27 MB of layer inputs per image, held for a whole 32-image batch before); a batch's cosine is over all its
            // values, so the pieces' sums add up before the score is taken
            let b = batch.shape[0]
            let piece = executor.batchSplittable && executor.fixedBatch == nil ? max(1, pieceImages ?? executor.chunkLimit) : b
            let firsts = Array(stride(from: 0, to: b, by: piece))
            openblas_set_num_threads(firsts.count == 1 ? Int32(workers) : 1)
            let parts = try parallelMap(firsts.count, workers: workers) { p in
                let part = batch.images(firsts[p]..<min(firsts[p] + piece, b))
                let sums = CosineSums()
                func measure(_ name: String, _ x: Tensor) {
                    for layer in readers[name] ?? [] {
                        guard let (kernel, format, packed) = kernelOf[layer.name] else { continue }
                        do {
                            let inputs: [Tensor?] = layer.inputs.enumerated().map { $0.offset == 0 ? x : graph.constant($0.element)?.floatTensor }
                            let reference = try FloatOps.evaluate(layer, inputs, opset: graph.opset, packed: packed)[0]
                            let quantized = try kernel.preActivation(QuantExecutor.quantize(x, format, model.target.rounding),
                                                                     outShape: reference.shape)
                            sums.add(layer.name, reference.data, quantized.data)
                        } catch { sums.failure = sums.failure ?? error }
                    }
                }
                measure(graph.inputs[0].name, part)
                _ = try executor.runChunk(part) { name, t in measure(name, t) }
                if let e = sums.failure { throw e }
                return sums.byLayer
            }
            for (name, s) in CosineSums.merged(parts) { scores.add(name, cosineScore(s), count: 1) }
            progress?.advance()
        }
        progress?.finish(batches.count)
        return scores.means()
    }

    /// `0.5 + 0.5·cos(a, b)` from `Σ a·b`, `Σ a²` and `Σ b²` (`productSums`); 1 when `a` is zero, 0 when only `b` is.
    static func cosineScore(_ s: ProductSums) -> Double {
        if s.aa == 0 { return 1 }
        if s.bb == 0 { return 0 }
        return 0.5 + 0.5 * s.ab / (s.aa.squareRoot() * s.bb.squareRoot())
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

/// One Conv/Gemm as ESP-PPQ's layerwise analysis restores it, evaluated in float: quantized weights and bias,
/// the input fake-quantized only when it is the graph input, the output unless a Relu/Clip shares it.
struct FakeQuantLayer: Sendable {
    let name: String
    let node: Node
    let weight: Tensor
    let bias: Tensor?
    let input: QuantFormat?
    let output: QuantFormat?
    let rounding: RoundingMode

    init(layer n: Node, graph: Graph, model: QuantizedModel, consumers: [String: [Int]]) throws {
        guard let deployed = model.graph.nodes.first(where: { $0.name == n.name }), let w = model.parameters[deployed.inputs[1]] else {
            throw AutoMixError.invalidArgument("layer '\(n.name)' has no integer weights")
        }
        name = n.name
        node = n
        var t = w.dequantized
        if n.op == .gemm && n.int("transB", default: 0) == 0 { t = LayoutOps.transpose(t, perm: [1, 0]) }
        weight = t
        bias = deployed.inputs.count > 2 ? model.parameters[deployed.inputs[2]]?.dequantized : nil
        input = n.inputs[0] == graph.inputs[0].name ? model.formats[deployed.inputs[0]] : nil
        output = QuantExecutor.sharesOutput(deployed, model, consumers) ? nil : model.formats[deployed.outputs[0]]
        rounding = model.target.rounding
    }

    func evaluate(_ inputs: [Tensor?], _ clamp: Clamp, opset: Int) throws -> [Tensor] {
        var x = inputs[0]!
        if let input { x = QuantExecutor.dequantize(QuantExecutor.quantize(x, input, rounding), input) }
        var y = try FloatOps.evaluate(node, [x, weight, bias], opset: opset, clamp: clamp)
        if let output { y[0] = QuantExecutor.dequantize(QuantExecutor.quantize(y[0], output, rounding), output) }
        return y
    }
}

/// Per-layer sums filled from several workers.
final class LockedSums: @unchecked Sendable {
    private let lock = NSLock()
    private var sums: [String: (Double, Int)] = [:]
    func add(_ key: String, _ value: Double, count: Int) {
        lock.lock(); let s = sums[key] ?? (0, 0); sums[key] = (s.0 + value, s.1 + count); lock.unlock()
    }
    func means() -> [String: Double] { sums.mapValues { $0.0 / Double(max($0.1, 1)) } }

    final class Failure: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var error: Error?
        func set(_ e: Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
    }
}

/// `Σ a·b`, `Σ a²`, `Σ b²` of a layer's float and quantized outputs (`Kernels.productSums`).
typealias ProductSums = (ab: Double, aa: Double, bb: Double)

/// One worker's cosine sums per layer over its pieces of a batch (`Sensitivity.cosine`), and the first error.
final class CosineSums {
    private(set) var byLayer: [String: ProductSums] = [:]
    var failure: Error?
    func add(_ layer: String, _ a: [Float], _ b: [Float]) {
        let s = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
            productSums(ap.baseAddress!, bp.baseAddress!, count: min(a.count, b.count))
        }}
        let t = byLayer[layer] ?? (0, 0, 0)
        byLayer[layer] = (t.ab + s.ab, t.aa + s.aa, t.bb + s.bb)
    }

    /// The workers' sums added per layer.
    static func merged(_ parts: [[String: ProductSums]]) -> [String: ProductSums] {
        parts.reduce(into: [:]) { total, part in
            for (name, s) in part {
                let t = total[name] ?? (0, 0, 0)
                total[name] = (t.ab + s.ab, t.aa + s.aa, t.bb + s.bb)
            }
        }
    }
}

/// `Sensitivity.fetchIndices` per element count, drawn once (every layer of every image asks).
final class FetchIndices: @unchecked Sendable {
    private let lock = NSLock()
    private var drawn: [Int: [Int]] = [:]
    func of(_ elements: Int) -> [Int] {
        lock.lock(); defer { lock.unlock() }
        if let d = drawn[elements] { return d }
        let d = Sensitivity.fetchIndices(elements: elements)
        drawn[elements] = d
        return d
    }
}

/// Hands out 0, 1, 2, … to the threads that ask.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    func take(below end: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < end else { return nil }
        next += 1
        return next - 1
    }
}

/// A mutable cell for observer callbacks.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
