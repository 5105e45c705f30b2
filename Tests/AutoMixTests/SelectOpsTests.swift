import Foundation
import Testing
@testable import AutoMix

/// The integer kernels added for ESP-DL's zoo ops, each against its definition written out here (ESP-DL's C
/// kernels: `dl_module_reduce_mean.hpp`, `dl_base_prelu.cpp`, `dl_module_insert_zeros.hpp`, `dl_base_lut.cpp`).
@Suite struct SelectOpsTests {
    static func model(_ node: Node, input: (String, [Int], QuantFormat), output: QuantFormat, constants: [String: ConstantValue] = [:],
                      parameters: [String: QuantizedParameter] = [:], tables: [String: LookupTable] = [:], target: Target = .esp32p4) throws -> QuantExecutor {
        var g = Graph(name: "t", nodes: [node], inputs: [ValueInfo(name: input.0, shape: input.1)],
                      outputs: node.outputs.map { ValueInfo(name: $0, shape: []) }, constants: constants, opset: 13)
        try g.inferShapes()
        var formats = [input.0: input.2]
        for o in node.outputs { formats[o] = output }
        return try QuantExecutor(model: QuantizedModel(graph: g, target: target, precisions: [node.name: .int8], formats: formats,
                                                       parameters: parameters, tables: tables))
    }

    @Test("ReduceMean: integer sum, then round(sum·2^e_in / n · 2^-e_out) in float32, saturated",
          arguments: [Target.esp32p4, .esp32s3])
    func reduceMean(_ target: Target) throws {
        let node = Node(name: "r", op: .reduceMean, inputs: ["x", "axes"], outputs: ["y"], attributes: ["keepdims": .int(1)])
        let (a, o) = (QuantFormat(bits: 8, exponent: -3), QuantFormat(bits: 8, exponent: -4))
        let x = Tensor(shape: [1, 3, 2, 2], data: [1, 2, 3, 4, -5, -6, -7, -9, 127, 127, 127, 126])
        let e = try Self.model(node, input: ("x", [1, 3, 2, 2], a), output: o, constants: ["axes": .int(shape: [2], values: [2, 3])], target: target)
        let got = try e.runCodes(x)[0]
        // sums 10, -27, 507 over 4: 2.5·2 = 5, -6.75·2 = -13.5, 126.75·2 = 253.5 → 127
        let expected: [Float] = target == .esp32p4 ? [5, -14, 127] : [5, -13, 127]
        #expect(got.shape == [1, 3, 1, 1] && got.data == expected)
    }

    @Test("PRelu: a negative code times its channel's slope code, rescaled with the chip's rounding (as ESP-PPQ's exports show); positives pass")
    func prelu() throws {
        let node = Node(name: "p", op: .pRelu, inputs: ["x", "s"], outputs: ["y"])
        let f = QuantFormat(bits: 8, exponent: -4)
        let slope = QuantizedParameter(shape: [2, 1, 1], codes: [32, 96], exponents: [-7], bits: 8)
        let e = try Self.model(node, input: ("x", [1, 2, 1, 3], f), output: f, constants: ["s": .float(slope.dequantized)],
                               parameters: ["s": slope])
        let got = try e.runCodes(Tensor(shape: [1, 2, 1, 3], data: [-5, 0, 7, -5, -128, 3]))[0]
        // shift = e_out - e_in - e_slope = 7: round(-5·32/128 = -1.25) = -1; round(-3.75) = -4; -128·96/128 = -96
        #expect(got.data == [-1, 0, 7, -4, -96, 3])
    }

    @Test("InsertZeros: pixel (h, w) to (2h, 2w), zeros between; Split and Slice pick codes unchanged")
    func layoutOps() throws {
        let z = Node(name: "z", op: .insertZeros, inputs: ["x"], outputs: ["y"], attributes: ["stride": .ints([2, 2]), "output_padding": .ints([0, 0])])
        let out = try SelectOps.insertZeros(z, Tensor(shape: [1, 1, 2, 2], data: [1, 2, 3, 4]))
        #expect(out.shape == [1, 1, 3, 3] && out.data == [1, 0, 2, 0, 0, 0, 3, 0, 4])
        let s = Node(name: "s", op: .split, inputs: ["x", "sizes"], outputs: ["a", "b"], attributes: ["axis": .int(1)])
        let parts = try SelectOps.split(s, Tensor(shape: [1, 3, 1, 2], data: [1, 2, 3, 4, 5, 6])) { _ in .int(shape: [2], values: [1, 2]) }
        #expect(parts.map(\.shape) == [[1, 1, 1, 2], [1, 2, 1, 2]] && parts[1].data == [3, 4, 5, 6])
        let c = Node(name: "c", op: .slice, inputs: ["x", "st", "en", "ax", "sp"], outputs: ["y"])
        let consts: [String: ConstantValue] = ["st": .int(shape: [1], values: [1]), "en": .int(shape: [1], values: [Int64.max]),
                                               "ax": .int(shape: [1], values: [-1]), "sp": .int(shape: [1], values: [2])]
        let sliced = try SelectOps.slice(c, Tensor(shape: [1, 5], data: [0, 1, 2, 3, 4])) { consts[$0] }
        #expect(sliced.data == [1, 3])
    }

    @Test("int16 LUT: index (q + 32768) / step rounded half even on P4, half up elsewhere", arguments: [Target.esp32p4, .esp32s3])
    func lut16(_ target: Target) throws {
        let node = Node(name: "l", op: .lut, inputs: ["x"], outputs: ["y"])
        let f = QuantFormat(bits: 16, exponent: -8)
        let table = LookupTable(codes: (0...2048).map { Int64($0) }, step: 32)
        var g = Graph(name: "t", nodes: [node], inputs: [ValueInfo(name: "x", shape: [1, 4])], outputs: [ValueInfo(name: "y", shape: [])],
                      constants: [:], opset: 13)
        try g.inferShapes()
        let e = try QuantExecutor(model: QuantizedModel(graph: g, target: target, precisions: ["l": .int16], formats: ["x": f, "y": f],
                                                        parameters: [:], tables: ["l": table]))
        // -32768 + 16 sits halfway between entries 0 and 1; +48 halfway between 1 and 2
        let got = try e.runCodes(Tensor(shape: [1, 4], data: [-32768, -32768 + 16, -32768 + 48, 32767]))[0]
        #expect(got.data == (target == .esp32p4 ? [0, 0, 2, 2048] : [0, 1, 2, 2048]))
    }
}
