import Testing
@testable import AutoMix

/// `OpKind.rule` is the one place op facts live: what it claims must hold in the executor and the writer.
@Suite struct OpRuleTests {
    /// A one-node model of `op` with int8 values on every input and output.
    static func oneNode(_ op: OpKind, _ target: Target = .esp32p4) -> (Node, QuantizedModel) {
        let binary = op.rule.format == .aligned || op.rule.constantOperand != .none || op == .matMul
        let node = Node(name: "n", op: op, inputs: binary ? ["x", "x2"] : ["x"], outputs: ["y"])
        let q = QuantFormat(bits: 8, exponent: -4)
        let graph = Graph(name: "g", nodes: [node], inputs: [ValueInfo(name: "x", shape: [1, 4, 4, 4])],
                          outputs: [ValueInfo(name: "y", shape: [])], constants: [:], opset: 13)
        return (node, QuantizedModel(graph: graph, target: target, precisions: ["n": .int8], formats: ["x": q, "x2": q, "y": q],
                                     parameters: [:]))
    }

    @Test("every op a plan may run in int8 has an integer kernel, and ops that copy codes run passive")
    func integerRulesHaveKernels() throws {
        for op in OpKind.allCases where op.rule.precisions.contains(.int8) && ![.layer, .conversion].contains(op.rule.format) {
            var (node, model) = Self.oneNode(op)
            if op == .lut { model.tables["n"] = LookupTable(codes: Array(-128...127), step: 1) }   // a LUT is its table
            if op == .pRelu { model.parameters["x2"] = QuantizedParameter(shape: [4, 1, 1], codes: [1, 2, 3, 4], exponents: [-4], bits: 8) }
            let kernel = try QuantExecutor.kernel(for: node, model)
            if op.rule.copiesCodes { #expect({ if case .passive = kernel { return true } else { return false } }(), "\(op)") }
            if case .float = kernel { Issue.record("\(op) claims int8 but runs float") }
        }
    }

    @Test("ops off the device are float-only, and table activations have a table form at int8 and int16")
    func deviceAndTableFacts() throws {
        // (Dropout copies codes in a plan and is removed before export; every other op off the device stays float)
        for op in OpKind.allCases where !op.rule.onDevice && op.rule.format != .passive {
            #expect(op.rule.precisions == [.float], "\(op)")
        }
        let a = QuantFormat(bits: 16, exponent: -12), b = QuantFormat(bits: 16, exponent: -14)
        for op in OpKind.allCases where op.rule.activation == .table && op != .lut {
            let n = Node(name: "n", op: op, inputs: ["x"], outputs: ["y"])
            #expect(ActivationTable.isInt16LUT(n, input: a, output: b), "\(op)")
            #expect(ActivationTable.codes(n, input: QuantFormat(bits: 8, exponent: -4), output: QuantFormat(bits: 8, exponent: -7),
                                          step: 1, .halfEven).count == 256)
        }
    }

    @Test("DepthToSpace (DCR, CRD) and SpaceToDepth move elements as ONNX defines them", arguments: ["DCR", "CRD"])
    func blockOps(_ mode: String) throws {
        // x[c, h, w] = 100c + 10h + w on [1, 8, 2, 2], block 2: output [1, 2, 4, 4]
        let values: [Float] = (0..<32).map { (i: Int) -> Float in
            let (c, h, w) = (i / 4, i / 2 % 2, i % 2)
            return Float(c * 100 + h * 10 + w)
        }
        let x = Tensor(shape: [1, 8, 2, 2], data: values)
        let d2s = try BlockOps.run(Node(name: "d", op: .depthToSpace, inputs: ["x"], outputs: ["y"],
                                        attributes: ["blocksize": .int(2), "mode": .string(mode)]), x)
        #expect(d2s.shape == [1, 2, 4, 4])
        // y[oc, 2h+i, 2w+j] comes from channel (i·2+j)·2+oc (DCR) or oc·4+i·2+j (CRD), pixel (h, w)
        for oc in 0..<2 { for oh in 0..<4 { for ow in 0..<4 {
            let (i, j): (Int, Int) = (oh % 2, ow % 2)
            let c: Int = mode == "DCR" ? (i * 2 + j) * 2 + oc : oc * 4 + i * 2 + j
            let expected = Float(c * 100 + (oh / 2) * 10 + ow / 2)
            #expect(d2s.data[(oc * 4 + oh) * 4 + ow] == expected)
        }}}
        // SpaceToDepth (ONNX order = DCR) inverts DCR DepthToSpace; "CRD" (ESP-DL's order) inverts CRD
        let back = try BlockOps.run(Node(name: "s", op: .spaceToDepth, inputs: ["y"], outputs: ["z"],
                                         attributes: ["blocksize": .int(2), "mode": .string(mode)]), d2s)
        #expect(back == x)
    }
}
