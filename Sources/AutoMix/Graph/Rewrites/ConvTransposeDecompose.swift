/// A 2-D ConvTranspose as ESP-PPQ 1.3.12 lowers it for ESP-DL (`decompose_convtranspose`): an InsertZeros putting
/// `stride − 1` zeros between pixels (and `output_padding` zeros at the end), then a stride-1 Conv with the filter
/// flipped in space and its channel axes swapped within each group, padded `dilation·(k − 1) − pad` on each side.
/// (ESP-PPQ pads `k − 1 − pad`, the same for the undilated filters it is used with; this is the exact form.)
enum ConvTransposeDecompose {
    static func apply(_ graph: Graph) throws -> Graph {
        var g = graph
        var nodes: [Node] = []
        for n in g.nodes {
            guard n.op == .convTranspose else { nodes.append(n); continue }
            guard let w = g.constant(n.inputs.count > 1 ? n.inputs[1] : "")?.floatTensor else {
                throw ShapeInference.fail(n, "needs a constant 2-D filter [C_in, C_out/group, kH, kW]")
            }
            let (spread, conv, filter) = try lower(n, weight: w)
            g.constants[conv.inputs[1]] = .float(filter)
            if let spread { nodes.append(spread) }
            nodes.append(conv)
        }
        g.nodes = nodes
        g.pruneConstants()
        return g
    }

    /// The InsertZeros (none when stride 1 and no output padding), the Conv, and the Conv's filter for `n`.
    static func lower(_ n: Node, weight w: Tensor) throws -> (spread: Node?, conv: Node, filter: Tensor) {
        guard w.shape.count == 4 else { throw ShapeInference.fail(n, "needs a constant 2-D filter [C_in, C_out/group, kH, kW]") }
        guard n.string("auto_pad", default: "NOTSET") == "NOTSET", n.ints("output_shape") == nil else {
            throw ShapeInference.fail(n, "auto_pad and output_shape are not supported; give pads and output_padding")
        }
        let group = n.int("group", default: 1)
        let (cin, coutPerGroup, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        guard group > 0, cin % group == 0 else { throw ShapeInference.fail(n, "group \(group) does not divide \(cin) input channels") }
        let strides = n.ints("strides") ?? [1, 1], dilations = n.ints("dilations") ?? [1, 1]
        let pads = n.ints("pads") ?? [0, 0, 0, 0], outputPadding = n.ints("output_padding") ?? [0, 0]
        guard strides.count == 2, dilations.count == 2, pads.count == 4, outputPadding.count == 2 else {
            throw ShapeInference.fail(n, "only 2-D ConvTranspose is supported")
        }
        let convPads = [dilations[0] * (kh - 1) - pads[0], dilations[1] * (kw - 1) - pads[1],
                        dilations[0] * (kh - 1) - pads[2], dilations[1] * (kw - 1) - pads[3]]
        guard convPads.allSatisfy({ $0 >= 0 }) else {
            throw ShapeInference.fail(n, "pads \(pads) exceed the dilated filter; ESP-DL's InsertZeros + Conv cannot crop")
        }
        // Conv filter [C_out, C_in/group, kH, kW]: w[g·cpg + i, o, kH−1−y, kW−1−x] → out channel g·C_out/group + o, in i
        let cinPerGroup = cin / group, cout = coutPerGroup * group
        var filter = [Float](repeating: 0, count: w.count)
        for gi in 0..<group { for i in 0..<cinPerGroup { for o in 0..<coutPerGroup { for y in 0..<kh { for x in 0..<kw {
            let source = (((gi * cinPerGroup + i) * coutPerGroup + o) * kh + (kh - 1 - y)) * kw + (kw - 1 - x)
            filter[(((gi * coutPerGroup + o) * cinPerGroup + i) * kh + y) * kw + x] = w.data[source]
        }}}}}
        var x = n.inputs[0]
        var spread: Node?
        if strides != [1, 1] || outputPadding != [0, 0] {
            let out = n.outputs[0] + "::zeros_inserted"
            spread = Node(name: n.name + "::InsertZeros", op: .insertZeros, inputs: [x], outputs: [out],
                          attributes: ["stride": .ints(strides), "output_padding": .ints(outputPadding)])
            x = out
        }
        let conv = Node(name: n.name, op: .conv, inputs: [x, n.inputs[1] + "::conv"] + n.inputs.dropFirst(2), outputs: n.outputs,
                        attributes: ["kernel_shape": .ints([kh, kw]), "strides": .ints([1, 1]), "pads": .ints(convPads),
                                     "dilations": .ints(dilations), "group": .int(group)])
        return (spread, conv, Tensor(shape: [cout, cinPerGroup, kh, kw], data: filter))
    }
}
