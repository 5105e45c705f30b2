import Foundation

/// An `.espdl` file turned into AutoMix's quantized model, plus its embedded test values (NCHW codes).
public struct ESPDLModel: Sendable {
    public struct TestValue: Sendable {
        public var name: String
        public var codes: Tensor
        /// nil for a float (FP32) test value: `codes` then holds real values.
        public var format: QuantFormat?
    }

    public var file: ESPDLFile
    public var model: QuantizedModel
    public var testInputs: [TestValue]
    public var testOutputs: [TestValue]
    /// Where the target came from: the file's metadata, its filters, or the caller.
    public var targetSource: String = ""

    /// Reads an EDL2 file. The target decides the rounding; when not given it is read from the weights
    /// (per-channel exponents: esp32p4; per-tensor everywhere: esp32s3).
    public static func load(_ path: String, target: Target? = nil) throws -> ESPDLModel {
        try load(file: try ESPDLFile.read(path), target: target)
    }

    /// A device graph already read (an `.espdl` or a deploy ONNX) in ONNX semantics.
    public static func load(file: ESPDLFile, target: Target? = nil) throws -> ESPDLModel {
        try ESPDLImporter(file: file).model(target: target)
    }
}

/// Converts the device graph (NHWC feature maps, packed filters, LUT initializers, scale/zero-point inputs on
/// the quant nodes) into ONNX semantics: NCHW values, `[N,C,KH,KW]` filters, Transposes that only undid the
/// device layout become Identity.
struct ESPDLImporter {
    let file: ESPDLFile
    var path: String { file.path }

    func fail(_ node: ESPDLFile.Node, _ reason: String) -> AutoMixError {
        .invalidData(path: path, reason: "node '\(node.name)' (\(node.opType)): \(reason)")
    }

    static let toNCHW = [0, 3, 1, 2]   // our axis i is the file's axis toNCHW[i]
    static let fromNCHW = [0, 2, 3, 1] // the file's axis j is our axis fromNCHW[j]

    /// The chip the file was made for: ESP-PPQ's `target` metadata when present (a chip AutoMix cannot emulate is
    /// refused), else read from the filters (plain NHWC/HWCN: the C kernels; per-channel exponents: esp32p4;
    /// otherwise esp32s3).
    func fileTarget() throws -> (Target, source: String) {
        if let chip = file.metadata[ESPDLExporter.targetKey], !chip.isEmpty {
            guard let t = Target(chip: chip) else {
                throw AutoMixError.invalidData(path: path, reason: "made for target '\(chip)', which AutoMix cannot emulate (esp32p4, esp32s3, c)")
            }
            return (t, "the file's metadata")
        }
        var perChannel = false
        for n in file.nodes where n.opType == "Conv" || n.opType == "Gemm" {
            guard n.inputs.count > 1, let w = file.initializers[n.inputs[1]], w.dataType != .float else { continue }
            if Self.plainLayouts.contains(w.layout) { return (.c, "the filter layout") }
            if w.exponents.count > 1 { perChannel = true }
        }
        if let t = Self.chipNamed(inPath: path) { return (t, "the file's path") }
        return perChannel ? (.esp32p4, "per-channel weights") : (.esp32s3, "per-tensor weights")
    }

    /// ESP-DL's model zoo names the chip in folders and file names (`models/p4/…`, `…_s8_p4.espdl`); older
    /// ESP-PPQ exports record no target, and P4 files with per-tensor weights are common.
    static func chipNamed(inPath path: String) -> Target? {
        let tokens = path.lowercased().split(whereSeparator: { "/_-.".contains($0) }).map(String.init)
        let found = Set(tokens.compactMap { ["p4", "esp32p4", "s3", "esp32s3"].contains($0) ? Target(chip: $0) : nil })
        return found.count == 1 ? found.first : nil
    }

    static let plainLayouts: Set<String> = ["NHWC", "HWCN", "NWC", "WCN"]

    func model(target explicitTarget: Target?) throws -> ESPDLModel {
        let (inferred, source) = try fileTarget()
        let target = explicitTarget ?? inferred
        var unsupported: [(op: String, node: String)] = []
        for n in file.nodes where OpKind(rawValue: n.opType) == nil && !unsupported.contains(where: { $0.op == n.opType }) {
            unsupported.append((n.opType, n.name))
        }
        if !unsupported.isEmpty { throw AutoMixError.unsupportedOps(path: path, ops: unsupported) }

        var nhwc = Set<String>()
        func fileShape(_ name: String) -> [Int] { file.valueInfo[name]?.shape ?? [] }
        func ourShape(_ name: String) -> [Int] {
            let s = fileShape(name)
            return nhwc.contains(name) ? Self.toNCHW.map { s[$0] } : s
        }
        for i in file.inputs where i.shape.count == 4 { nhwc.insert(i.name) }

        var nodes: [Node] = []
        var constants: [String: ConstantValue] = [:]
        var parameters: [String: QuantizedParameter] = [:]
        var precisions: [String: Precision] = [:]
        var tables: [String: LookupTable] = [:]

        for fn in file.nodes {
            let op = OpKind(rawValue: fn.opType)!
            var attributes = fn.attributes
            attributes["quant_type"] = nil
            attributes["lut"] = nil
            switch fn.attributes["quant_type"] {
            case .string("S8")?: precisions[fn.name] = .int8
            case .string("S16")?: precisions[fn.name] = .int16
            case .string("F32")?, nil: precisions[fn.name] = .float
            case let other?: throw fail(fn, "quant_type \(other) is not supported")
            }
            let layoutIn = fn.inputs.contains { nhwc.contains($0) }
            var inputs = fn.inputs

            switch op {
            case .conv, .gemm:
                if op == .gemm && layoutIn { throw fail(fn, "reads a device-layout (NHWC) tensor; this layout change is not supported") }
                guard inputs.count >= 2, let w = file.initializers[inputs[1]] else { throw fail(fn, "the weight is not an initializer") }
                let bits = w.dataType.bits
                guard w.dims.count == 4, w.ints.count == w.count || w.floats.count == w.count else {
                    throw fail(fn, "weight '\(w.name)' has dims \(w.dims)")
                }
                let group = fn.attributes["group"].flatMap { if case let .int(g) = $0 { return g } else { return nil } } ?? 1
                let (kH, kW) = (w.dims[0], w.dims[1])
                let depthwise = op == .conv && group > 1
                let (n, c) = depthwise ? (w.dims[2], w.dims[3]) : (w.dims[3], w.dims[2])
                guard !depthwise || c == 1 else { throw fail(fn, "grouped convolution with \(c) channels per group is not supported") }
                let shape = op == .conv ? [n, c, kH, kW] : [n, c]
                if op == .gemm { attributes["transB"] = .int(1) }
                if w.dataType == .float {
                    let index = WeightLayout.packedIndex(n: n, c: c, kH: kH, kW: kW, depthwise: depthwise, bits: 32)
                    constants[w.name] = .float(Tensor(shape: shape, data: index.map { w.floats[$0] }))
                    break
                }
                let codes = WeightLayout.unpack(w.ints, n: n, c: c, kH: kH, kW: kW, depthwise: depthwise, bits: bits,
                                                blocks: !Self.plainLayouts.contains(w.layout))
                parameters[w.name] = QuantizedParameter(shape: shape, codes: codes, exponents: w.exponents, bits: bits)
                if inputs.count > 2, !inputs[2].isEmpty, let b = file.initializers[inputs[2]] {
                    parameters[b.name] = QuantizedParameter(shape: [b.count], codes: b.ints, exponents: b.exponents,
                                                            bits: b.dataType.bits)
                }
            case .clip:
                for (i, key) in [(1, "min"), (2, "max")] where i < inputs.count && !inputs[i].isEmpty {
                    guard let t = file.initializers[inputs[i]] else { throw fail(fn, "\(key) is not an initializer") }
                    attributes[key] = .float(t.floats.first
                        ?? Float(Double(t.ints.first ?? 0) * QuantFormat(bits: 8, exponent: t.exponents.first ?? 0).scale))
                }
                inputs = [inputs[0]]
            case .quantizeLinear, .dequantizeLinear, .requantizeLinear:
                inputs = [inputs[0]]
            case .transpose where layoutIn:
                let perm = (attributes["perm"].flatMap { if case let .ints(p) = $0 { return p } else { return nil } } ?? [0, 1, 2, 3])
                    .map { Self.fromNCHW[$0] }
                attributes["perm"] = .ints(perm)
            case .concat where layoutIn:
                if case let .int(a)? = attributes["axis"] { attributes["axis"] = .int(Self.fromNCHW[(a + 4) % 4]) }
            case .softmax, .pad, .resize, .squeeze, .unsqueeze, .reshape, .flatten, .matMul, .slice, .gather:
                if layoutIn { throw fail(fn, "reads a device-layout (NHWC) tensor; this layout change is not supported") }
            default: break
            }
            if case let .string(lut)? = fn.attributes["lut"] {
                guard let t = file.initializers[lut] else { throw fail(fn, "lookup table '\(lut)' is missing") }
                tables[fn.name] = LookupTable(codes: t.ints, step: t.count == 256 ? 1 : 65536 / max(t.count - 1, 1))
            }
            for name in inputs where !name.isEmpty && constants[name] == nil {
                guard let t = file.initializers[name] else { continue }
                if let p = parameters[name] {
                    constants[name] = .float(p.dequantized)
                } else if !t.floats.isEmpty || t.dataType == .float {
                    constants[name] = .float(Tensor(shape: t.dims, data: t.floats))
                } else if t.exponents.isEmpty || t.dataType == .int64 {
                    constants[name] = .int(shape: t.dims, values: t.ints)
                } else {
                    let p = QuantizedParameter(shape: t.dims, codes: t.ints, exponents: t.exponents, bits: t.dataType.bits)
                    parameters[name] = p
                    constants[name] = .float(p.dequantized)
                }
            }
            // Outputs of layout-preserving ops keep the device layout; a Transpose leaves it.
            if layoutIn && op != .transpose {
                for o in fn.outputs where fileShape(o).count == 4 { nhwc.insert(o) }
            }
            nodes.append(Node(name: fn.name, op: op, inputs: inputs, outputs: fn.outputs, attributes: attributes))
        }

        func info(_ v: ESPDLFile.ValueInfo) -> ValueInfo {
            var s = ourShape(v.name)
            if !s.isEmpty { s[0] = -1 }
            return ValueInfo(name: v.name, shape: s)
        }
        var graph = Graph(name: file.graphName, nodes: nodes, inputs: file.inputs.map(info), outputs: file.outputs.map(info),
                          constants: constants, opset: 13)
        do { try graph.inferShapes() } catch let e as AutoMixError {
            throw AutoMixError.invalidData(path: path, reason: "the graph does not check: \(e.description)")
        }
        var formats: [String: QuantFormat] = [:]
        for (name, v) in file.valueInfo {
            guard let t = v.dataType, t == .int8 || t == .int16 else { continue }
            formats[name] = QuantFormat(bits: t.bits, exponent: v.exponent)
        }
        let model = QuantizedModel(graph: graph, target: target, precisions: precisions, formats: formats,
                                   parameters: parameters, tables: tables)
        func test(_ t: ESPDLFile.TensorData) throws -> ESPDLModel.TestValue {
            guard t.dataType == .int8 || t.dataType == .int16 || t.dataType == .float else {
                throw AutoMixError.invalidData(path: path, reason: "test value '\(t.name)' is \(t.dataType.name), not INT8/INT16/FLOAT")
            }
            var codes = Tensor(shape: t.dims, data: t.dataType == .float ? t.floats : t.ints.map { Float($0) })
            if nhwc.contains(t.name) && t.dims.count == 4 { codes = LayoutOps.transpose(codes, perm: Self.toNCHW) }
            return .init(name: t.name, codes: codes,
                         format: t.dataType == .float ? nil : QuantFormat(bits: t.dataType.bits, exponent: t.exponents.first ?? 0))
        }
        return ESPDLModel(file: file, model: model, testInputs: try file.testInputs.map(test),
                          testOutputs: try file.testOutputs.map(test),
                          targetSource: explicitTarget == nil ? source : "the command line")
    }
}

extension ESPDLModel {
    public struct TestCheck: Sendable {
        /// Largest |AutoMix − embedded| in integer steps, per test output and over all of them; a float output
        /// counts 1 when any value differs by more than the device's float epsilon (1e-5 relative), else 0.
        public var perOutput: [(name: String, maxAbsDiff: Int64, count: Int, bits: Int)]
        public var maxAbsDiff: Int64 { perOutput.map(\.maxAbsDiff).max() ?? 0 }
        /// The device's own tolerance (`Model::test()`): exact for int8, ±1 for int16.
        public var passes: Bool { perOutput.allSatisfy { $0.maxAbsDiff <= ($0.bits == 16 ? 1 : 0) } }
    }

    /// Runs the embedded test inputs through the integer executor and compares every embedded test output.
    /// ESP-PPQ computed the embedded values with its float32 simulation (`.espPPQ`); `.exact` shows how far the
    /// chip's exact integer arithmetic lands from them.
    public func checkTestValues(arithmetic: Arithmetic = .espPPQ) throws -> TestCheck {
        guard testInputs.count == 1, !testOutputs.isEmpty else {
            throw AutoMixError.invalidData(path: file.path, reason: "holds \(testInputs.count) test inputs and \(testOutputs.count) test outputs; nothing to check")
        }
        var m = model
        m.graph.outputs = testOutputs.map { ValueInfo(name: $0.name, shape: m.graph.shapes[$0.name] ?? []) }
        let executor = try QuantExecutor(model: m, arithmetic: arithmetic)
        let outputs = try executor.runCodes(testInputs[0].codes)
        return TestCheck(perOutput: try zip(testOutputs, outputs).map { expected, got in
            guard expected.codes.count == got.count else {
                throw AutoMixError.invalidData(path: file.path, reason: "test output '\(expected.name)' holds \(expected.codes.count) values, AutoMix computes \(got.count)")
            }
            if m.formats[expected.name] != expected.format {
                throw AutoMixError.invalidData(path: file.path, reason: "test output '\(expected.name)' is \(expected.format.map(\.description) ?? "float") but the graph says \(m.formats[expected.name].map(\.description) ?? "float")")
            }
            guard let q = expected.format else {
                let close = zip(expected.codes.data, got.data).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) }
                return (expected.name, close ? 0 : 1, got.count, 32)
            }
            let diff = zip(expected.codes.data, got.data).map { abs(Int64($0) - Int64($1)) }.max() ?? 0
            return (expected.name, diff, got.count, q.bits)
        })
    }
}
