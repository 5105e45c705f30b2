import Kernels

/// An integer Conv whose codes only a depthwise Conv reads (MobileNet's expand 1×1 before its 3×3), run as one step:
/// each panel of the Conv's output channels (8 int8 or 4 int16 on VNNI) goes through the depthwise taps while it is
/// still in L2, so the value between them, MobileNetV2's 96×112×112 codes per image, is never written out and read
/// back. The same kernels on the same codes as the two steps apart, so the same codes out, bit for bit.
public struct ExpandDepthwise: Sendable {
    /// Bytes of the Conv's codes per image from which the fused step runs (the executors hold codes as floats). Measured
    /// on MobileNetV2 (one core, batch 16, fused and apart alternating): features.2's 4.8 MB went 27 % faster;
    /// features.0/3/4's 1.6–1.8 MB, which stay in cache anyway, 2–9 % slower (a depthwise call per panel); and below,
    /// the Conv loses `FoldedImages`, which makes small planes' products wide.
    public static let paysFrom = 3 << 20

    let conv: IntegerLinear
    let depthwise: IntegerLinear
    let sums: IntegerLinear.DepthwiseSums
    let arithmetic: Arithmetic

    /// nil unless the Conv runs on a streaming integer kernel (int8 or int16) and the depthwise layer on taps that make
    /// its codes (float32 sums or the exact taps), as `IntegerLinear.run` chooses for this `arithmetic`, one output
    /// channel per input channel.
    init?(conv: IntegerLinear, depthwise: IntegerLinear, arithmetic: Arithmetic) {
        guard conv.node.op == .conv, let integer = conv.integer, integer.streams, arithmetic == .exact || conv.float32Exact,
              let sums = depthwise.depthwiseSums(arithmetic), depthwise.node.int("group", default: 1) == depthwise.weights.shape[0],
              depthwise.weights.shape[0] == conv.weights.shape[0] else { return nil }
        self.conv = conv
        self.depthwise = depthwise
        self.sums = sums
        self.arithmetic = arithmetic
    }

    /// The depthwise layer's codes for the Conv's input `x`; `middle` is the Conv's output shape.
    func run(_ x: Tensor, middle: [Int]) throws -> Tensor {
        guard middle.count == 4 else { throw ShapeInference.fail(conv.node, "the fused Conv and depthwise Conv need 4-D values") }
        let kernelSize = (depthwise.weights.shape[2], depthwise.weights.shape[3])
        let win = try ConvGeometry(node: depthwise.node, inH: middle[2], inW: middle[3], kernel: kernelSize)
            .window(inH: middle[2], inW: middle[3])
        let outShape = [middle[0], middle[1], win.outH, win.outW]
        var out = Tensor(uninitialized: outShape)
        let plane = outShape[1] * win.outH * win.outW, area = kernelSize.0 * kernelSize.1
        switch sums {
        case .float32:
            let taps = ConvOp.depthwiseKernel(win, backend: depthwise.gemm)
            let (bias, scales) = depthwise.float32Parameters
            let clamp = depthwise.codeClamp
            var scratch = [Float](repeating: 0, count: depthwiseScratchCount(win))
            try depthwise.weights.data.withUnsafeBufferPointer { wp in try bias.withUnsafeBufferPointer { bp in
            try scales.withUnsafeBufferPointer { sp in try scratch.withUnsafeMutableBufferPointer { scr in
            try out.data.withUnsafeMutableBufferPointer { op in
                try stream(x, middle: middle) { image, first, rows, codes in
                    taps(codes, rows, 1, win, wp.baseAddress! + first * area, bp.baseAddress! + first, clamp,
                         CodeRounding(scales: sp.baseAddress! + first, mode: depthwise.rounding), scr.baseAddress!,
                         op.baseAddress! + image * plane + first * win.outH * win.outW)
                }
            }}}}}
        case .exact:
            // the exact taps take 3×3 windows only; any other runs as the two layers apart
            guard depthwise3x3Applies(win) else {
                let codes = try conv.run(x, outShape: middle, arithmetic: arithmetic)
                return try depthwise.run(codes, outShape: outShape, arithmetic: arithmetic)
            }
            let taps = depthwise.exactDepthwiseTaps
            let scratch = ExactDepthwiseTaps.Scratch(win)
            try out.data.withUnsafeMutableBufferPointer { op in
                try stream(x, middle: middle) { image, first, rows, codes in
                    taps.run(codes, channels: rows, first: first, win, clamp: depthwise.codeClamp, scratch: scratch,
                             op.baseAddress! + image * plane + first * win.outH * win.outW)
                }
            }
        }
        return out
    }

    /// The Conv's codes, a panel of channels at a time (`IntegerConvKernel.stream`).
    private func stream(_ x: Tensor, middle: [Int],
                        _ consume: (_ image: Int, _ first: Int, _ rows: Int, _ codes: UnsafePointer<Float>) -> Void) throws {
        guard let integer = conv.integer else { throw ShapeInference.fail(conv.node, "the fused Conv has no integer kernel") }
        try integer.stream(conv.node, x: x, kernelSize: (conv.weights.shape[2], conv.weights.shape[3]), outShape: middle,
                           conv.rounding, lo: conv.floor, hi: conv.hi, consume: consume)
    }
}

extension QuantExecutor {
    /// `steps` with every integer Conv whose output only a depthwise Conv reads (through forwarded activations at most),
    /// holds `fromBytes` or more per image and `ExpandDepthwise` takes, fused into one step in the Conv's place: it reads
    /// the Conv's inputs, writes the depthwise layer's output and releases what the steps it replaces released.
    /// `consumers` is the graph's (steps are its nodes, in order), as the lookup folding in `init` reads it.
    static func fusingExpandDepthwise(_ steps: [Step], _ graph: Graph, consumers: [String: [Int]], _ arithmetic: Arithmetic,
                                      fromBytes: Int) -> [Step] {
        /// The one step that reads `value`, nil if it is a graph output or read by more or fewer.
        func soleReader(_ value: String) -> Int? {
            guard !graph.outputs.contains(where: { $0.name == value }), let r = consumers[value], r.count == 1 else { return nil }
            return r[0]
        }
        var fused: [Int: Step] = [:], replaced: Set<Int> = []
        for (i, step) in steps.enumerated() {
            var value = step.node.outputs[0]
            guard case let .linear(conv) = step.kernel, let perImage = graph.perImageCount(value), perImage * 4 >= fromBytes,
                  var reader = soleReader(value) else { continue }
            var chain = [reader]
            while case .forward = steps[reader].kernel, let next = soleReader(steps[reader].node.outputs[0]) {
                value = steps[reader].node.outputs[0]
                reader = next
                chain.append(next)
            }
            let last = steps[reader]
            guard case let .linear(depthwise) = last.kernel, last.node.inputs.first == value,
                  let both = ExpandDepthwise(conv: conv, depthwise: depthwise, arithmetic: arithmetic) else { continue }
            var node = step.node
            node.name = "\(step.node.name) + \(last.node.name)"
            fused[i] = Step(node: node, kernel: .expandDepthwise(both), observesPreActivation: false, inputs: step.inputs,
                            outputs: last.outputs, releases: step.releases + chain.flatMap { steps[$0].releases })
            replaced.formUnion(chain)
        }
        return steps.indices.compactMap { i in replaced.contains(i) ? nil : fused[i] ?? steps[i] }
    }
}
