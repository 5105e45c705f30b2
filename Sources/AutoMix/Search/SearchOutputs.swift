import Foundation

/// The files a finished search leaves (names from AMCT's sample; shared/specs/amct-accuracy-based-calibration.md §2).
public enum SearchOutputs {
    /// `Results/accuracy_based_auto_calibration_final_config.json`: the `QuantizationConfig` keys at the top level
    /// (every layer's precision and the observers) so `automix quantize --config` reads it as is, plus the
    /// calibration settings and the search's figures.
    public static func finalConfig(_ config: QuantizationConfig, extra: [String: Any]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var object = try JSONSerialization.jsonObject(with: try encoder.encode(config)) as! [String: Any]
        object.merge(extra) { a, _ in a }
        return try JSONSerialization.data(withJSONObject: JSONFile.stamp(object), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    public static func readConfig(_ path: String) throws -> QuantizationConfig {
        let config = try JSONFile.read(QuantizationConfig.self, from: path, what: "a quantization config")
        guard config.bits == 8 || config.bits == 16 else {
            throw AutoMixError.invalidData(path: path, reason: "bits must be 8 or 16, not \(config.bits)")
        }
        if let shape = config.inputShape, shape.isEmpty || !shape.dropFirst().allSatisfy({ (1...(1 << 16)).contains($0) }) {
            throw AutoMixError.invalidData(path: path, reason: "input_shape \(shape) is not a list of sizes 1…65536")
        }
        return config
    }

    /// `tmp/config.json`, AMCT's quantization config: globals, then one object per Conv/Gemm layer.
    public static func amctConfig(_ model: QuantizedModel, config: QuantizationConfig, layers: [Node], batches: Int) throws -> Data {
        var object: [String: Any] = ["version": 1, "batch_num": batches, "activation_offset": false, "do_fusion": true,
                                     "skip_fusion_layers": [String]()]
        for n in layers {
            let p = model.precisions[n.name] ?? .float
            guard let bits = p.bits else { object[n.name] = ["quant_enable": false]; continue }
            object[n.name] = [
                "quant_enable": true,
                "activation_quant_params": ["num_bits": bits, "act_algo": config.activationObserver(bits: bits, layers: [n.name]).rawValue,
                                            "asymmetric": false, "power_of_two": true],
                "weight_quant_params": ["num_bits": bits, "wts_algo": config.weightObserver(bits: bits).rawValue,
                                        "channel_wise": config.perChannelWeights],
            ]
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// `tmp/scale_offset_record.txt`, AMCT's text-proto record: `scale_d`/`scale_w` are powers of two here, and the
    /// exponents and widths ESP-DL uses are added.
    public static func scaleOffsetRecord(_ model: QuantizedModel, layers: [Node]) -> String {
        var out = ""
        for n in layers {
            guard let deployed = model.graph.nodes.first(where: { $0.name == n.name }), let bits = model.precisions[n.name]?.bits,
                  let input = model.formats[deployed.inputs[0]], let w = model.parameters[deployed.inputs[1]] else { continue }
            out += "record {\n  key: \"\(n.name)\"\n  value {\n"
            out += "    scale_d: \(input.scale)\n    offset_d: 0\n"
            for e in w.exponents { out += "    scale_w: \(QuantFormat(bits: bits, exponent: e).scale)\n" }
            for _ in w.exponents { out += "    offset_w: 0\n" }
            out += "    dst_type: \"INT\(bits)\"\n    act_type: \"INT\(input.bits)\"\n    wts_type: \"INT\(w.bits)\"\n"
            out += "    exponent_d: \(input.exponent)\n"
            for e in w.exponents { out += "    exponent_w: \(e)\n" }
            if let o = model.formats[deployed.outputs[0]] { out += "    exponent_out: \(o.exponent)\n" }
            out += "  }\n}\n"
        }
        return out
    }
}

/// `amct_log/automix.log`: one timestamped line per event, echoed to stderr.
public final class SearchLog: @unchecked Sendable {
    let handle: FileHandle?
    let formatter: DateFormatter

    public init(path: String, append: Bool) {
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !append || !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        handle = FileHandle(forWritingAtPath: path)
        _ = try? handle?.seekToEnd()
        formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss,SSS"
    }

    /// Writes every message to the log file; shows it on stderr at `level` or above (`Console.verbosity`).
    public func callAsFunction(_ message: String, level: Verbosity = .normal) {
        let line = "\(formatter.string(from: Date())) - INFO - [AutoMix]: \(message)\n"
        handle?.write(Data(line.utf8))
        Console.shared.line(message, level: level)
    }
}
