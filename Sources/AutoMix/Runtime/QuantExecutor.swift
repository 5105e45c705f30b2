import Foundation
import Kernels

/// Runs a `QuantizedModel` with ESP-DL's integer semantics. Integer values are held as float arrays of codes
/// (int8/int16 are exact in float), so layout ops, pooling and BLAS work on them unchanged; float layers run
/// through the float ops between explicit Quantize/DequantizeLinear nodes.
public final class QuantExecutor: BatchExecutor {
    public let model: QuantizedModel
    public let arithmetic: Arithmetic
    public var graph: Graph { model.graph }
    /// One step per node: the steps an observer watches (`run(_:observeLayers:)`).
    let steps: [Step]
    /// The steps every other run takes: `steps` with each expand Conv and its depthwise Conv in one (`ExpandDepthwise`).
    let fastSteps: [Step]
    let slots: [String: Int]
    let constants: [Tensor]
    let inputFormat: QuantFormat?
    let outputFormats: [QuantFormat?]
    let batchSplittable: Bool
    /// The batch the model was made for, when its input fixes one (see `FloatExecutor.fixedBatch`).
    let fixedBatch: Int?
    /// Images per sub-batch, as for the float executor (see `BatchSplit`).
    let chunkLimit: Int
    /// The steps that run on all of a worker's images at once (see `BatchedTail`).
    let tail: BatchedTail?

    enum Kernel: Sendable {
        case linear(IntegerLinear)
        /// An integer Conv and the depthwise Conv that alone reads it, panel by panel.
        case expandDepthwise(ExpandDepthwise)
        /// Codes through a 256-entry table (int8 activations).
        case lookup([Float])
        /// Codes clamped to [lo, hi] (Relu/Clip that keep their input's format).
        case clampCodes(lo: Float, hi: Float)
        /// Int16 codes through a table of every `step`-th code, nearest entry (ESP-PPQ's power-of-two-step LUT).
        case lookup16([Float], step: Int)
        /// Any element-wise function evaluated on the real value, quantized to the output format.
        case function(UnaryFunction, QuantFormat, QuantFormat)
        case rescale(scale: Double, QuantFormat)
        case quantize(QuantFormat)
        case dequantize(QuantFormat)
        case binary(BinaryFunction, QuantFormat, QuantFormat, QuantFormat)
        case globalAverage(QuantFormat, QuantFormat)
        case averagePool(QuantFormat, QuantFormat)
        case softmax(QuantFormat)
        case reduceMean(QuantFormat, QuantFormat)
        /// Negative codes times the per-channel slope codes, rescaled by `2^-shift` with the chip's rounding (ESP-PPQ's
        /// exports of PRelu on P4, S3 and int16 agree with this, not with the C kernel's floor shift).
        case prelu(slope: Tensor, shift: Int, QuantFormat)
        case matMul(QuantFormat, QuantFormat, QuantFormat)
        /// The input, unchanged (a lookup already folded into the layer before it).
        case forward
        /// An op that moves or selects codes without changing them (MaxPool, Reshape, Transpose, Concat, …).
        case passive
        /// A linear Resize as ESP-DL computes it: dequantized codes interpolated in float32, rounded into the output.
        case resizeLinear(QuantFormat, QuantFormat)
        /// A nearest Resize whose output has another exponent: ESP-DL rounds each copied code by `2^(e_in − e_out)`.
        case passiveRescaled(scale: Double, QuantFormat)
        case float
    }

    struct Step: Sendable {
        let node: Node
        let kernel: Kernel
        /// For analysis: whether this layer's value of interest is its pre-activation sum (its output format is
        /// shared with a fused Relu or a following Clip, as ESP-PPQ's overlapped configs) rather than its output.
        let observesPreActivation: Bool
        let inputs: [Slot]
        let outputs: [Int]
        let releases: [Int]
    }

    /// `gemm` picks the Conv kernels (`GemmBackend`, and with it `IntegerKernel`); the default is the fastest this CPU has.
    /// `fusedFromBytes`: see `ExpandDepthwise.paysFrom` (0 fuses every pair it can, `.max` none; the same codes either way).
    /// `cache`: integer layers kept from a search's earlier trials, reused where their inputs are equal (`RebuildCache`).
    public init(model: QuantizedModel, arithmetic: Arithmetic = .exact, gemm: GemmBackend = .preferred,
                fusedFromBytes: Int = ExpandDepthwise.paysFrom, cache: RebuildCache? = nil) throws {
        self.model = model
        self.arithmetic = arithmetic
        let graph = model.graph
        guard graph.inputs.count == 1 else {
            throw AutoMixError.invalidArgument("model '\(graph.name)' has \(graph.inputs.count) inputs; AutoMix runs single-input classifiers")
        }
        var table = SlotTable(input: graph.inputs[0].name)
        var built: [(Node, Kernel, [Slot], [Int])] = []
        let consumers = graph.consumers()
        for n in graph.nodes {
            let kernel = try Self.kernel(for: n, model, gemm: gemm, cache: cache)
            let ins = table.inputs(of: n, step: built.count, graph: graph)
            built.append((n, kernel, ins, table.outputs(n.outputs)))
        }
        let keep = Set(try table.outputSlots(of: graph))
        // a clamp-shaped int8 lookup right after a Conv/Gemm of the same format is folded into its saturation
        let producerStep = Dictionary(built.enumerated().flatMap { i, s in s.0.outputs.map { ($0, i) } }, uniquingKeysWith: { a, _ in a })
        for j in built.indices {
            guard let p = producerStep[built[j].0.inputs[0]], case let .linear(l) = built[p].1,
                  consumers[built[j].0.inputs[0]]?.count == 1, !graph.outputs.contains(where: { $0.name == built[p].0.outputs[0] }),
                  model.formats[built[j].0.outputs[0]] == l.output else { continue }
            let folded: IntegerLinear?
            switch built[j].1 {
            case let .lookup(table): folded = l.folding(table)
            case let .clampCodes(lo, hi): folded = l.folding(lo: Int64(lo), hi: Int64(hi))
            default: folded = nil
            }
            guard let folded else { continue }
            built[p].1 = .linear(folded)
            built[j].1 = .forward
        }
        steps = built.enumerated().map { i, s in
            Step(node: s.0, kernel: s.1, observesPreActivation: Self.sharesOutput(s.0, model, consumers), inputs: s.2, outputs: s.3,
                 releases: table.releases(after: i, keeping: keep))
        }
        slots = table.slots
        constants = table.constants
        inputFormat = model.formats[graph.inputs[0].name]
        outputFormats = graph.outputs.map { model.formats[$0.name] }
        batchSplittable = FloatExecutor.keepsBatchLeading(graph)
        fixedBatch = graph.inputs[0].shape.first.flatMap { $0 > 0 ? $0 : nil }
        chunkLimit = BatchSplit.chunkLimit(graph)
        fastSteps = Self.fusingExpandDepthwise(steps, graph, consumers: consumers, arithmetic, fromBytes: fusedFromBytes)
        tail = BatchedTail.of(graph, table: table, steps: fastSteps.map { ($0.inputs, $0.outputs) }, outputSlots: Array(keep),
                              splittable: batchSplittable, fixedBatch: fixedBatch)
    }

    /// Images per worker's piece: with a batched tail, as many as the batch gives each core (`runChunk` splits the head).
    var workerChunkLimit: Int { tail == nil ? chunkLimit : .max }

    static func sharesOutput(_ n: Node, _ model: QuantizedModel, _ consumers: [String: [Int]]) -> Bool {
        guard n.op.rule.format == .layer else { return false }
        if model.activation(of: n) == .relu { return true }
        guard let users = consumers[n.outputs[0]], users.count == 1 else { return false }
        let c = model.graph.nodes[users[0]]
        return c.op == .clip && model.shareFormat(n.outputs[0], c.outputs[0])
    }

    /// `cache`: layers kept from a search's earlier trials (see `RebuildCache`).
    static func kernel(for n: Node, _ model: QuantizedModel, gemm: GemmBackend = .preferred, cache: RebuildCache? = nil) throws -> Kernel {
        let precision = model.precision(of: n)
        let f = model.formats
        func format(_ name: String, _ role: String) throws -> QuantFormat {
            guard let q = f[name] else { throw ShapeInference.fail(n, "\(role) '\(name)' has no integer format") }
            return q
        }
        /// A second operand: an integer value, or a constant with integer codes (a file's bias, a scale factor).
        func operand(_ i: Int) throws -> QuantFormat {
            if let q = f[n.inputs[i]] { return q }
            guard let p = model.parameters[n.inputs[i]], p.exponents.count == 1 else { return try format(n.inputs[i], "input") }
            return QuantFormat(bits: p.bits, exponent: p.exponents[0])
        }
        let mode = model.target.rounding
        switch n.op {
        case .quantizeLinear: return .quantize(try format(n.outputs[0], "output"))
        case .dequantizeLinear: return .dequantize(try format(n.inputs[0], "input"))
        case .requantizeLinear:
            let (a, b) = (try format(n.inputs[0], "input"), try format(n.outputs[0], "output"))
            return .rescale(scale: QuantFormat(bits: 8, exponent: a.exponent - b.exponent).scale, b)
        default: break
        }
        if precision == .float {
            for v in n.inputs where f[v] != nil { throw ShapeInference.fail(n, "float op reads integer value '\(v)' without a DequantizeLinear") }
            return .float
        }
        let input = try format(n.inputs[0], "input")
        let rule = n.op.rule
        if rule.format == .floatOutput { return .softmax(input) }
        if rule.format == .layer {
            guard n.inputs.count > 1, let w = model.parameters[n.inputs[1]] else {
                throw ShapeInference.fail(n, "weight '\(n.inputs.count > 1 ? n.inputs[1] : "")' has no integer codes")
            }
            if n.op == .gemm {
                guard n.int("transA", default: 0) == 0, n.int("transB", default: 0) == 1, w.shape.count == 2 else {
                    throw ShapeInference.fail(n, "integer Gemm needs transA = 0 and a [N,K] weight with transB = 1")
                }
            }
            let bias = n.inputs.count > 2 ? model.parameters[n.inputs[2]] : nil
            let inputs = LinearInputs(node: n, weight: w, bias: bias, input: input, output: try format(n.outputs[0], "output"),
                                      activation: model.activation(of: n), rounding: mode, gemm: gemm)
            return .linear(try cache?.value("linear|" + n.name, inputs: inputs, make: inputs.make) ?? inputs.make())
        }
        let output = try format(n.outputs[0], "output")
        if rule.activation != .none { return try activationKernel(n, model, input, output) }
        switch n.op {
        case .add, .sub, .mul, .div:
            let b = try operand(1)
            let op: BinaryFunction = n.op == .add ? .add : n.op == .sub ? .sub : n.op == .mul ? .mul : .div
            return .binary(op, input, b, output)
        case .matMul:
            return .matMul(input, try operand(1), output)
        case .pRelu:
            guard let slope = model.parameters[n.inputs[1]] else { throw ShapeInference.fail(n, "slope has no integer codes") }
            return .prelu(slope: Tensor(shape: slope.shape, data: slope.codes.map { Float($0) }),
                          shift: output.exponent - input.exponent - slope.exponents[0], output)
        case .reduceMean:
            return .reduceMean(input, output)
        default: break
        }
        switch n.op {
        case .globalAveragePool: return .globalAverage(input, output)
        case .averagePool: return .averagePool(input, output)
        case .resize where n.string("mode", default: "nearest") == "linear":
            return .resizeLinear(input, output)
        case .resize where f[n.inputs[0]] != nil && f[n.inputs[0]] != output:
            return .passiveRescaled(scale: QuantFormat(bits: 8, exponent: f[n.inputs[0]]!.exponent - output.exponent).scale, output)
        case _ where n.rule.copiesCodes:
            // ESP-DL's InsertZeros copies codes: a file that gives its output another exponent reinterprets them
            for v in n.inputs where f[v] != nil && f[v] != output && n.op != .insertZeros {
                throw ShapeInference.fail(n, "input '\(v)' is \(f[v]!) but the output is \(output); the inputs of a \(n.op.rawValue) must share its format")
            }
            return .passive
        default:
            throw ShapeInference.fail(n, "has no integer kernel at \(precision.rawValue)")
        }
    }

    /// An integer activation as the model recorded it: a clamp of the codes where a Relu/Clip keeps its format, the
    /// recorded table (int8: every code; int16: ESP-PPQ's `LUT`), else the formula on each code (ESP-DL computes an
    /// int16 activation of a file that is no `LUT` op by its formula).
    static func activationKernel(_ n: Node, _ model: QuantizedModel, _ input: QuantFormat, _ output: QuantFormat) throws -> Kernel {
        let rule = n.op.rule
        if rule.activation == .clamp, input == output, let c = model.clips[n.name] { return .clampCodes(lo: Float(c.lo), hi: Float(c.hi)) }
        if let t = model.tables[n.name] {
            if input.bits == 8, output.bits == 8, t.coversInt8 { return .lookup(t.codes.map { Float($0) }) }
            if input.bits == 16, output.bits == 16, t.coversInt16, rule.activation == .table {
                return .lookup16(t.codes.map { Float($0) }, step: t.step)
            }
        }
        if n.op == .lut { throw ShapeInference.fail(n, "has no lookup table that fits \(input) → \(output)") }
        return .function(ElementwiseOps.function(of: n, []), input, output)
    }

    /// Real input in, real outputs out: the input is quantized as the device's preprocessor does.
    public func run(_ input: Tensor) throws -> [Tensor] {
        try BatchSplit.run(input, fixedBatch: fixedBatch, splittable: batchSplittable, modelName: graph.name, chunkLimit: workerChunkLimit) { chunk in
            var x = chunk
            if let q = self.inputFormat { x = Self.quantize(x, q, self.model.target.rounding) }
            let outs = try self.runChunk(x)
            return zip(outs, self.outputFormats).map { t, q in q.map { Self.dequantize(t, $0) } ?? t }
        }
    }

    /// Runs the whole batch as one piece and hands each Conv/Gemm's value of interest (see
    /// `Step.observesPreActivation`) to `observe` under the layer's name, with the factor that makes it real: the
    /// output codes and their scale (an observer that samples a few values dequantizes only those), or the real
    /// pre-activation sums and 1.
    public func run(_ input: Tensor, observeLayers observe: @escaping LayerObserver) throws -> [Tensor] {
        var x = input
        if let q = inputFormat { x = Self.quantize(x, q, model.target.rounding) }
        let outs = try runChunk(x, observe: observe)
        return zip(outs, outputFormats).map { t, q in q.map { Self.dequantize(t, $0) } ?? t }
    }

    /// Codes in (for an integer input), outputs as stored: codes for integer outputs.
    public func runCodes(_ input: Tensor) throws -> [Tensor] {
        try BatchSplit.run(input, fixedBatch: fixedBatch, splittable: batchSplittable, modelName: graph.name, chunkLimit: workerChunkLimit) {
            try self.runChunk($0)
        }
    }

    /// Input `i` as codes: constants are held as the real values of their codes (exact, powers of two).
    func codes(_ t: Tensor?, _ step: Step, _ i: Int, _ q: QuantFormat) -> Tensor? {
        guard let t else { return nil }
        guard case .constant = step.inputs[i] else { return t }
        let inv = Float(1 / q.scale)
        return Tensor(shape: t.shape, data: t.data.map { $0 * inv })
    }

    /// A node input that is a constant of the graph (axes, sizes), for ops that read one at run time.
    func constantValue(_ name: String, _ step: Step, _ ins: [Tensor?]) -> ConstantValue? {
        if let c = graph.constants[name] { return c }
        guard let i = step.node.inputs.firstIndex(of: name), i < ins.count, let t = ins[i] else { return nil }
        return .float(t)
    }

    static func quantize(_ x: Tensor, _ q: QuantFormat, _ mode: RoundingMode) -> Tensor {
        rescaled(x, scale: 1 / q.scale, q, mode)
    }

    /// `clip(round(x · scale))` into `q`'s range, the chip's rounding.
    static func rescaled(_ x: Tensor, scale: Double, _ q: QuantFormat, _ mode: RoundingMode) -> Tensor {
        var y = Tensor(uninitialized: x.shape)
        x.data.withUnsafeBufferPointer { xp in y.data.withUnsafeMutableBufferPointer { yp in
            rescaleCodes(xp.baseAddress!, count: x.count, scale: scale, mode, lo: Float(q.qmin), hi: Float(q.qmax), yp.baseAddress!)
        }}
        return y
    }

    static func dequantize(_ x: Tensor, _ q: QuantFormat) -> Tensor {
        let s = Float(q.scale)
        return Tensor(shape: x.shape, data: x.data.map { $0 * s })
    }

    /// A layer's name, its value (codes or real) and the scale that makes it real; see `run(_:observeLayers:)`.
    public typealias LayerObserver = (_ layer: String, _ value: Tensor, _ scale: Float) -> Void

    /// Runs one sub-batch of codes on the calling thread: with a batched tail, the head `chunkLimit` images at a
    /// time and the tail on all of them (see `FloatExecutor.runChunk`).
    func runChunk(_ input: Tensor, observe: LayerObserver? = nil, time: StepTimer? = nil) throws -> [Tensor] {
        var values = [Tensor?](repeating: nil, count: slots.count)
        let images = input.shape.first ?? 1
        if let tail, images > chunkLimit, observe == nil {
            values = try tail.handOver(images: images, chunk: chunkLimit, count: slots.count) { range in
                var head = [Tensor?](repeating: nil, count: slots.count)
                head[0] = input.images(range)
                try runSteps(fastSteps, &head, 0..<tail.start, observe: nil, time: time)
                return head
            }
            try runSteps(fastSteps, &values, tail.start..<fastSteps.count, observe: nil, time: time)
        } else {
            values[0] = input
            let plan = observe == nil ? fastSteps : steps
            try runSteps(plan, &values, 0..<plan.count, observe: observe, time: time)
        }
        return graph.outputs.map { values[slots[$0.name]!]! }
    }

    /// Time spent in each step when one batch runs on the calling thread, head and tail as a worker runs them:
    /// what `automix bench --profile` prints for the integer executor.
    public func profile(_ input: Tensor) throws -> [(node: Node, seconds: Double)] {
        var x = input
        if let q = inputFormat { x = Self.quantize(x, q, model.target.rounding) }
        var seconds = [Double](repeating: 0, count: fastSteps.count)
        _ = try runChunk(x, time: { seconds[$0] += $1 })
        return zip(fastSteps, seconds).map { ($0.node, $1) }
    }

    func runSteps(_ plan: [Step], _ values: inout [Tensor?], _ range: Range<Int>, observe: LayerObserver?,
                  time: StepTimer? = nil) throws {
        let mode = model.target.rounding
        for (index, step) in zip(range, plan[range]) {
            let start = time == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            defer { time?(index, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
            let ins: [Tensor?] = step.inputs.map { slot in
                switch slot {
                case let .value(s): return values[s]
                case let .constant(c): return constants[c]
                case .absent: return nil
                }
            }
            guard let x = ins.first ?? nil else { throw ShapeInference.fail(step.node, "input 0 is missing") }
            let out: Tensor
            switch step.kernel {
            case .float, .passive:
                let r = try FloatOps.evaluate(step.node, ins, opset: graph.opset)
                for s in step.releases { values[s] = nil }
                for (s, t) in zip(step.outputs, r) { values[s] = t }
                continue
            case let .resizeLinear(a, o):
                let geometry = try ResizeGeometry(node: step.node, inputShape: x.shape) { self.constantValue($0, step, ins) }
                let (rows, cols, shape) = LayoutOps.linearTaps(step.node, x.shape, geometry, chip: true)
                out = LayoutOps.resizeLinear(x, outShape: shape, rows: rows, cols: cols,
                                             codes: (Float(a.scale), Float(1 / o.scale), Float(o.qmin), Float(o.qmax), mode))
            case let .passiveRescaled(scale, q):
                out = Self.rescaled(try FloatOps.evaluate(step.node, ins, opset: graph.opset)[0], scale: scale, q, mode)
            case let .linear(l):
                let shape = try ShapeInference.outputShapes(step.node, ins.map { $0?.shape }, constant: { _ in nil })[0]
                out = try l.run(x, outShape: shape, arithmetic: arithmetic)
                if let observe {
                    if step.observesPreActivation {
                        observe(step.node.name, try l.preActivation(x, outShape: shape), 1)
                    } else {
                        observe(step.node.name, out, Float(l.output.scale))
                    }
                }
            case let .expandDepthwise(fused):
                let middle = try ShapeInference.outputShapes(step.node, ins.map { $0?.shape }, constant: { _ in nil })[0]
                out = try fused.run(x, middle: middle)
            case .forward:
                out = x
            case let .lookup(table):
                var y = Tensor(uninitialized: x.shape)
                x.data.withUnsafeBufferPointer { xp in table.withUnsafeBufferPointer { tp in y.data.withUnsafeMutableBufferPointer { yp in
                    lookup256(xp.baseAddress!, count: x.count, table: tp.baseAddress!, yp.baseAddress!)
                }}}
                out = y
            case let .clampCodes(lo, hi):
                var y = Tensor(uninitialized: x.shape)
                x.data.withUnsafeBufferPointer { xp in y.data.withUnsafeMutableBufferPointer { yp in
                    applyUnary(.clip(min: lo, max: hi), xp.baseAddress!, yp.baseAddress!, count: x.count)
                }}
                out = y
            case let .lookup16(table, step):
                out = Tensor(shape: x.shape, data: x.data.map { q in table[ActivationTable.index(q, step: step, entries: table.count, mode)] })
            case let .function(fn, a, b):
                let (sa, lo, hi) = (a.scale, Float(b.qmin), Float(b.qmax))
                let inv = 1 / b.scale
                out = Tensor(shape: x.shape, data: x.data.map { q in
                    let r = Float(mode.round(Double(UnaryFunction.evaluate(fn, Float(Double(q) * sa))) * inv))
                    return r.isNaN ? 0 : min(max(r, lo), hi)
                })
            case let .rescale(scale, q):
                out = Self.rescaled(x, scale: scale, q, mode)
            case let .quantize(q): out = Self.quantize(x, q, mode)
            case let .dequantize(q): out = Self.dequantize(x, q)
            case let .binary(op, a, b, o):
                guard let y = codes(ins[1], step, 1, b) else { throw ShapeInference.fail(step.node, "input 1 is missing") }
                let shape = try ShapeInference.outputShapes(step.node, ins.map { $0?.shape }, constant: { _ in nil })[0]
                if (op == .add || op == .sub) && a == o && b == o {
                    // aligned Add/Sub (ESP-PPQ's rule): exact code arithmetic, saturated
                    out = ElementwiseOps.binary(op, x, y, outShape: shape, clamp: (Float(o.qmin), Float(o.qmax)))
                } else {
                    out = IntegerElementwise.binary(op, x, a, y, b, output: o, outShape: shape, mode)
                }
            case let .globalAverage(a, o): out = IntegerElementwise.globalAverage(x, a, o, mode)
            case let .averagePool(a, o):
                let shape = try ShapeInference.outputShapes(step.node, [x.shape], constant: { _ in nil })[0]
                let mean = try PoolOps.pool(step.node, x, outShape: shape)
                let s = a.scale / o.scale
                out = Tensor(shape: shape, data: mean.data.map { roundedCode(Double($0) * s, mode, lo: Float(o.qmin), hi: Float(o.qmax)) })
            case let .reduceMean(a, o):
                let axes = try SelectOps.reduceAxes(step.node, rank: x.shape.count) { name in self.constantValue(name, step, ins) }
                let (sums, count) = SelectOps.reduceSum(x, axes: axes)
                let (sa, so, n) = (Float(a.scale), Float(1 / o.scale), Float(count))
                out = Tensor(shape: SelectOps.reduceShape(step.node, x.shape, axes: axes), data: sums.map {
                    min(max(mode.round(Float($0) * sa / n * so), Float(o.qmin)), Float(o.qmax))
                })
            case let .prelu(slope, shift, o):
                let shape = try ShapeInference.outputShapes(step.node, ins.map { $0?.shape }, constant: { _ in nil })[0]
                let products = ElementwiseOps.binary(.mul, x, slope, outShape: shape)
                let (lo, hi) = (Float(o.qmin), Float(o.qmax))
                let scale = Double(sign: .plus, exponent: -shift, significand: 1)
                out = Tensor(shape: shape, data: zip(x.data, products.data).map { q, p in
                    q >= 0 ? q : roundedCode(Double(p) * scale, mode, lo: lo, hi: hi)
                })
            case let .matMul(a, b, o):
                guard let y = codes(ins[1], step, 1, b) else { throw ShapeInference.fail(step.node, "input 1 is missing") }
                let shape = try ShapeInference.outputShapes(step.node, ins.map { $0?.shape }, constant: { _ in nil })[0]
                out = IntegerElementwise.matMul(x, y, outShape: shape, shift: o.exponent - a.exponent - b.exponent, output: o, mode)
            case let .softmax(a):
                out = try FloatOps.evaluate(step.node, [Self.dequantize(x, a)], opset: graph.opset)[0]
            }
            for s in step.releases { values[s] = nil }
            values[step.outputs[0]] = out
        }
    }
}
