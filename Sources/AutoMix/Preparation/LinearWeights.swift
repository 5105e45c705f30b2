/// A Conv or Gemm weight seen as a matrix of output × input channels, whatever its layout: Conv
/// `[cout, cin/group, kh, kw]` (grouped: input channel `g·cin/group + j`), Gemm `[N, K]` (transB) or `[K, N]`.
/// Equalization, layer split and bias correction all work per output or per input channel through it.
struct LinearWeights {
    let node: Node
    var weights: Tensor
    let outChannels: Int
    let inChannels: Int
    private let layout: Layout

    private enum Layout { case conv(coutPerGroup: Int, cinPerGroup: Int, taps: Int), rowsOut, rowsIn }

    /// Nil when the node is not a Conv/Gemm with a constant weight (or a Gemm with transA/alpha ≠ 1).
    init?(_ n: Node, in graph: Graph) {
        guard n.op == .conv || n.op == .gemm, n.inputs.count > 1, let w = graph.constant(n.inputs[1])?.floatTensor else { return nil }
        node = n
        weights = w
        switch n.op {
        case .conv:
            guard w.shape.count >= 3 else { return nil }
            let group = n.int("group", default: 1)
            let taps = w.shape.dropFirst(2).reduce(1, *)
            layout = .conv(coutPerGroup: w.shape[0] / group, cinPerGroup: w.shape[1], taps: taps)
            outChannels = w.shape[0]
            inChannels = w.shape[1] * group
        default:
            guard w.shape.count == 2, n.int("transA", default: 0) == 0, n.float("alpha", default: 1) == 1 else { return nil }
            if n.int("transB", default: 0) != 0 {
                layout = .rowsOut; (outChannels, inChannels) = (w.shape[0], w.shape[1])
            } else {
                layout = .rowsIn; (outChannels, inChannels) = (w.shape[1], w.shape[0])
            }
        }
    }

    /// The output and input channel of flat weight index `i`.
    @inline(__always) func channels(_ i: Int) -> (out: Int, in: Int) {
        switch layout {
        case let .conv(coutPerGroup, cinPerGroup, taps):
            let o = i / (cinPerGroup * taps)
            return (o, (o / coutPerGroup) * cinPerGroup + (i / taps) % cinPerGroup)
        case .rowsOut: return (i / inChannels, i % inChannels)
        case .rowsIn: return (i % outChannels, i / outChannels)
        }
    }

    /// Kernel taps per (output, input) channel pair: kh·kw for a Conv, 1 for a Gemm.
    var taps: Int {
        if case let .conv(_, _, taps) = layout { return taps }
        return 1
    }

    /// max |w| per output channel (`perOutput`) or per input channel.
    func absMax(perOutput: Bool) -> [Float] {
        var m = [Float](repeating: 0, count: perOutput ? outChannels : inChannels)
        for (i, x) in weights.data.enumerated() {
            let (o, c) = channels(i)
            let k = perOutput ? o : c
            m[k] = max(m[k], abs(x))
        }
        return m
    }

    /// `w[o, c] · outScale[o] / inScale[c]`; either may be nil (all ones).
    func scaled(out outScale: [Float]?, in inScale: [Float]?) -> Tensor {
        var t = weights
        for i in t.data.indices {
            let (o, c) = channels(i)
            t.data[i] = t.data[i] * (outScale?[o] ?? 1) / (inScale?[c] ?? 1)
        }
        return t
    }

    /// Σ_c,tap w[o, c, tap] · v[c · taps + tap] for every output channel o.
    func times(inputMeans v: [Double], weights w: Tensor? = nil) -> [Double] {
        var r = [Double](repeating: 0, count: outChannels)
        let taps = self.taps
        for (i, x) in (w ?? weights).data.enumerated() {
            let (o, c) = channels(i)
            r[o] += Double(x) * v[c * taps + i % taps]
        }
        return r
    }
}
