import Kernels

/// The chip a plan is made for; it fixes rounding, weight granularity and bias width
/// (shared/specs/espdl-format-and-quantization.md §2.1).
public enum Target: String, CaseIterable, Sendable, Codable {
    /// PIE v2 SIMD (also esp32s31); PIE v1 SIMD; and `c`, ESP-DL's plain-C kernels for the chips without PIE
    /// (esp32, esp32s2, esp32c2/c3/c5/c6), which ESP-PPQ exports as one target.
    case esp32p4, esp32s3, c

    /// Reads ESP-PPQ's target names, the chip names of the `c` family included.
    public init?(chip: String) {
        switch chip.lowercased() {
        case "esp32p4", "esp32s31", "p4": self = .esp32p4
        case "esp32s3", "s3": self = .esp32s3
        case "c", "esp32", "esp32s2", "esp32c2", "esp32c3", "esp32c5", "esp32c6", "esp32c61", "esp32h2": self = .c
        default: return nil
        }
    }

    public var rounding: RoundingMode { self == .esp32p4 ? .halfEven : .halfUp }
    public var perChannelWeights: Bool { self == .esp32p4 }
    /// Bias width: S3's 8-bit accumulator register is 20 bits wide; 16-bit ops keep a 40-bit bias in an int64 on
    /// the SIMD targets and a 64-bit one in C (ESP-PPQ's platform configs).
    public func biasBits(forBits bits: Int) -> Int {
        switch self {
        case .esp32p4: return bits == 16 ? 40 : 32
        case .esp32s3: return bits == 16 ? 40 : 20
        case .c: return bits == 16 ? 64 : 32
        }
    }
    /// Whether filters are packed in SIMD blocks of output channels; C kernels read plain NHWC (depthwise HWCN).
    public var packsFilters: Bool { self != .c }
}

public enum Precision: String, CaseIterable, Sendable, Codable {
    case int8, int16, float
    public var bits: Int? { self == .int8 ? 8 : self == .int16 ? 16 : nil }
    public init?(bits: Int) {
        switch bits { case 8: self = .int8; case 16: self = .int16; default: return nil }
    }
}

/// A symmetric power-of-two format: `value = code · 2^exponent`, codes in the full two's-complement range.
public struct QuantFormat: Hashable, Sendable, Codable, CustomStringConvertible {
    public var bits: Int
    public var exponent: Int
    public init(bits: Int, exponent: Int) { self.bits = bits; self.exponent = exponent }

    public var qmin: Int64 { -(Int64(1) << (bits - 1)) }
    public var qmax: Int64 { (Int64(1) << (bits - 1)) - 1 }
    public var scale: Double { Double(sign: .plus, exponent: exponent, significand: 1) }
    public var description: String { "int\(bits)·2^\(exponent)" }

    /// `clip(round(x / 2^e))`, the way ESP-PPQ quantizes and the device's preprocessor does.
    public func quantize(_ x: Double, _ mode: RoundingMode) -> Int64 {
        let q = mode.round(x / scale)
        guard !q.isNaN else { return 0 }   // sqrt of a negative code, say: a code, never a trap
        return Int64(min(max(q, Double(qmin)), Double(qmax)))
    }
}

/// An integer parameter (weight or bias) in ONNX layout: Conv `[N,C,KH,KW]`, Gemm `[N,K]` (transB = 1),
/// bias `[N]`. `exponents` has one entry, or one per output channel (axis 0).
public struct QuantizedParameter: Sendable, Equatable {
    public var shape: [Int]
    public var codes: [Int64]
    public var exponents: [Int]
    public var bits: Int

    public init(shape: [Int], codes: [Int64], exponents: [Int], bits: Int) {
        self.shape = shape; self.codes = codes; self.exponents = exponents; self.bits = bits
    }

    public func exponent(channel: Int) -> Int { exponents.count == 1 ? exponents[0] : exponents[channel] }

    /// The real values the codes stand for (what a fake-quant graph holds).
    public var dequantized: Tensor {
        let perChannel = shape.isEmpty ? codes.count : codes.count / max(shape[0], 1)
        return Tensor(shape: shape, data: codes.enumerated().map { i, q in
            Float(Double(q) * QuantFormat(bits: bits, exponent: exponent(channel: perChannel == 0 ? 0 : i / perChannel)).scale)
        })
    }
}

/// A lookup table an int8 (256 entries) or int16 (`65536/step + 1` entries) activation op runs through.
public struct LookupTable: Sendable, Equatable {
    public var codes: [Int64]
    public var step: Int
    public init(codes: [Int64], step: Int) { self.codes = codes; self.step = step }
    /// A table of every code of an int8 input.
    public var coversInt8: Bool { codes.count == 256 && step == 1 }
    /// A table an int16 input is read through at its nearest entry (ESP-PPQ 1.3.12's `LUT` op).
    public var coversInt16: Bool { step > 1 && codes.count == 65536 / step + 1 }
}

/// The activation a Conv/Gemm applies before rounding its output (ESP-DL's `activation` attribute).
public enum FusedActivation: String, Sendable, Codable {
    case linear = "Linear", relu = "Relu"
}

/// A Clip's bounds as codes of its input's format (what an `.espdl` stores as the Clip's min and max inputs).
public struct ClipCodes: Sendable, Equatable {
    public var lo: Int64
    public var hi: Int64
    public init(lo: Int64, hi: Int64) { self.lo = lo; self.hi = hi }

    /// A Relu's (0 and above) or a Clip's (its min and max) bounds as codes of `input`, with the chip's rounding.
    public init(_ n: Node, input: QuantFormat, _ mode: RoundingMode) {
        let lo = n.op == .relu ? 0 : n.float("min", default: -.greatestFiniteMagnitude)
        let hi = n.op == .relu ? Float.greatestFiniteMagnitude : n.float("max", default: .greatestFiniteMagnitude)
        self.init(lo: input.quantize(Double(lo), mode), hi: input.quantize(Double(hi), mode))
    }
}

/// The one representation of a quantized model: the deploy graph in ONNX semantics (NCHW, BatchNorm folded,
/// Requantize/Quantize/DequantizeLinear nodes wherever a value changes format), and every decision the quantizer
/// (or the `.espdl` reader) made: the precision of each node, the format of every integer value, the groups of
/// values that share a format, the integer parameters, the activation fused into each layer, Clip bounds and
/// lookup tables. The integer executor, the analysis and every writer only read these.
public struct QuantizedModel: Sendable {
    public var graph: Graph
    public var target: Target
    /// Precision each node computes in, by node name.
    public var precisions: [String: Precision]
    /// The format of every value held as integer codes; a value not listed is float.
    public var formats: [String: QuantFormat]
    /// Integer weights, biases and constant operands by initializer name.
    public var parameters: [String: QuantizedParameter]
    /// Lookup tables by node name: what an integer activation runs through (int8: every code; int16: ESP-PPQ's
    /// `LUT`). An activation without one computes its formula on each code; an int16 Relu/Clip keeps a table of
    /// every 256th code for the file only (it runs as a clamp).
    public var tables: [String: LookupTable]
    /// The activation fused into each Conv/Gemm, by node name (absent: linear).
    public var activations: [String: FusedActivation]
    /// Clip and Relu bounds as codes, by node name.
    public var clips: [String: ClipCodes]
    /// The value whose calibrated format each value shares (a Conv's output and the Clip after it, a passive op's
    /// input and output), by value name; values the quantizer did not group are absent.
    public var formatGroups: [String: String]

    public init(graph: Graph, target: Target, precisions: [String: Precision], formats: [String: QuantFormat],
                parameters: [String: QuantizedParameter], tables: [String: LookupTable] = [:],
                activations: [String: FusedActivation] = [:], clips: [String: ClipCodes] = [:], formatGroups: [String: String] = [:]) {
        self.graph = graph; self.target = target; self.precisions = precisions; self.formats = formats
        self.parameters = parameters; self.tables = tables; self.activations = activations; self.clips = clips
        self.formatGroups = formatGroups
    }

    public func precision(of node: Node) -> Precision { precisions[node.name] ?? .float }
    public func activation(of node: Node) -> FusedActivation { activations[node.name] ?? .linear }
    /// Whether the quantizer calibrated `a` and `b` as one format (not merely two equal formats).
    public func shareFormat(_ a: String, _ b: String) -> Bool {
        guard let ga = formatGroups[a], let gb = formatGroups[b] else { return false }
        return ga == gb
    }
}
