import Foundation
import Kernels

/// Empirical bias correction (Nagel et al. 2019, §4.2): weight quantization shifts a layer's expected output by
/// `(Q(W) − W)·E[x]`; subtracting that from the bias puts the expectation back. E[x] is measured once on the
/// float model over the calibration images, per input channel and kernel tap (the mean of what that tap sees
/// over all output positions, padding zeros included: on a 7×7 map a 3×3 tap misses 2 of 7 rows). The correction
/// depends on each layer's width in a plan and is cheap, so a search applies it per plan.
public struct BiasCorrection: Sendable {
    public let graph: Graph
    /// Per layer: the mean input seen by each (input channel, tap), `c · taps + tap`.
    let inputMeans: [String: [Double]]

    public init(graph: Graph, batches: [Tensor]) throws {
        self.graph = graph
        var byInput: [String: [(Node, Window2D?)]] = [:]
        for n in Quantizer.layers(of: graph) {
            guard let w = LinearWeights(n, in: graph), let s = graph.shapes[n.inputs[0]] else { continue }
            var window: Window2D?
            if n.op == .conv {
                guard s.count == 4, w.weights.shape.count == 4 else { continue }
                window = try ConvGeometry(node: n, inH: s[2], inW: s[3], kernel: (w.weights.shape[2], w.weights.shape[3]))
                    .window(inH: s[2], inW: s[3])
            }
            byInput[n.inputs[0], default: []].append((n, window))
        }
        let readers = byInput
        let sums = MeanBox()
        let executor = try FloatExecutor(graph: graph, fuseActivations: false)
        for b in batches {
            _ = try executor.run(b) { name, t in
                for (n, window) in readers[name] ?? [] { sums.add(n.name, Self.tapSums(t, window), count: t.shape[0]) }
            }
        }
        inputMeans = sums.means
    }

    /// Σ over the images and output positions of the input each (channel, tap) reads; divided by the output positions.
    static func tapSums(_ t: Tensor, _ window: Window2D?) -> [Double] {
        let (batch, channels) = (t.shape[0], t.shape.count > 1 ? t.shape[1] : 1)
        guard let w = window else {
            var s = [Double](repeating: 0, count: channels)
            for i in t.data.indices { s[i % channels] += Double(t.data[i]) }
            return s
        }
        let taps = w.kH * w.kW, plane = w.inH * w.inW
        var s = [Double](repeating: 0, count: channels * taps)
        for n in 0..<batch {
            for c in 0..<channels {
                let base = (n * channels + c) * plane
                for ky in 0..<w.kH { for kx in 0..<w.kW {
                    var sum = 0.0
                    for oy in 0..<w.outH {
                        let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                        guard iy >= 0 && iy < w.inH else { continue }
                        for ox in 0..<w.outW {
                            let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                            if ix >= 0 && ix < w.inW { sum += Double(t.data[base + iy * w.inW + ix]) }
                        }
                    }
                    s[c * taps + ky * w.kW + kx] += sum / Double(w.outH * w.outW)
                }}
            }
        }
        return s
    }

    /// The graph with every integer Conv/Gemm's bias corrected for its width in `config` (float layers untouched),
    /// and the largest correction relative to its bias range, per layer.
    public func apply(_ config: QuantizationConfig) throws -> (Graph, [String: Double]) {
        var g = graph
        let q = Quantizer.weightsOnly(graph, config: config)
        let precision = try q.precisions()
        var shifts: [String: Double] = [:]
        for n in Quantizer.layers(of: graph) {
            guard let bits = precision[n.name]?.bits, let means = inputMeans[n.name], let l = LinearWeights(n, in: graph),
                  means.count == l.inChannels * l.taps else { continue }
            let error = Tensor(shape: l.weights.shape, data: zip(q.fakeQuantizedWeight(n, l.weights, bits: bits).data, l.weights.data).map { $0 - $1 })
            let shift = l.times(inputMeans: means, weights: error)
            var bias = n.inputs.count > 2 && !n.inputs[2].isEmpty ? g.constant(n.inputs[2])!.floatTensor
                : Tensor(zeros: [l.outChannels])
            for o in bias.data.indices { bias.data[o] -= Float(shift[o]) }
            if n.inputs.count < 3 || n.inputs[2].isEmpty {
                let name = n.name + "::bias"
                g.constants[name] = .float(bias)
                let i = g.nodes.firstIndex { $0.name == n.name }!
                g.nodes[i].inputs = Array(n.inputs.prefix(2)) + [name]
            } else {
                g.constants[n.inputs[2]] = .float(bias)
            }
            shifts[n.name] = shift.map(abs).max() ?? 0
        }
        return (g, shifts)
    }
}

/// Per-value channel sums gathered from concurrent workers.
private final class MeanBox: @unchecked Sendable {
    private let lock = NSLock()
    private var sums: [String: ([Double], Int)] = [:]
    func add(_ name: String, _ s: [Double], count: Int) {
        lock.lock(); defer { lock.unlock() }
        var (total, n) = sums[name] ?? ([Double](repeating: 0, count: s.count), 0)
        for i in s.indices { total[i] += s[i] }
        sums[name] = (total, n + count)
    }
    var means: [String: [Double]] { sums.mapValues { s, n in s.map { $0 / Double(max(n, 1)) } } }
}
