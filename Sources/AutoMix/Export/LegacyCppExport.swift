import Foundation

/// The coefficient files of ESP-DL's legacy quantization toolkit (ESP-DL v1/v2, `calibrator.export_coefficient_to_cpp`),
/// still used by projects that build their model from `dl::layer` classes by hand: `<name>_coefficient.hpp` declares
/// one getter per constant, `<name>_coefficient.cpp` defines each Conv/Gemm's filter (HWCN, a Gemm as a 1×1 conv
/// `{1, 1, K, N}`, a depthwise filter `{KH, KW, C, 1}`), its bias at the layer's output exponent, and a fused
/// ReLU as an `Activation`. The toolkit's int16 is per tensor; per-channel weights are refused.
public struct LegacyCppExport {
    public let model: QuantizedModel
    public let name: String

    public init(model: QuantizedModel, name: String) { self.model = model; self.name = name }

    /// The C identifier the toolkit derived from a layer name: lower case, anything else than [a-z0-9] as `_`.
    public static func identifier(_ s: String) -> String {
        String(s.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    /// The toolkit's "Quantized model info" log: the input exponent, then each layer's output exponent.
    public func log() -> [String] {
        let g = model.graph
        var lines = ["model input name: \(g.inputs[0].name), exponent: \(model.formats[g.inputs[0].name].map { "\($0.exponent)" } ?? "float")"]
        for n in g.nodes where ![.quantizeLinear, .dequantizeLinear].contains(n.op) {
            let e = model.formats[n.outputs[0]].map { "\($0.exponent)" } ?? "float"
            let layer = n.op == .conv || n.op == .gemm ? Self.identifier(n.name) : n.name
            lines.append("\(n.op.rawValue) layer name: \(layer), output_exponent: \(e)")
        }
        return lines
    }

    /// (header, source); throws naming the first layer the legacy format cannot hold.
    public func files() throws -> (hpp: String, cpp: String) {
        let g = model.graph
        let space = Self.identifier(name) + "_coefficient"
        var declarations: [String] = [], definitions: [String] = []
        var bits: Int?
        for n in g.nodes where n.op.rule.format == .layer {
            func refuse(_ why: String) -> AutoMixError {
                .invalidArgument("cpp export: layer '\(n.name)' (\(n.op.rawValue)) \(why)")
            }
            guard let b = model.precision(of: n).bits, let out = model.formats[n.outputs[0]],
                  let w = model.parameters[n.inputs[1]] else { throw refuse("is not integer; the legacy format holds int8/int16 layers only") }
            if let bits, bits != b { throw refuse("is int\(b) while earlier layers are int\(bits); the legacy model has one width") }
            bits = b
            guard w.exponents.count == 1 else { throw refuse("has per-channel weight exponents; use --granularity per-tensor") }
            let activation = model.activation(of: n)
            let type = b == 16 ? "int16_t" : "int8_t"
            let id = Self.identifier(n.name)

            // filter in HWCN
            var shape: [Int], elements: [Int64] = []
            if n.op == .gemm {
                let (nOut, k) = (w.shape[0], w.shape[1])
                shape = [1, 1, k, nOut]
                let order = flattenedHWC(n, k: k)
                for kk in 0..<k { for o in 0..<nOut { elements.append(w.codes[o * k + order[kk]]) } }
            } else {
                let (nOut, c, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
                let depthwise = c == 1 && n.int("group", default: 1) == nOut && nOut > 1
                shape = depthwise ? [kh, kw, nOut, 1] : [kh, kw, c, nOut]
                for h in 0..<kh { for x in 0..<kw { for ci in 0..<c { for o in 0..<nOut {
                    elements.append(w.codes[((o * c + ci) * kh + h) * kw + x])
                }}}}
            }
            // each constant: a static object and its getter, declared in the header
            func constant(_ kind: String, _ suffix: String, _ arguments: String) {
                let object = "\(id)_\(suffix)"
                definitions.append("""
                        const static \(kind)<\(type)> \(object)(\(arguments));
                        const \(kind)<\(type)> *get_\(object)()
                        {
                            return &\(object);
                        }

                    """)
                declarations.append("const dl::\(kind)<\(type)> *get_\(object)();")
            }
            func list(_ v: [Int]) -> String { v.map(String.init).joined(separator: ", ") }
            definitions.append(array(id + "_filter_element", type: type, elements))
            constant("Filter", "filter", "\(id)_filter_element, \(w.exponents[0]), {\(list(shape))}, {\(list(n.ints("dilations") ?? [1, 1]))}")

            // bias, moved to the output exponent (the legacy kernels add it after shifting the sum there)
            if n.inputs.count > 2, let bias = model.parameters[n.inputs[2]] {
                let format = QuantFormat(bits: b, exponent: out.exponent)
                let codes = bias.codes.enumerated().map { i, q in
                    format.quantize(Double(q) * QuantFormat(bits: bias.bits, exponent: bias.exponent(channel: i)).scale, model.target.rounding)
                }
                definitions.append(array(id + "_bias_element", type: type, codes))
                constant("Bias", "bias", "\(id)_bias_element, \(out.exponent), {\(codes.count),}")
            }
            if activation == .relu { constant("Activation", "activation", "ReLU") }
        }
        guard bits != nil else { throw AutoMixError.invalidArgument("cpp export: model '\(g.name)' has no Conv/Gemm layer") }
        let hpp = """
            #pragma once

            #include <stdint.h>
            #include "dl_constant.hpp"

            namespace \(space)
            {
            \(declarations.map { "    " + $0 }.joined(separator: "\n"))
            }

            """
        let cpp = """
            #include "\(name)_coefficient.hpp"
            using namespace dl;

            namespace \(space)
            {
            \(definitions.joined(separator: "\n"))}

            """
        return (hpp, cpp)
    }

    /// A Gemm fed by a Flatten/Reshape of a `[N, C, H, W]` map reads it in the device's HWC order, so its input
    /// axis is permuted from ONNX's CHW flattening: position k (HWC) takes the weights of the returned CHW index.
    private func flattenedHWC(_ n: Node, k: Int) -> [Int] {
        let g = model.graph
        guard let p = g.nodes.first(where: { $0.outputs.contains(n.inputs[0]) }), [.flatten, .reshape].contains(p.op),
              let s = g.shapes[p.inputs[0]], s.count == 4, s[1] * s[2] * s[3] == k, s[2] * s[3] > 1 else { return Array(0..<k) }
        let (c, h, w) = (s[1], s[2], s[3])
        var order = [Int](repeating: 0, count: k)
        for y in 0..<h { for x in 0..<w { for ch in 0..<c { order[(y * w + x) * c + ch] = (ch * h + y) * w + x } } }
        return order
    }

    private func array(_ id: String, type: String, _ values: [Int64]) -> String {
        let rows = stride(from: 0, to: values.count, by: 16).map { start in
            "        " + values[start..<min(start + 16, values.count)].map { String(format: "%6lld", $0) }.joined(separator: ", ")
        }
        return "    const static __attribute__((aligned(16))) \(type) \(id)[] = {\n" + rows.joined(separator: ",\n") + "};\n"
    }
}
