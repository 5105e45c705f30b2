import Foundation
import Kernels

/// The `.espdl` graph under construction, node by node, in ESP-PPQ 1.3.12's export passes: place the node in the
/// device layout (`placeInLayout`), lower its constants (`lowerLayer`, `lowerClip`, `lowerConversion`,
/// `lowerOperands`), and turn an activation into its lookup table (`attachTable`). Every fact about an op comes from
/// `OpKind.rule`, every decision (formats, parameters, activations, Clip codes, tables) from the `QuantizedModel`.
struct DeviceGraphBuilder {
    let model: QuantizedModel
    var nodes: [ESPDLFile.Node] = []
    var initializers: [String: ESPDLFile.TensorData] = [:]
    /// Initializers in ESP-PPQ's order: lookup tables, then layer parameters, then other constants.
    var lutOrder: [String] = [], paramOrder: [String] = [], otherOrder: [String] = []
    /// Values held channel-last on the device.
    var nhwc = Set<String>()
    var valueShapes: [String: [Int]] = [:]
    var extraFormats: [String: QuantFormat] = [:]
    private var luts: [[Int64]: String] = [:]
    private var transposed: [String: String] = [:]
    private var constantCount = 0

    static let toNCHW = [0, 3, 1, 2]

    init(model: QuantizedModel) { self.model = model }

    func shape(_ v: String) -> [Int] {
        var s = valueShapes[v] ?? model.graph.shapes[v] ?? model.graph.inputs.first { $0.name == v }?.shape ?? []
        if !s.isEmpty && s[0] < 0 { s[0] = 1 }
        return s
    }
    func format(_ v: String) -> QuantFormat? { model.formats[v] ?? extraFormats[v] }
    static func dtype(_ q: QuantFormat?) -> ESPDLFile.DataType { q.map { $0.bits == 16 ? .int16 : .int8 } ?? .float }
    static func quantType(_ p: Precision) -> String { p == .int8 ? "S8" : p == .int16 ? "S16" : "F32" }

    enum Section { case table, parameter, other }
    mutating func addInitializer(_ t: ESPDLFile.TensorData, _ section: Section) {
        if initializers[t.name] == nil {
            switch section {
            case .table: lutOrder.append(t.name)
            case .parameter: paramOrder.append(t.name)
            case .other: otherOrder.append(t.name)
            }
        }
        initializers[t.name] = t
    }

    mutating func scalar(_ base: String, _ type: ESPDLFile.DataType, int: Int64 = 0, float: Float = 0, dims: [Int] = [], exponent: Int = 0) -> String {
        constantCount += 1
        let name = "\(base)::c\(constantCount)"
        addInitializer(.init(name: name, dataType: type, dims: dims, exponents: [exponent], ints: type == .float ? [] : [int],
                             floats: type == .float ? [float] : [], doc: "layout ==> UNK"), .other)
        return name
    }

    /// A Transpose on the device graph, made once per value: NHWC → NCHW before an op that needs the original layout,
    /// or NCHW → NHWC (an input after an in-graph normalisation, say) as ESP-PPQ inserts before a channel-last op.
    mutating func transpose(_ v: String, toDevice: Bool, precision: Precision) -> String {
        if let t = transposed[v] { return t }
        let out = "\(v)::\(toDevice ? "nhwc" : "nchw")"
        nodes.append(.init(name: "Transpose::\(v)", opType: "Transpose", inputs: [v], outputs: [out],
                           attributes: ["perm": .ints(toDevice ? [0, 2, 3, 1] : Self.toNCHW), "quant_type": .string(Self.quantType(precision))]))
        valueShapes[out] = model.graph.shapes[v]
        if let q = format(v) { extraFormats[out] = q }
        if toDevice { nhwc.insert(out) }
        transposed[v] = out
        return out
    }

    /// Writes one node of the plan.
    mutating func add(_ n: Node) throws {
        let precision = model.precision(of: n)
        var attributes = n.attributes
        attributes["quant_type"] = .string(Self.quantType(precision))
        var inputs = n.inputs
        let outputNHWC = try placeInLayout(n, &inputs, &attributes, precision)
        switch n.op.rule.format {
        case .layer: try lowerLayer(n, &inputs, &attributes, precision)
        case .conversion: lowerConversion(n, &inputs, &attributes)
        default:
            if n.op == .clip { try lowerClip(n, &inputs, &attributes, precision) } else { lowerOperands(n, inputs, precision) }
        }
        let opType = attachTable(n, inputs, &attributes, precision)
        if outputNHWC { for o in n.outputs where shape(o).count == 4 { nhwc.insert(o) } }
        nodes.append(.init(name: n.name, opType: opType, inputs: inputs, outputs: n.outputs, attributes: attributes))
    }

    /// Moves the node's inputs into the layout its rule needs and maps its axes; returns whether its 4-D outputs are
    /// channel-last.
    mutating func placeInLayout(_ n: Node, _ inputs: inout [String], _ attributes: inout [String: Attribute], _ precision: Precision) throws -> Bool {
        let g = model.graph
        let dataInputs = inputs.indices.filter { !inputs[$0].isEmpty && g.constant(inputs[$0]) == nil }
        let anyNHWC = dataInputs.contains { nhwc.contains(inputs[$0]) }
        switch n.op.rule.layout {
        case .channelLast:
            for i in dataInputs where !nhwc.contains(inputs[i]) {
                guard shape(inputs[i]).count == 4 else { throw ShapeInference.fail(n, "ESP-DL export handles 2-D feature maps only") }
                // a graph input read by a channel-last op is written NHWC; ESP-PPQ leaves it NCHW when element-wise ops
                // (an in-graph normalisation) come first, and a Transpose follows them
                if g.inputs.contains(where: { $0.name == inputs[i] }) { nhwc.insert(inputs[i]) } else {
                    inputs[i] = transpose(inputs[i], toDevice: true, precision: precision)
                }
            }
            return true
        case .followsInput, .remapsAxis:
            guard anyNHWC else { return false }
            // an NCHW operand beside a device-layout one goes to the device layout, as ESP-PPQ's BypassAddLikePattern does
            for i in dataInputs where !nhwc.contains(inputs[i]) && shape(inputs[i]).count == 4 {
                inputs[i] = transpose(inputs[i], toDevice: true, precision: precision)
            }
            for i in inputs.indices.dropFirst() where !inputs[i].isEmpty && n.op != .clip {
                if let c = g.constant(inputs[i]), c.shape.count == 4 {
                    throw ShapeInference.fail(n, "a 4-D constant operand would need the device layout; not supported")
                }
            }
            if n.op.rule.layout == .remapsAxis {
                let rank = shape(n.inputs[0]).count
                let axis = n.int("axis", default: n.op == .softmax ? -1 : n.op == .concat ? 1 : 0)
                attributes["axis"] = .int(Self.toNCHW[(axis + rank) % rank])
            }
            return true
        case .permutes:
            if anyNHWC { attributes["perm"] = .ints((n.ints("perm") ?? [0, 3, 2, 1]).map { Self.toNCHW[$0] }) }
            return false
        case .remapsAxesInput where anyNHWC && n.int("keepdims", default: 1) != 0:
            // ESP-PPQ's ReduceMean keeps the device layout with its axes as an int64 input in that layout
            let rank = shape(n.inputs[0]).count
            let axes = (n.ints("axes") ?? g.constant(n.inputs.count > 1 ? n.inputs[1] : "")?.ints ?? Array(0..<rank))
                .map { Int64(Self.toNCHW[($0 + rank) % rank]) }
            let name = "\(n.name)::axes"
            addInitializer(.init(name: name, dataType: .int64, dims: [axes.count], exponents: [0], ints: axes, floats: [],
                                 doc: "layout ==> UNK"), .other)
            inputs = [inputs[0], name]
            attributes["axes"] = nil
            return true
        case .originalAxes, .remapsAxesInput:
            for i in dataInputs where nhwc.contains(inputs[i]) { inputs[i] = transpose(inputs[i], toDevice: false, precision: precision) }
            return false
        }
    }

    /// A Conv/Gemm's weight in ESP-DL's packed layout (float layers: plain NHWC), its bias, its fused activation.
    mutating func lowerLayer(_ n: Node, _ inputs: inout [String], _ attributes: inout [String: Attribute], _ precision: Precision) throws {
        if precision != .float || model.parameters[inputs[1]] != nil {
            guard let w = model.parameters[inputs[1]] else { throw ShapeInference.fail(n, "weight has no integer codes") }
            addInitializer(ESPDLExporter.packedWeight(inputs[1], w, node: n, target: model.target), .parameter)
            if inputs.count > 2, !inputs[2].isEmpty, let b = model.parameters[inputs[2]] {
                addInitializer(.init(name: inputs[2], dataType: w.bits == 16 ? .int64 : .int32, dims: [b.codes.count],
                                     exponents: b.exponents, ints: b.codes, floats: [], doc: "layout ==> UNK"), .parameter)
            }
        } else {
            guard var w = model.graph.constant(inputs[1])?.floatTensor else { throw ShapeInference.fail(n, "weight is not a constant") }
            if n.op == .gemm && n.int("transB", default: 0) == 0 { w = LayoutOps.transpose(w, perm: [1, 0]) }
            addInitializer(ESPDLExporter.packedFloatWeight(inputs[1], w, node: n), .parameter)
            if inputs.count > 2, !inputs[2].isEmpty, let b = model.graph.constant(inputs[2])?.floatTensor {
                addInitializer(.init(name: inputs[2], dataType: .float, dims: [b.count], exponents: [0], ints: [],
                                     floats: b.data, doc: "layout ==> UNK"), .parameter)
            }
        }
        attributes["activation"] = .string(model.activation(of: n).rawValue)
        if n.op == .gemm {
            attributes["transB"] = .int(0)
            attributes["transA"] = nil
        }
    }

    /// Clip's bounds as inputs: the codes the quantizer recorded (integer) or the real bounds (float).
    mutating func lowerClip(_ n: Node, _ inputs: inout [String], _ attributes: inout [String: Attribute], _ precision: Precision) throws {
        attributes["min"] = nil; attributes["max"] = nil
        if precision != .float, let q = format(inputs[0]) {
            guard let c = model.clips[n.name] else { throw ShapeInference.fail(n, "has no recorded clip codes") }
            inputs = [inputs[0], scalar(n.name + "::min", Self.dtype(q), int: c.lo, dims: [1], exponent: q.exponent),
                      scalar(n.name + "::max", Self.dtype(q), int: c.hi, dims: [1], exponent: q.exponent)]
        } else {
            inputs = [inputs[0], scalar(n.name + "::min", .float, float: n.float("min", default: -.greatestFiniteMagnitude), dims: [1]),
                      scalar(n.name + "::max", .float, float: n.float("max", default: .greatestFiniteMagnitude), dims: [1])]
        }
    }

    /// Quantize/Dequantize/RequantizeLinear with ESP-PPQ's scale and zero-point inputs.
    mutating func lowerConversion(_ n: Node, _ inputs: inout [String], _ attributes: inout [String: Attribute]) {
        let (a, b) = (format(inputs[0]), format(n.outputs[0]))
        let scale = Float(n.op == .quantizeLinear ? b!.scale : n.op == .dequantizeLinear ? a!.scale : b!.scale / a!.scale)
        let integerSide = n.op == .dequantizeLinear ? a : b
        inputs = [inputs[0], scalar(n.name + "::scale", .float, float: scale), scalar(n.name + "::zero_point", Self.dtype(integerSide))]
        attributes["quant_type"] = .string(Self.quantType(Precision(bits: integerSide!.bits)!))
    }

    /// Constant operands: the quantizer's codes for an integer op's quantized operand, integer constants as int64, other
    /// float constants at the first input's format where the op computes with them (Add/Sub/Mul/Div/PRelu), else as
    /// floats (a Resize's scales, a Pad's value: ESP-DL reads them as float).
    mutating func lowerOperands(_ n: Node, _ inputs: [String], _ precision: Precision) {
        for i in inputs.indices.dropFirst() where !inputs[i].isEmpty {
            guard let c = model.graph.constant(inputs[i]) else { continue }
            if let p = model.parameters[inputs[i]], precision != .float {
                addInitializer(.init(name: inputs[i], dataType: Self.dtype(QuantFormat(bits: p.bits, exponent: 0)), dims: p.shape,
                                     exponents: p.exponents, ints: p.codes, floats: [], doc: "layout ==> UNK"), .other)
                continue
            }
            switch c {
            case let .int(s, v):
                addInitializer(.init(name: inputs[i], dataType: .int64, dims: s, exponents: [0], ints: v, floats: [], doc: "layout ==> UNK"), .other)
            case let .float(x):
                if let q = format(inputs[0]), precision != .float, n.op.rule.constantOperand != .none {
                    addInitializer(.init(name: inputs[i], dataType: Self.dtype(q), dims: x.shape, exponents: [q.exponent],
                                         ints: x.data.map { q.quantize(Double($0), model.target.rounding) }, floats: [], doc: "layout ==> UNK"), .other)
                } else {
                    addInitializer(.init(name: inputs[i], dataType: .float, dims: x.shape, exponents: [0], ints: [], floats: x.data,
                                         doc: "layout ==> UNK"), .other)
                }
            }
        }
    }

    /// An integer activation's recorded table as a `lut` initializer (shared by equal tables); an int16 table activation
    /// becomes ESP-PPQ 1.3.12's `LUT` op that remembers what it was. Returns the node's op type.
    mutating func attachTable(_ n: Node, _ inputs: [String], _ attributes: inout [String: Attribute], _ precision: Precision) -> String {
        guard precision != .float, let t = model.tables[n.name], let b = format(n.outputs[0]) else { return n.op.rawValue }
        var opType = n.op.rawValue
        if t.coversInt16 && n.op.rule.activation == .table {
            attributes["original_op_type"] = .string(n.op.rawValue)
            attributes["int16_lut_step"] = .int(t.step)
            opType = OpKind.lut.rawValue
        }
        let key = t.codes + [Int64(b.bits), Int64(b.exponent)]
        let name: String
        if let existing = luts[key] { name = existing } else {
            name = "\(opType)_lut_\(luts.count)"
            luts[key] = name
            addInitializer(.init(name: name, dataType: Self.dtype(b), dims: [t.codes.count], exponents: [b.exponent],
                                 ints: t.codes, floats: [], doc: ""), .table)
        }
        attributes["lut"] = .string(name)
        return opType
    }

    /// ESP-PPQ's node order (see `ESPDLExporter.waveOrder`): the plan's ops, then inserted Transposes, then conversions.
    func ordered() -> [ESPDLFile.Node] {
        let g = model.graph
        var rank: [String: Int] = [:]
        let originals = g.nodes.filter { !$0.op.isQuantOnly }, conversions = g.nodes.filter { $0.op.isQuantOnly }
        for (i, n) in originals.enumerated() { rank[n.name] = i }
        for (i, n) in nodes.filter({ $0.name.hasPrefix("Transpose::") }).enumerated() { rank[n.name] = originals.count + i }
        for (i, n) in conversions.enumerated() { rank[n.name] = 2 * originals.count + i }
        return ESPDLExporter.waveOrder(nodes, available: Set(g.inputs.map(\.name)).union(initializers.keys), rank: rank)
    }

    /// A value's record: its stored shape (channel-last where the device holds it so), type and exponent.
    func info(_ v: String) -> ESPDLFile.ValueInfo {
        var s = shape(v)
        if nhwc.contains(v), s.count == 4 { s = [s[0], s[2], s[3], s[1]] }
        let q = format(v)
        return .init(name: v, dataType: Self.dtype(q), shape: s, exponent: q?.exponent ?? 0)
    }

    /// A test value in the device layout: codes for integer values, reals for float ones.
    func testValue(_ v: String, _ t: Tensor) -> ESPDLFile.TensorData {
        var t = t
        if nhwc.contains(v), t.shape.count == 4 { t = LayoutOps.transpose(t, perm: [0, 2, 3, 1]) }
        let q = format(v)
        return .init(name: v, dataType: Self.dtype(q), dims: t.shape.isEmpty ? [1] : t.shape, exponents: [q?.exponent ?? 0],
                     ints: q == nil ? [] : t.data.map { Int64($0) }, floats: q == nil ? t.data : [])
    }
}
