import Foundation
import Kernels

/// The `<model>.json` ESP-PPQ writes with `export_config=True` (shared/specs/espdl-format-and-quantization.md
/// §5.2): per quantized op, the config of each input/parameter/output; the platform per op; scales by config hash.
/// ESP-PPQ's hashes are Python object ids; AutoMix's are FNV-1a of the value name, so they are stable.
extension ESPDLFile {
    public func quantizationConfigJSON(_ model: QuantizedModel) throws -> Data {
        var configs: [String: Any] = [:]
        var dispatchings: [String: String] = [:]
        var values: [String: Any] = [:]
        func hash(_ name: String) -> UInt64 { Array(name.utf8).withUnsafeBytes { fnv1a($0) } & 0xFFFF_FFFF }
        func entry(_ name: String, bits: Int, exponents: [Int], state: String) -> [String: Any] {
            let h = hash(name)
            let perChannel = exponents.count > 1
            let scales = exponents.map { QuantFormat(bits: bits, exponent: $0).scale }
            values[String(h)] = ["scale": perChannel ? scales as Any : scales[0] as Any,
                                 "zero_point": perChannel ? [Double](repeating: 0, count: scales.count) as Any : 0.0 as Any]
            return ["bit_width": bits,
                    "policy": ["PER_TENSOR": !perChannel, "PER_CHANNEL": perChannel, "LINEAR": true, "FLOATING": false,
                               "SYMMETRICAL": true, "ASYMMETRICAL": false, "POWER_OF_2": true, "DYNAMIC": false],
                    "state": state, "quant_min": -(Int64(1) << (bits - 1)), "quant_max": (Int64(1) << (bits - 1)) - 1,
                    "hash": h, "dominator": h]
        }
        for n in nodes {
            guard case let .string(qt)? = n.attributes["quant_type"], qt != "F32" else {
                dispatchings[n.name] = "FP32"
                continue
            }
            dispatchings[n.name] = qt == "S16" ? "ESPDL_INT16" : "ESPDL_INT8"
            var op: [String: Any] = [:]
            for (i, v) in (n.inputs + n.outputs).enumerated() where !v.isEmpty {
                if let p = model.parameters[v] {
                    op[v] = entry(v, bits: p.bits, exponents: p.exponents, state: i == 2 && n.inputs.count > 2 ? "PASSIVE" : "ACTIVATED")
                } else if let info = valueInfo[v], let t = info.dataType, t == .int8 || t == .int16 {
                    op[v] = entry(v, bits: t.bits, exponents: [info.exponent], state: "ACTIVATED")
                }
            }
            configs[n.name] = op
        }
        return try JSONSerialization.data(withJSONObject: ["configs": configs, "dispatchings": dispatchings, "values": values],
                                          options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}
