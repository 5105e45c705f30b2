import Foundation
import ONNXProto

/// The plan as a float ONNX graph of standard operators that reproduces the integer executor (AMCT's
/// `<model>_fake_quant_model.onnx`): every integer value is followed by a fake-quant of its format, weights and
/// biases are their dequantized codes, float layers stay float. The fake-quant is QuantizeLinear→DequantizeLinear
/// where ONNX's rounding (half to even) and int8 are the chip's (esp32p4, 8 bit), else AMCT's pattern
/// Mul(1/s)→Round (or Add 0.5→Floor for esp32s3's half-up)→Clip→Mul(s), which is exact for power-of-two scales.
public struct FakeQuantGraph {
    public let model: QuantizedModel
    /// QuantizeLinear/DequantizeLinear pairs where they are exact; onnxruntime's default graph optimizations
    /// then fuse them with their neighbours (QLinearAdd, …) and drift from the chip by up to tens of steps, so
    /// the default is the arithmetic pattern everywhere, which no runtime rewrites.
    public var useQDQ: Bool
    public init(model: QuantizedModel, useQDQ: Bool = false) { self.model = model; self.useQDQ = useQDQ }

    static let opset = 13

    public func graph() throws -> Graph {
        let source = model.graph
        var g = source
        g.nodes = []
        g.opset = max(source.opset, Self.opset)
        var counter = 0
        func constant(_ base: String, _ value: ConstantValue) -> String {
            counter += 1
            let name = "\(base)::k\(counter)"
            g.constants[name] = value
            return name
        }
        func scalar(_ v: Float) -> ConstantValue { .float(Tensor(shape: [], data: [v])) }

        /// `clip(round(x), lo, hi)` with the chip's rounding (Round is half to even; half up is Add 0.5 → Floor), into
        /// `base::c`; returns that name.
        func roundAndClip(_ x: String, _ base: String, lo: Float, hi: Float, name: String) -> String {
            let rounded = base + "::r"
            if model.target.rounding == .halfEven {
                g.nodes.append(Node(name: name + "::round", op: .round, inputs: [x], outputs: [rounded]))
            } else {
                let half = constant(name + "::half", scalar(0.5))
                g.nodes.append(Node(name: name + "::add_half", op: .add, inputs: [x, half], outputs: [base + "::h"]))
                g.nodes.append(Node(name: name + "::floor", op: .floor, inputs: [base + "::h"], outputs: [rounded]))
            }
            let l = constant(name + "::lo", scalar(lo)), h = constant(name + "::hi", scalar(hi))
            g.nodes.append(Node(name: name + "::clip", op: .clip, inputs: [rounded, l, h], outputs: [base + "::c"]))
            return base + "::c"
        }

        /// Appends the fake-quant of `input` at `q`, producing `output`.
        func fakeQuant(_ input: String, _ output: String, _ q: QuantFormat, name: String) {
            let s = Float(q.scale)
            if useQDQ && model.target.rounding == .halfEven && q.bits == 8 {
                let scale = constant(name + "::scale", scalar(s))
                let zero = constant(name + "::zero_point_int8", .int(shape: [], values: [0]))
                g.nodes.append(Node(name: name + "::quantize", op: .quantizeLinear, inputs: [input, scale, zero], outputs: [output + "::q"]))
                g.nodes.append(Node(name: name + "::dequantize", op: .dequantizeLinear, inputs: [output + "::q", scale, zero], outputs: [output]))
                return
            }
            let inv = constant(name + "::inv_scale", scalar(1 / s))
            g.nodes.append(Node(name: name + "::div", op: .mul, inputs: [input, inv], outputs: [output + "::x"]))
            let rounded = roundAndClip(output + "::x", output, lo: Float(q.qmin), hi: Float(q.qmax), name: name)
            let scale = constant(name + "::scale", scalar(s))
            g.nodes.append(Node(name: name + "::mul", op: .mul, inputs: [rounded, scale], outputs: [output]))
        }

        /// The chip's lookup table in standard ops: the input's codes, their table index (int16: rounded the chip's
        /// way), then a Gather from the table's real values (exact: codes times a power of two). Bit-exact with the
        /// chip where float32 `f(x)` would round differently at a boundary, and the only form of a `LUT` op.
        func tableLookup(_ n: Node, _ t: LookupTable, _ a: QuantFormat, _ b: QuantFormat) {
            let (step, table) = (t.step, t.codes)
            let v = n.outputs[0], name = n.name
            let toIndex = constant(name + "::to_index", scalar(Float(1 / (a.scale * Double(step)))))
            let offset = constant(name + "::offset", scalar(Float(a.bits == 8 ? 128 : 32768 / step)))
            g.nodes.append(Node(name: name + "::index", op: .mul, inputs: [n.inputs[0], toIndex], outputs: [v + "::i"]))
            g.nodes.append(Node(name: name + "::shift", op: .add, inputs: [v + "::i", offset], outputs: [v + "::s"]))
            let rounded = roundAndClip(v + "::s", v, lo: 0, hi: Float(table.count - 1), name: name)
            g.nodes.append(Node(name: name + "::cast", op: .cast, inputs: [rounded], outputs: [v + "::n"], attributes: ["to": .int(7)]))
            let values = constant(name + "::table", .float(Tensor(shape: [table.count], data: table.map { Float(Double($0) * b.scale) })))
            g.nodes.append(Node(name: name + "::gather", op: .gather, inputs: [values, v + "::n"], outputs: [v], attributes: ["axis": .int(0)]))
        }

        var renamed: [String: String] = [:]
        func use(_ v: String) -> String { renamed[v] ?? v }
        if let input = source.inputs.first, let q = model.formats[input.name] {
            let out = input.name + "::fq"
            fakeQuant(input.name, out, q, name: "FakeQuant::" + input.name)
            renamed[input.name] = out
        }
        for n0 in source.nodes {
            var n = n0
            n.inputs = n.inputs.map(use)
            switch n.op {
            case .quantizeLinear, .requantizeLinear:
                fakeQuant(n.inputs[0], n.outputs[0], model.formats[n.outputs[0]]!, name: n.name)
                continue
            case .dequantizeLinear:
                renamed[n.outputs[0]] = n.inputs[0]
                continue
            default: break
            }
            // table activations as their table (Relu and Clip stay clamps, exact as they are)
            if model.precision(of: n0) != .float, n0.op.rule.activation == .table, let t = model.tables[n0.name],
               let a = model.formats[n0.inputs[0]], let b = model.formats[n0.outputs[0]],
               a.bits == 8 && t.coversInt8 || a.bits == 16 && t.coversInt16 {
                tableLookup(n, t, a, b)
                continue
            }
            Self.toOpsetForm(&n, inputShape: source.shapes[n0.inputs[0]] ?? [], constant: constant)
            let integer = model.precision(of: n0) != .float
            let out = n.outputs[0]
            let quantizesOutput = integer && !n.rule.copiesCodes && model.formats[out] != nil
            let reluAfter = model.activation(of: n0) == .relu
            var produced = out
            if reluAfter || quantizesOutput { produced = out + "::float"; n.outputs[0] = produced }
            g.nodes.append(n)
            if reluAfter {
                let r = quantizesOutput ? out + "::relu" : out
                g.nodes.append(Node(name: n.name + "::relu", op: .relu, inputs: [produced], outputs: [r]))
                produced = r
            }
            if quantizesOutput { fakeQuant(produced, out, model.formats[out]!, name: "FakeQuant::" + n.name) }
        }
        // graph outputs read through a removed Dequantize keep their names
        for (i, o) in g.outputs.enumerated() where renamed[o.name] != nil {
            g.nodes.append(Node(name: "Identity::" + o.name, op: .identity, inputs: [renamed[o.name]!], outputs: [o.name]))
            g.outputs[i] = o
        }
        g.pruneConstants()
        return g
    }

    /// The normalised graph keeps Clip bounds, Squeeze/Unsqueeze axes and Pad pads as attributes; opset 13 wants inputs.
    /// InsertZeros, ESP-PPQ's own op, becomes a depthwise 1×1 ConvTranspose of ones with its strides, which puts the same zeros
    /// between pixels.
    static func toOpsetForm(_ n: inout Node, inputShape: [Int], constant: (String, ConstantValue) -> String) {
        switch n.op {
        case .insertZeros:
            let c = inputShape.count == 4 ? inputShape[1] : 1
            let ones = constant(n.name + "::ones", .float(Tensor(shape: [c, 1, 1, 1], data: [Float](repeating: 1, count: c))))
            n = Node(name: n.name, op: .convTranspose, inputs: [n.inputs[0], ones], outputs: n.outputs,
                     attributes: ["strides": .ints(n.ints("stride") ?? [1, 1]), "output_padding": .ints(n.ints("output_padding") ?? [0, 0]),
                                  "group": .int(c), "kernel_shape": .ints([1, 1])])
        case .clip:
            let lo = n.float("min", default: -.greatestFiniteMagnitude), hi = n.float("max", default: .greatestFiniteMagnitude)
            n.attributes = [:]
            n.inputs = [n.inputs[0], constant(n.name + "::min", .float(Tensor(shape: [], data: [lo]))),
                        constant(n.name + "::max", .float(Tensor(shape: [], data: [hi])))]
        case .squeeze, .unsqueeze:
            if let axes = n.ints("axes") {
                n.attributes["axes"] = nil
                n.inputs = [n.inputs[0], constant(n.name + "::axes", .int(shape: [axes.count], values: axes.map { Int64($0) }))]
            }
        case .pad:
            if let pads = n.ints("pads") {
                let value = n.float("value", default: 0)
                n.attributes["pads"] = nil
                n.attributes["value"] = nil
                n.inputs = [n.inputs[0], constant(n.name + "::pads", .int(shape: [pads.count], values: pads.map { Int64($0) })),
                            constant(n.name + "::value", .float(Tensor(shape: [], data: [value])))]
            }
        default: break
        }
    }

    /// The ONNX model, with the QuantizeLinear zero points typed int8 (AutoMix's constants are float or int64).
    public func onnxModel() throws -> Onnx_ModelProto {
        var m = try graph().onnxModel()
        for i in m.graph.initializer.indices where m.graph.initializer[i].name.contains("::zero_point_int8::") {
            m.graph.initializer[i].dataType = Int32(Onnx_TensorProto.DataType.int8.rawValue)
            m.graph.initializer[i].rawData = Data([0])
        }
        return m
    }
}
