/// What AutoMix knows about one op, in one place: how ESP-DL lays out its feature maps, how its output format is
/// chosen, the precisions a plan may give it, whether it runs through a lookup table, how a constant operand is
/// quantized, and whether ESP-DL has a module for it. The quantizer, the executor, the `.espdl` reader and writer,
/// the fake-quant writer and equalization read these facts from `OpKind.rule`; none keeps its own list of ops.
/// Adding an op is its `OpKind` case, its rule below, and its kernels.
public struct OpRule: Sendable, Equatable {
    /// What ESP-DL does with a feature map held channel-last (NHWC, or NWC for 1-D).
    public enum Layout: Sendable, Equatable {
        /// Reads and writes channel-last (Conv, pools): the exporter moves its input into that layout.
        case channelLast
        /// Works on any layout unchanged (element-wise, table activations, format conversions).
        case followsInput
        /// Follows its input's layout with its `axis` attribute mapped through the layout (Concat, Split, Softmax).
        case remapsAxis
        /// Follows its input's layout with its axes input mapped through the layout (ReduceMean).
        case remapsAxesInput
        /// A Transpose: its permutation is rewritten for the stored layout.
        case permutes
        /// Addresses the axes of the value as stored (Gemm, Reshape, Slice, Pad, …): a channel-last value is first
        /// transposed back to the original layout.
        case originalAxes
    }

    /// How the format of the op's output (and its inputs) is decided.
    public enum FormatRule: Sendable, Equatable {
        /// A compute layer (Conv, Gemm): weights and bias are quantized, the output calibrated; the precision a plan
        /// assigns.
        case layer
        /// Copies or moves codes without changing them: the output shares its input's format.
        case passive
        /// Its inputs are moved to the output's calibrated format (ESP-PPQ's Align to Output).
        case aligned
        /// Its own calibrated output format; inputs keep theirs.
        case calibrated
        /// Integer input, float output (Softmax).
        case floatOutput
        /// A format change the quantizer inserts (Quantize/Requantize/DequantizeLinear).
        case conversion
        /// Never reaches quantization: constant folding or a rewrite (ConvTranspose) removes it.
        case folded
    }

    /// How an integer activation op runs.
    public enum Activation: Sendable, Equatable {
        case none
        /// Relu/Clip: a clamp of the codes when the format is kept; a 256-entry table at int8 otherwise.
        case clamp
        /// Any other function of one value: a 256-entry table at int8, ESP-PPQ 1.3.12's `LUT` op at int16.
        case table
    }

    /// How a constant second operand (a normalisation constant, a BatchNorm scale, a PRelu slope) is quantized.
    public enum ConstantOperand: Sendable, Equatable {
        case none
        /// At the output's exponent (the inputs of an aligned Add/Sub).
        case atOutputExponent
        /// At the power-of-two exponent of its largest magnitude (Mul, Div, PRelu).
        case ownExponent
    }

    public var layout: Layout
    public var format: FormatRule
    /// The precisions a plan may give the op: the ones ESP-DL runs it in and AutoMix can quantize, execute exactly
    /// and write. An op with `.float` only is kept float by the quantizer, and a config naming it otherwise is refused.
    public var precisions: Set<Precision>
    public var activation: Activation
    public var constantOperand: ConstantOperand
    /// ESP-DL has a module for it (`dl_module_creator.hpp`), so the `.espdl` writer can emit it.
    public var onDevice: Bool
    /// A positive per-channel scale passes through it unchanged (`f(s·x) = s·f(x)`), so cross-layer equalization may
    /// look across it.
    public var scalesThrough: Bool
    /// Its output codes are copies of input codes, so no rounding happens in it (passive ops, and Concat and Resize,
    /// whose inputs the quantizer aligns to the output).
    public var copiesCodes: Bool

    static let all: Set<Precision> = [.int8, .int16, .float]

    init(_ layout: Layout, _ format: FormatRule, precisions: Set<Precision> = all, activation: Activation = .none,
         constantOperand: ConstantOperand = .none, onDevice: Bool = true, scalesThrough: Bool = false, copiesCodes: Bool? = nil) {
        self.layout = layout; self.format = format; self.precisions = precisions; self.activation = activation
        self.constantOperand = constantOperand; self.onDevice = onDevice; self.scalesThrough = scalesThrough
        self.copiesCodes = copiesCodes ?? (format == .passive)
    }

    /// Whether a plan may run the op on integer codes.
    public var runsInteger: Bool { precisions.contains(.int8) || precisions.contains(.int16) }
}

extension OpKind {
    /// The facts of this op (see `OpRule`).
    public var rule: OpRule {
        switch self {
        case .conv: return OpRule(.channelLast, .layer)
        case .gemm: return OpRule(.originalAxes, .layer)
        // ESP-DL runs MatMul in int8 and int16 (the reader and executor do); AutoMix plans it float until its writer has an
        // ESP-PPQ reference to check against
        case .matMul: return OpRule(.originalAxes, .calibrated, precisions: [.float])
        case .add, .sub: return OpRule(.followsInput, .aligned, constantOperand: .atOutputExponent, scalesThrough: true)
        case .mul, .div: return OpRule(.followsInput, .calibrated, constantOperand: .ownExponent)
        case .pRelu: return OpRule(.followsInput, .calibrated, constantOperand: .ownExponent, scalesThrough: true)
        case .relu: return OpRule(.followsInput, .calibrated, activation: .clamp, scalesThrough: true)
        case .clip: return OpRule(.followsInput, .calibrated, activation: .clamp)
        case .leakyRelu: return OpRule(.followsInput, .calibrated, activation: .table, scalesThrough: true)
        case .sigmoid, .hardSigmoid, .hardSwish, .tanh, .sqrt, .swish, .gelu, .elu, .exp:
            return OpRule(.followsInput, .calibrated, activation: .table)
        // ESP-PPQ's fused activation: a table only; it comes from files, never from an ONNX model
        case .lut: return OpRule(.followsInput, .calibrated, precisions: [.int8, .int16], activation: .table)
        case .erf: return OpRule(.followsInput, .calibrated, precisions: [.float], onDevice: false)
        case .round, .floor: return OpRule(.followsInput, .calibrated, precisions: [.float], onDevice: false)
        case .softmax: return OpRule(.remapsAxis, .floatOutput)
        case .reduceMean: return OpRule(.remapsAxesInput, .calibrated)
        // folded into a Conv or rewritten as a depthwise Conv / Mul+Add before quantization
        case .batchNormalization: return OpRule(.followsInput, .calibrated, precisions: [.float], onDevice: false)
        case .maxPool: return OpRule(.channelLast, .passive, scalesThrough: true)
        case .averagePool, .globalAveragePool: return OpRule(.channelLast, .calibrated, scalesThrough: true)
        case .flatten, .reshape, .squeeze, .unsqueeze, .pad: return OpRule(.originalAxes, .passive)
        case .identity: return OpRule(.followsInput, .passive, scalesThrough: true)
        case .dropout: return OpRule(.followsInput, .passive, onDevice: false, scalesThrough: true)
        case .transpose: return OpRule(.permutes, .passive)
        case .depthToSpace, .spaceToDepth: return OpRule(.channelLast, .passive)
        case .concat: return OpRule(.remapsAxis, .aligned, copiesCodes: true)
        // ESP-DL's Resize reads NHWC with its scales in NCHW order, and has no float module (dl_module_resize.hpp)
        case .resize: return OpRule(.channelLast, .aligned, precisions: [.int8, .int16], copiesCodes: true)
        case .split: return OpRule(.remapsAxis, .passive)
        case .slice: return OpRule(.originalAxes, .passive)
        // ESP-PPQ's half of a ConvTranspose (ConvTransposeDecompose), channel-last as ESP-PPQ's CONV_LAYOUT_OP_SET has it
        case .insertZeros: return OpRule(.channelLast, .passive)
        case .convTranspose: return OpRule(.channelLast, .folded, precisions: [.float], onDevice: false)
        case .shape, .gather, .cast, .constant, .constantOfShape:
            return OpRule(.originalAxes, .folded, precisions: [.float], onDevice: false)
        case .quantizeLinear, .dequantizeLinear, .requantizeLinear: return OpRule(.followsInput, .conversion)
        }
    }
}

extension Node {
    /// The op's rule with the facts this node's attributes change: a linear Resize computes new values (its codes are
    /// not copies).
    public var rule: OpRule {
        var r = op.rule
        if op == .resize && string("mode", default: "nearest") != "nearest" { r.copiesCodes = false }
        return r
    }
}

extension OpKind {
    /// Why ESP-DL's kernel would compute something other than the ONNX op on this node, if it would: the writer refuses
    /// such a node and the reader a file holding one, rather than let the chip compute another model.
    public func deviceMismatch(_ n: Node, inputShape x: [Int], constant: (String) -> ConstantValue?) -> String? {
        if self == .resize { return Self.resizeMismatch(n, inputShape: x, constant: constant) }
        guard x.count == 4, x[1] > 0 else { return nil }
        let b = n.int("blocksize", default: 1)
        switch self {
        case .depthToSpace where n.string("mode", default: "DCR") == "DCR" && x[1] / (b * b) != b:
            return "ESP-DL's DCR kernel (dl_module_depth_to_space.hpp) places channels as ONNX does only when the output has "
                + "blocksize (\(b)) channels, not \(x[1] / (b * b)); export the model with mode CRD (torch's pixel_shuffle)"
        case .spaceToDepth where n.string("mode", default: "DCR") == "DCR" && x[1] > 1:
            return "ESP-DL's kernel (dl_module_space_to_depth.hpp) orders output channels channel-major, as torch's pixel_unshuffle, "
                + "ONNX's SpaceToDepth block-major: they agree for 1 input channel, not \(x[1])"
        default:
            return nil
        }
    }

    /// ESP-DL resizes H and W only, nearest always with asymmetric floored coordinates, linear half-pixel or
    /// align_corners: a Resize whose ONNX source indices (or linear weights, to 1e-6) differ from the chip's is refused.
    static func resizeMismatch(_ n: Node, inputShape x: [Int], constant: (String) -> ConstantValue?) -> String? {
        guard (3...4).contains(x.count), x.allSatisfy({ $0 > 0 }),
              let g = try? ResizeGeometry(node: n, inputShape: x, constant: constant) else { return nil }
        guard g.resizesSpatialOnly(rank: x.count) else { return "ESP-DL's Resize changes only the spatial axes, not scales \(g.scales)" }
        let out = zip(g.outputShape, x).map { $0 < 0 ? $1 : $0 }
        for axis in 2..<x.count where out[axis] != x[axis] || g.scales[axis] != 1 {
            if g.linear {
                let ours = ResizeGeometry.linearTaps(node: n, inSize: x[axis], outSize: out[axis], scale: g.scales[axis])
                let chip = ResizeGeometry.chipLinearTaps(node: n, inSize: x[axis], outSize: out[axis], scale: g.scales[axis])
                func weights(_ t: ResizeGeometry.Tap) -> [Int: Float] {
                    var w: [Int: Float] = [:]
                    w[t.i0, default: 0] += t.w0
                    w[t.i1, default: 0] += t.w1
                    return w
                }
                let same = zip(ours, chip).allSatisfy { a, b in
                    let (wa, wb) = (weights(a), weights(b))
                    return Set(wa.keys).union(wb.keys).allSatisfy { abs((wa[$0] ?? 0) - (wb[$0] ?? 0)) <= 1e-6 }
                }
                if !same { return "ESP-DL's linear Resize uses half-pixel or align_corners coordinates, not '\(n.string("coordinate_transformation_mode", default: "half_pixel"))' on an axis of \(x[axis])" }
            } else if ResizeGeometry.sourceIndices(node: n, inSize: x[axis], outSize: out[axis], scale: g.scales[axis])
                        != ResizeGeometry.chipNearestIndices(inSize: x[axis], outSize: out[axis], scale: g.scales[axis]) {
                return "ESP-DL's nearest Resize takes asymmetric floored coordinates, which pick other pixels than "
                    + "'\(n.string("coordinate_transformation_mode", default: "half_pixel"))'/'\(n.string("nearest_mode", default: "round_prefer_floor"))' here"
            }
        }
        return nil
    }
}
