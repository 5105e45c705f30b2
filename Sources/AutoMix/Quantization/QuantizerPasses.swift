import Foundation
import Kernels

/// The quantizer's passes, in the order `Quantizer.build` runs them. Each reads and extends one `Draft`.
extension Quantizer {
    /// The model under construction: the graph as the passes rewrite it and every decision taken so far.
    struct Draft {
        var graph: Graph
        var precision: [String: Precision]
        var activations: [String: FusedActivation] = [:]
        /// Union-find over value names: values in one group share one format.
        var parent: [String: String] = [:]
        /// Per group root: its width, its exponent, and the member whose calibration statistics decide it.
        var groupBits: [String: Int] = [:]
        var groupExponent: [String: Int] = [:]
        var master: [String: String] = [:]
        var formats: [String: QuantFormat] = [:]
        var parameters: [String: QuantizedParameter] = [:]
        var tables: [String: LookupTable] = [:]
        var clips: [String: ClipCodes] = [:]

        func bits(of node: Node) -> Int? { precision[node.name]?.bits }
        func find(_ v: String) -> String {
            var r = v
            while let p = parent[r], p != r { r = p }
            return r
        }
        mutating func union(_ a: String, _ b: String) {
            let (ra, rb) = (find(a), find(b))
            if ra != rb { parent[ra] = rb }
        }

        func model(target: Target, cache: RebuildCache? = nil) throws -> QuantizedModel {
            var g = graph
            for (name, p) in parameters {
                g.constants[name] = .float(cache?.value("dequantized|" + name, inputs: p) { p.dequantized } ?? p.dequantized)
            }
            g.pruneConstants()
            try g.inferShapes()
            let groups = Dictionary(uniqueKeysWithValues: parent.keys.map { ($0, find($0)) })
            return QuantizedModel(graph: g, target: target, precisions: precision, formats: formats, parameters: parameters,
                                  tables: tables, activations: activations, clips: clips, formatGroups: groups)
        }
    }

    /// A Relu after an integer Conv/Gemm of the same precision, its only reader, becomes the layer's activation.
    func fuseRelu(_ d: inout Draft) {
        let g = d.graph
        let consumers = g.consumers()
        let graphOutputs = Set(g.outputs.map(\.name))
        var removed = Set<Int>()
        for (i, n) in g.nodes.enumerated() where n.op.rule.format == .layer && d.precision[n.name] != .float {
            d.activations[n.name] = .linear
            guard let users = consumers[n.outputs[0]], users.count == 1, !graphOutputs.contains(n.outputs[0]) else { continue }
            let r = g.nodes[users[0]]
            guard r.op == .relu, d.precision[r.name] == d.precision[n.name] else { continue }
            d.activations[n.name] = .relu
            d.graph.nodes[i].outputs = r.outputs
            removed.insert(users[0])
            d.precision[r.name] = nil
        }
        d.graph.nodes = d.graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }

    /// Values that share one format: a layer's output and a Clip of the same precision reading only it (ESP-PPQ's
    /// overlapped configs), and every output of a passive op with its input.
    func groupSharedFormats(_ d: inout Draft) {
        let g = d.graph
        let consumers = g.consumers(), producer = g.producerIndex()
        let graphOutputs = Set(g.outputs.map(\.name))
        for n in g.nodes where d.bits(of: n) != nil {
            if n.op.rule.format == .layer, let users = consumers[n.outputs[0]], users.count == 1, !graphOutputs.contains(n.outputs[0]),
               g.nodes[users[0]].op == .clip, d.precision[g.nodes[users[0]].name] == d.precision[n.name] {
                d.union(n.outputs[0], g.nodes[users[0]].outputs[0])
            }
            if n.op.rule.format == .passive, let p = producer[n.inputs[0]], d.bits(of: g.nodes[p]) == d.bits(of: n) {
                for o in n.outputs { d.union(o, n.inputs[0]) }
            }
        }
    }

    /// Each group's width and exponent, calibrated on its last non-passive member that calibration saw, with the
    /// config's observer (or the override of a layer in the group).
    func calibrateGroups(_ d: inout Draft) throws {
        let g = d.graph
        let inputName = g.inputs[0].name
        var groupLayers: [String: [String]] = [:]
        func note(_ value: String, bits: Int, layer: String?) {
            let root = d.find(value)
            if d.groupBits[root] == nil { d.groupBits[root] = bits }
            if let layer { groupLayers[root, default: []].append(layer) }
            if calibration.statistics[value] != nil { d.master[root] = value }
        }
        if let first = g.consumers()[inputName]?.first, let b = d.bits(of: g.nodes[first]) { note(inputName, bits: b, layer: nil) }
        for n in g.nodes {
            guard let b = d.bits(of: n), n.op.rule.format != .floatOutput else { continue }
            let passive = n.op.rule.format == .passive
            for o in n.outputs where !(passive && d.master[d.find(o)] != nil) { note(o, bits: b, layer: n.name) }
        }
        for (root, b) in d.groupBits {
            guard let m = d.master[root] else { throw AutoMixError.invalidArgument("value '\(root)' was not seen during calibration") }
            d.groupExponent[root] = try calibration.exponent(
                of: m, config.activationObserver(bits: b, layers: groupLayers[root] ?? []), bits: b)
        }
    }

    /// ESP-PPQ's Align to Output: an input of an aligned op (Add, Sub, Concat, Resize) read by nothing else moves to the
    /// output's exponent; other inputs get a RequantizeLinear in `insertConversions`. Last op first, so that a chain
    /// (a Resize feeding an Add) ends at the last op's exponent, as ESP-PPQ's master configs chain.
    func alignInputsToOutputs(_ d: inout Draft) {
        let g = d.graph
        let consumers = g.consumers()
        let inputName = g.inputs[0].name
        // a group read outside itself more than once (the input of two Slices, say) keeps its exponent
        var readers: [String: Int] = [:]
        for v in Set(d.parent.keys).union(d.parent.values) {
            let root = d.find(v)
            readers[root, default: 0] += (consumers[v] ?? []).filter { !g.nodes[$0].outputs.contains { d.find($0) == root } }.count
        }
        for n in g.nodes.reversed() where n.op.rule.format == .aligned && d.bits(of: n) != nil {
            let out = d.find(n.outputs[0])
            for v in n.inputs where !v.isEmpty && v != inputName && g.constant(v) == nil {
                let root = d.find(v)
                guard root != out, d.groupBits[root] == d.groupBits[out], consumers[v]?.count == 1,
                      readers[root].map({ $0 <= 1 }) ?? true else { continue }
                d.groupExponent[root] = d.groupExponent[out]
            }
        }
    }

    /// Every grouped or calibrated value gets its group's format; an imposed model's formats win where widths agree.
    func assignFormats(_ d: inout Draft) {
        func format(_ v: String) -> QuantFormat? {
            let root = d.find(v)
            guard let b = d.groupBits[root], let e = d.groupExponent[root] else { return nil }
            return QuantFormat(bits: b, exponent: e)
        }
        for v in Set(d.parent.keys).union(d.master.values).union(d.groupBits.keys) { d.formats[v] = format(v) }
        for n in d.graph.nodes where d.bits(of: n) != nil && n.op.rule.format != .floatOutput {
            for o in n.outputs where d.formats[o] == nil { d.formats[o] = format(o) }
        }
        if let imposed {
            for (v, q) in imposed.formats where d.formats[v]?.bits == q.bits { d.formats[v] = q }
        }
    }

    /// A Quantize, Requantize or DequantizeLinear node on every edge whose consumer needs another format than the value
    /// has: an aligned op its output's, an integer op its own width, a float op real values. One node per value and
    /// format, however many consumers share it.
    func insertConversions(_ d: inout Draft) throws {
        let g = d.graph
        var nodes: [Node] = []
        var conversions: [String: String] = [:]   // "value|format" -> converted value name
        for var n in g.nodes {
            let b = d.bits(of: n)
            for (k, v) in n.inputs.enumerated() where !v.isEmpty && g.constant(v) == nil {
                let have = d.formats[v]
                let want: QuantFormat?
                if let b {
                    if n.op.rule.format == .aligned {
                        want = d.formats[n.outputs[0]]
                    } else if let have, have.bits == b {
                        want = have
                    } else if let q = imposed?.formats[v], q.bits == b {
                        want = q
                    } else {
                        let source = d.master[d.find(v)] ?? v
                        want = QuantFormat(bits: b, exponent: try calibration.exponent(
                            of: source, config.activationObserver(bits: b, layers: []), bits: b))
                    }
                } else {
                    want = nil
                }
                guard have != want else { continue }
                let key = "\(v)|\(want.map { "\($0.bits),\($0.exponent)" } ?? "float")"
                if let c = conversions[key] { n.inputs[k] = c; continue }
                let suffix = want.map { "int\($0.bits)e\($0.exponent)" } ?? "float"
                let op: OpKind = have == nil ? .quantizeLinear : want == nil ? .dequantizeLinear : .requantizeLinear
                let name = "\(v)::\(suffix)", convName = "\(op.rawValue)::\(v)::\(suffix)"
                nodes.append(Node(name: convName, op: op, inputs: [v], outputs: [name]))
                d.precision[convName] = want.flatMap { Precision(bits: $0.bits) } ?? .float
                d.formats[name] = want
                conversions[key] = name
                n.inputs[k] = name
            }
            nodes.append(n)
        }
        d.graph.nodes = nodes
    }

    /// Integer codes for every integer layer's weight and bias, and for constant operands of element-wise ops.
    func quantizeConstants(_ d: inout Draft) throws {
        for i in d.graph.nodes.indices {
            var n = d.graph.nodes[i]
            guard let b = d.bits(of: n) else { continue }
            let rule = n.op.rule
            if rule.format == .layer {
                try quantizeParameters(&n, bits: b, input: d.formats[n.inputs[0]]!, into: &d.parameters, graph: d.graph)
            } else if rule.constantOperand != .none {
                quantizeOperands(&n, bits: b, output: d.formats[n.outputs[0]], into: &d.parameters, graph: d.graph)
            }
            d.graph.nodes[i] = n
        }
    }

    /// How each integer activation runs, recorded for the executor and the writers: Clip and Relu bounds as codes of
    /// the input's format; int8 activations through a table of every code; int16 ones through ESP-PPQ 1.3.12's `LUT`
    /// table (every 32nd code), except Relu/Clip, whose file table samples every 256th code and which run as clamps.
    func recordActivationForms(_ d: inout Draft) {
        let mode = config.target.rounding
        for n in d.graph.nodes where n.op.rule.activation != .none && d.bits(of: n) != nil {
            guard let a = d.formats[n.inputs[0]], let b = d.formats[n.outputs[0]] else { continue }
            if n.op.rule.activation == .clamp { d.clips[n.name] = ClipCodes(n, input: a, mode) }
            let step = a.bits == 8 ? 1 : ActivationTable.isInt16LUT(n, input: a, output: b) ? ActivationTable.int16Step : 256
            d.tables[n.name] = LookupTable(codes: ActivationTable.codes(n, input: a, output: b, step: step, mode), step: step)
        }
    }
}
