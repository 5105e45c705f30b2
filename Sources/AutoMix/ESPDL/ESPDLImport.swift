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
    /// The file holds StreamingCache nodes, emulated as their first call (caches of zeros).
    public var streaming = false

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
    /// Our axis i of a channel-last value of this rank is the file's axis toOurs(rank)[i] (NHWC, or NWC for Conv1d).
    static func toOurs(_ rank: Int) -> [Int] { rank == 3 ? [0, 2, 1] : toNCHW }
    /// The file's axis j of a channel-last value of this rank is our axis fromOurs(rank)[j].
    static func fromOurs(_ rank: Int) -> [Int] { rank == 3 ? [0, 2, 1] : fromNCHW }

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

    static let streamingCache = "StreamingCache"

    /// A 4-D graph input is stored NHWC, unless ESP-PPQ left it NCHW because element-wise ops (an in-graph
    /// normalisation) come first: then a Transpose to NHWC follows them before the first conv-like op.
    func storedChannelLast(_ input: String) -> Bool {
        var reached: Set<String> = [input]
        for n in file.nodes where n.inputs.contains(where: reached.contains) {
            if n.opType == "Transpose", case let .ints(p)? = n.attributes["perm"], p == Self.fromNCHW { return false }
            if let op = OpKind(rawValue: n.opType), [.channelLast, .originalAxes, .permutes].contains(op.rule.layout) { return true }
            reached.formUnion(n.outputs)
        }
        return true
    }

    static let plainLayouts: Set<String> = ["NHWC", "HWCN", "NWC", "WCN"]

    func model(target explicitTarget: Target?) throws -> ESPDLModel {
        for n in file.nodes where n.outputs.isEmpty || n.outputs.contains(where: \.isEmpty) {
            throw fail(n, "has no output")
        }
        for n in file.nodes where n.inputs.isEmpty || n.inputs[0].isEmpty || (file.valueInfo[n.inputs[0]]?.shape.isEmpty ?? true)
            && file.initializers[n.inputs[0]] == nil && !file.inputs.contains(where: { $0.name == n.inputs[0] }) {
            throw fail(n, "its first input '\(n.inputs.first ?? "")' has no recorded shape")
        }
        let (inferred, source) = try fileTarget()
        let target = explicitTarget ?? inferred
        var unsupported: [(op: String, node: String)] = []
        for n in file.nodes where OpKind(rawValue: n.opType) == nil && n.opType != Self.streamingCache
            && !unsupported.contains(where: { $0.op == n.opType }) {
            unsupported.append((n.opType, n.name))
        }
        if !unsupported.isEmpty { throw AutoMixError.unsupportedOps(path: path, ops: unsupported) }

        /// Values stored channel-last (NHWC, or NWC for Conv1d), held by AutoMix channel-first.
        var nhwc = Set<String>()
        var nodes: [Node] = []
        var constants: [String: ConstantValue] = [:]
        var parameters: [String: QuantizedParameter] = [:]
        var precisions: [String: Precision] = [:]
        var tables: [String: LookupTable] = [:]
        var activations: [String: FusedActivation] = [:]
        var extraFormats: [String: QuantFormat] = [:]
        var streamed = false
        func fileShape(_ name: String) -> [Int] { file.valueInfo[name]?.shape ?? [] }
        func ourShape(_ name: String) -> [Int] {
            let s = fileShape(name)
            return nhwc.contains(name) ? Self.toOurs(s.count).map { s[$0] } : s
        }
        func format(of v: String) -> QuantFormat? {
            guard let i = file.valueInfo[v], let t = i.dataType, t == .int8 || t == .int16 else { return extraFormats[v] }
            return QuantFormat(bits: t.bits, exponent: i.exponent)
        }
        /// A node AutoMix inserts to bridge layouts or ranks; it computes in the precision of the node it serves.
        func insert(_ op: OpKind, _ name: String, input: String, output: String, for fn: ESPDLFile.Node,
                    attributes: [String: Attribute] = [:], axes: [Int64]? = nil) {
            var ins = [input]
            if let axes {
                constants["\(name)::axes"] = .int(shape: [axes.count], values: axes)
                ins.append("\(name)::axes")
            }
            nodes.append(Node(name: name, op: op, inputs: ins, outputs: [output], attributes: attributes))
            precisions[name] = precisions[fn.name] ?? .float
            if let q = format(of: input) { extraFormats[output] = q }
        }
        /// `v` through a Transpose by `perm` into `v::suffix`, inserted once however many nodes read it.
        func transposed(_ v: String, perm: [Int], suffix: String, for fn: ESPDLFile.Node) -> String {
            let out = "\(v)::\(suffix)"
            if !nodes.contains(where: { $0.outputs == [out] }) {
                insert(.transpose, "Transpose::\(out)", input: v, output: out, for: fn, attributes: ["perm": .ints(perm)])
            }
            return out
        }
        for i in file.inputs where i.shape.count == 4 && storedChannelLast(i.name) { nhwc.insert(i.name) }


        for fn in file.nodes {
            switch fn.attributes["quant_type"] {
            case .string("S8")?: precisions[fn.name] = .int8
            case .string("S16")?: precisions[fn.name] = .int16
            case .string("F32")?, nil: precisions[fn.name] = .float
            case let other?: throw fail(fn, "quant_type \(other) is not supported")
            }
            if fn.opType == Self.streamingCache {
                // ESP-DL's StreamingCache on its first call: window − 1 zero frames before the input on the frame axis
                let x = fn.inputs[0], rank = fileShape(x).count
                guard case let .int(window)? = fn.attributes["window_size"], (1...(1 << 16)).contains(window) else {
                    throw fail(fn, "window_size is missing or not 1…65536")
                }
                let given = { if case let .int(a)? = fn.attributes["frame_axis"] { return a } else { return 1 } }()
                guard rank > 0, (-rank..<rank).contains(given) else { throw fail(fn, "frame_axis \(given) is outside its \(rank) axes") }
                let stored = (given + rank) % rank
                let axis = nhwc.contains(x) ? Self.fromOurs(rank)[stored] : stored
                var pads = [Int](repeating: 0, count: 2 * rank)
                pads[axis] = window - 1
                insert(.pad, fn.name, input: x, output: fn.outputs[0], for: fn, attributes: ["pads": .ints(pads), "mode": .string("constant")])
                if nhwc.contains(x) { nhwc.insert(fn.outputs[0]) }
                streamed = true
                continue
            }
            let op = OpKind(rawValue: fn.opType)!
            var attributes = fn.attributes
            attributes["quant_type"] = nil
            attributes["lut"] = nil
            attributes["activation"] = nil
            if let a = fn.attributes["activation"] {
                guard case let .string(name) = a, let act = FusedActivation(rawValue: name), act == .linear || op.rule.format == .layer else {
                    throw fail(fn, "fused activation \(a) is not supported (Linear everywhere, Relu on Conv/Gemm)")
                }
                activations[fn.name] = act
            }
            var layoutIn = fn.inputs.contains { nhwc.contains($0) }
            var inputs = fn.inputs
            var outputsKeepLayout = layoutIn && op != .transpose
            var conv1dOutput: String?
            /// Runs a 1-D Conv/pool as 2-D on (N, C, 1, W): channel-first input, unsqueezed; the output is squeezed back.
            func as2D() -> String {
                var x = inputs[0]
                if !nhwc.contains(x) { x = transposed(x, perm: [0, 2, 1], suffix: "ncw", for: fn) }
                insert(.unsqueeze, "Unsqueeze::\(fn.name)", input: x, output: "\(fn.name)::nc1w", for: fn, axes: [2])
                inputs[0] = "\(fn.name)::nc1w"
                func list(_ key: String) -> [Int]? { fn.attributes[key].flatMap { if case let .ints(v) = $0 { return v } else { return nil } } }
                let pads = list("pads") ?? [0, 0]
                if let k = list("kernel_shape") { attributes["kernel_shape"] = .ints([1] + k) }
                attributes["strides"] = .ints([1] + (list("strides") ?? [1]))
                if op == .conv || list("dilations") != nil { attributes["dilations"] = .ints([1] + (list("dilations") ?? [1])) }
                attributes["pads"] = .ints([0, pads.first ?? 0, 0, pads.count > 1 ? pads[1] : pads.first ?? 0])
                return fn.outputs[0]
            }
            if layoutIn && op.rule.layout == .originalAxes {
                // the file's op addresses the stored axes directly, or changes the rank: it works on the device layout's axes as they are: hand it the value as stored
                for (i, v) in inputs.enumerated() where nhwc.contains(v) {
                    inputs[i] = transposed(v, perm: Self.fromOurs(fileShape(v).count), suffix: "stored", for: fn)
                }
                layoutIn = false
                outputsKeepLayout = false
            }

            if layoutIn && op.rule.layout != .originalAxes && op.rule.layout != .permutes {
                // an element-wise op or Concat beside a device-layout value reads its other 4-D values as NHWC too
                // (the writer transposed them into that layout): AutoMix holds them channel-first
                for (i, v) in inputs.enumerated() where !nhwc.contains(v) && file.initializers[v] == nil && fileShape(v).count == 4 {
                    inputs[i] = transposed(v, perm: Self.toNCHW, suffix: "nchw", for: fn)
                    nhwc.insert(inputs[i])
                }
            }
            if op.rule.layout == .channelLast, let x = inputs.first, !nhwc.contains(x), fileShape(x).count == 4 {
                // the device reads a conv-like op's input as NHWC: a value the file transposed into that layout itself
                // is NHWC as stored, so hand AutoMix's NCHW kernel its channel-first view
                inputs[0] = transposed(x, perm: Self.toNCHW, suffix: "nchw", for: fn)
                nhwc.insert(inputs[0])
                layoutIn = true
                outputsKeepLayout = true
            }

            switch op {
            case .conv, .gemm:
                guard inputs.count >= 2, let w = file.initializers[inputs[1]] else { throw fail(fn, "the weight is not an initializer") }
                let bits = w.dataType.bits
                let conv1d = op == .conv && w.dims.count == 3
                guard w.dims.count == 4 || conv1d, w.ints.count == w.count || w.floats.count == w.count else {
                    throw fail(fn, "weight '\(w.name)' has dims \(w.dims)")
                }
                let group = fn.attributes["group"].flatMap { if case let .int(g) = $0 { return g } else { return nil } } ?? 1
                // a Conv1d's (W,C,N) filter is a Conv2d's (1,W,C,N): same bytes, same packing
                let dims = conv1d ? [1] + w.dims : w.dims
                let (kH, kW) = (dims[0], dims[1])
                let depthwise = op == .conv && group > 1
                let (n, c) = depthwise ? (dims[2], dims[3]) : (dims[3], dims[2])
                if conv1d { conv1dOutput = as2D() }
                guard !depthwise || c == 1 else { throw fail(fn, "grouped convolution with \(c) channels per group is not supported") }
                guard w.exponents.count == 1 || w.exponents.count == n else {
                    throw fail(fn, "weight '\(w.name)' has \(w.exponents.count) exponents for \(n) output channels")
                }
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
                    guard b.count == n, b.exponents.count == 1 || b.exponents.count == n else {
                        throw fail(fn, "bias '\(b.name)' has \(b.count) values and \(b.exponents.count) exponents for \(n) output channels")
                    }
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
            case .spaceToDepth:
                attributes["mode"] = .string("CRD")   // ESP-DL's kernel, whatever the file says
            case .resize:
                // ESP-DL's coordinates, whatever the file says: nearest asymmetric and floored, linear half-pixel unless
                // align_corners (dl_base_resize.cpp)
                if fn.attributes["mode"] == .string("linear") {
                    if attributes["coordinate_transformation_mode"] != .string("align_corners") {
                        attributes["coordinate_transformation_mode"] = .string("half_pixel")
                    }
                } else {
                    attributes["coordinate_transformation_mode"] = .string("asymmetric")
                    attributes["nearest_mode"] = .string("floor")
                }
            case .averagePool, .maxPool:
                if fileShape(fn.inputs[0]).count == 3 { conv1dOutput = as2D() }
            case .transpose:
                let rank = fileShape(fn.inputs[0]).count
                let perm = (attributes["perm"].flatMap { if case let .ints(p) = $0 { return p } else { return nil } } ?? Array((0..<rank).reversed()))
                    .map { $0 < 0 ? $0 + rank : $0 }
                guard perm.sorted() == Array(0..<rank) else { throw fail(fn, "perm \(perm) is no permutation of \(rank) axes") }
                attributes["perm"] = .ints(layoutIn ? perm.map { Self.fromOurs(rank)[$0] } : perm)
            case _ where layoutIn && op.rule.layout == .remapsAxis:
                let rank = fileShape(fn.inputs[0]).count
                let a = fn.attributes["axis"].flatMap { if case let .int(a) = $0 { return a } else { return nil } } ?? (op == .softmax ? -1 : 0)
                guard (-rank..<rank).contains(a) else { throw fail(fn, "axis \(a) is outside its \(rank) axes") }
                attributes["axis"] = .int(Self.fromOurs(rank)[(a + rank) % rank])
            case _ where layoutIn && op.rule.layout == .remapsAxesInput:
                // the axes are the device layout's (ESP-PPQ's AxisTransformPattern)
                guard inputs.count > 1, let axes = file.initializers[inputs[1]]?.ints else { break }
                let rank = fileShape(fn.inputs[0]).count
                guard axes.allSatisfy({ (-rank..<rank).contains(Int($0)) }) else { throw fail(fn, "axes \(axes) are outside its \(rank) axes") }
                let ours = axes.map { Int64(Self.fromOurs(rank)[(Int($0) + rank) % rank]) }
                let name = "\(inputs[1])::nchw"
                constants[name] = .int(shape: [ours.count], values: ours)
                inputs[1] = name
                if fn.attributes["keepdims"] == .int(0) {
                    let kept = (1..<rank).filter { !ours.contains(Int64($0)) }
                    guard kept.count <= 1 else { throw fail(fn, "drops device-layout axes \(axes) while keeping others in another order; not supported") }
                    outputsKeepLayout = false
                }
            default: break
            }
            if case let .string(lut)? = fn.attributes["lut"] {
                guard let t = file.initializers[lut] else { throw fail(fn, "lookup table '\(lut)' is missing") }
                let table = LookupTable(codes: t.ints, step: t.count == 256 ? 1 : 65536 / max(t.count - 1, 1))
                // ESP-DL reads an int16 table only in a `LUT` op; other int16 activations compute their formula
                if table.coversInt8 || op == .lut { tables[fn.name] = table }
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
                    guard t.exponents.count == 1 || t.exponents.count == t.dims.first else {
                        throw fail(fn, "initializer '\(name)' has \(t.exponents.count) exponents for sizes \(t.dims)")
                    }
                    let p = QuantizedParameter(shape: t.dims, codes: t.ints, exponents: t.exponents, bits: t.dataType.bits)
                    parameters[name] = p
                    constants[name] = .float(p.dequantized)
                }
            }
            // Outputs of layout-preserving ops keep the device layout; a Transpose leaves it.
            let channelLastRank = fn.inputs.first.map { fileShape($0).count } ?? 4
            if outputsKeepLayout {
                for o in fn.outputs where fileShape(o).count == channelLastRank && (3...4).contains(channelLastRank) { nhwc.insert(o) }
            }
            if let out = conv1dOutput {
                nodes.append(Node(name: fn.name, op: op, inputs: inputs, outputs: ["\(out)::nc1w"], attributes: attributes))
                if let q = format(of: out) { extraFormats["\(out)::nc1w"] = q }
                insert(.squeeze, "Squeeze::\(fn.name)", input: "\(out)::nc1w", output: out, for: fn, axes: [2])
                nhwc.insert(out)
                continue
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
        for n in graph.nodes {
            if let why = n.op.deviceMismatch(n, inputShape: graph.shapes[n.inputs[0]] ?? [], constant: graph.constant) {
                throw AutoMixError.invalidData(path: path, reason: "node '\(n.name)' (\(n.op.rawValue)): \(why)")
            }
        }
        var formats = extraFormats
        for (name, v) in file.valueInfo {
            guard let t = v.dataType, t == .int8 || t == .int16 else { continue }
            formats[name] = QuantFormat(bits: t.bits, exponent: v.exponent)
        }
        var clips: [String: ClipCodes] = [:]
        for n in graph.nodes where n.op.rule.activation == .clamp && precisions[n.name] != .float {
            if let q = formats[n.inputs[0]] { clips[n.name] = ClipCodes(n, input: q, target.rounding) }
        }
        let model = QuantizedModel(graph: graph, target: target, precisions: precisions, formats: formats,
                                   parameters: parameters, tables: tables, activations: activations, clips: clips)
        func test(_ t: ESPDLFile.TensorData) throws -> ESPDLModel.TestValue {
            guard t.dataType == .int8 || t.dataType == .int16 || t.dataType == .float else {
                throw AutoMixError.invalidData(path: path, reason: "test value '\(t.name)' is \(t.dataType.name), not INT8/INT16/FLOAT")
            }
            var codes = Tensor(shape: t.dims, data: t.dataType == .float ? t.floats : t.ints.map { Float($0) })
            if nhwc.contains(t.name) && (3...4).contains(t.dims.count) { codes = LayoutOps.transpose(codes, perm: Self.toOurs(t.dims.count)) }
            return .init(name: t.name, codes: codes,
                         format: t.dataType == .float ? nil : QuantFormat(bits: t.dataType.bits, exponent: t.exponents.first ?? 0))
        }
        return ESPDLModel(file: file, model: model, testInputs: try file.testInputs.map(test),
                          testOutputs: try file.testOutputs.map(test),
                          targetSource: explicitTarget == nil ? source : "the command line", streaming: streamed)
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
    /// chip's exact integer arithmetic lands from them. `gemm` picks the Conv kernels (each must give the same codes).
    public func checkTestValues(arithmetic: Arithmetic = .espPPQ, gemm: GemmBackend = .preferred,
                                fusedFromBytes: Int = ExpandDepthwise.paysFrom) throws -> TestCheck {
        guard testInputs.count == 1, !testOutputs.isEmpty else {
            throw AutoMixError.invalidData(path: file.path, reason: "holds \(testInputs.count) test inputs and \(testOutputs.count) test outputs; nothing to check")
        }
        let want = model.graph.inputs[0].shape.dropFirst(), have = testInputs[0].codes.shape
        guard have.count == want.count + 1, zip(have.dropFirst(), want).allSatisfy({ $1 < 0 || $0 == $1 }) else {
            throw AutoMixError.invalidData(path: file.path, reason: "the test input has shape \(have), the graph's input \(model.graph.inputs[0].shape)")
        }
        var m = model
        m.graph.outputs = testOutputs.map { ValueInfo(name: $0.name, shape: m.graph.shapes[$0.name] ?? []) }
        let executor = try QuantExecutor(model: m, arithmetic: arithmetic, gemm: gemm, fusedFromBytes: fusedFromBytes)
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
            // (a code that is no finite number, from a file with absurd exponents, counts as the widest miss)
            let diff = zip(expected.codes.data, got.data).map { e, g in g.isFinite ? abs(Int64(e) - Int64(g)) : Int64(1) << 32 }.max() ?? 0
            return (expected.name, diff, got.count, q.bits)
        })
    }
}

extension ESPDLModel {
    /// What running a file on a fixed input showed: every output computed, with a checksum of its codes.
    public struct SmokeRun: Sendable {
        public var outputs: [(name: String, shape: [Int], checksum: Int64, format: QuantFormat?)]
        public var seconds: Double
    }

    /// Runs the graph on ESP-PPQ's kind of test input (a fixed normal draw, quantized as the device's preprocessor
    /// does), for files that embed no test values: every node executes, so a file AutoMix cannot emulate fails here
    /// rather than with `--data`.
    public func runOnFixedInput() throws -> SmokeRun {
        guard let input = model.graph.inputs.first else { throw AutoMixError.invalidData(path: file.path, reason: "the graph has no input") }
        var shape = input.shape
        if shape.first.map({ $0 < 1 }) ?? false { shape[0] = 1 }
        guard shape.allSatisfy({ $0 > 0 }), shape.reduce(1, *) <= 1 << 26 else {
            throw AutoMixError.invalidData(path: file.path, reason: "input '\(input.name)' has shape \(input.shape); cannot make a test input")
        }
        let start = DispatchTime.now()
        let x = ESPDLExporter.normalInput(shape: shape)
        let codes = model.formats[input.name].map { QuantExecutor.quantize(x, $0, model.target.rounding) } ?? x
        let outputs = try QuantExecutor(model: model).runCodes(codes)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return SmokeRun(outputs: zip(model.graph.outputs, outputs).map { o, t in
            let q = model.formats[o.name]
            let sum = t.data.reduce(Int64(0)) { $0 &+ (q == nil ? Int64($1.bitPattern) : Int64($1)) }
            return (o.name, t.shape, sum, q)
        }, seconds: seconds)
    }
}
