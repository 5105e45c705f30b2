import ArgumentParser
import AutoMix
import Foundation

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print an .espdl or deploy ONNX (like ESP-PPQ's .info, without values), a ranking file or a search journal as a table.")

    @Argument(help: "An .espdl, a *_deploy_model.onnx, a ranking JSON or a search journal JSON.") var file: String
    @Flag(help: "With an .espdl: also every initializer, value and test value.") var values = false
    @Option(help: "With a ranking: the final config whose precisions to show (default: the search's, beside the ranking).")
    var config: String?
    @OptionGroup(title: "Output") var output: OutputOptions

    func run() throws {
        try reportingErrors(output) {
            if file.hasSuffix(".onnx") || file.hasSuffix(".espdl") {
                let f = file.hasSuffix(".onnx") ? try ESPDLFile.read(deployONNX: file) : try ESPDLFile.read(file)
                let text = f.printable()
                say(values ? text : String(text[..<(text.range(of: "\ninitializers value:")?.lowerBound ?? text.endIndex)]))
                if output.json { printJSON(espdlObject(f)) }
                return
            }
            guard let data = FileManager.default.contents(atPath: file) else { throw AutoMixError.fileNotFound(path: file) }
            guard var json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw AutoMixError.invalidData(path: file, reason: "not an .espdl, deploy ONNX or JSON object")
            }
            if let layers = json["layers"] as? [[String: Any]] {
                let precisions = try finalPrecisions()
                say(rankingTable(layers, precisions: precisions?.layers))
                if let precisions { say("final precisions from \(Summary.display(precisions.path))") }
                json["layers"] = layers.map { l in
                    l.merging(["final_precision": (l["name"] as? String).flatMap { precisions?.layers[$0] } as Any]) { $1 }
                }
            } else if let trials = json["trials"] as? [[String: Any]] {
                say(journalTable(trials, chosen: json["final_trial"] as? Int))
            } else {
                throw AutoMixError.invalidData(path: file, reason: "a JSON file but neither a ranking (layers) nor a journal (trials)")
            }
            if output.json { printJSON(json) }
        }
    }

    /// The precision of each layer in the final config (given, or the search's beside the ranking).
    func finalPrecisions() throws -> (path: String, layers: [String: String])? {
        let beside = URL(fileURLWithPath: file).deletingLastPathComponent()
            .appendingPathComponent("accuracy_based_auto_calibration_final_config.json").path
        guard let path = config ?? (FileManager.default.fileExists(atPath: beside) ? beside : nil) else { return nil }
        let config = try SearchOutputs.readConfig(path)
        return (path, config.layers.mapValues(\.rawValue))
    }

    func rankingTable(_ layers: [[String: Any]], precisions: [String: String]?) -> String {
        let nameWidth = min(60, max(5, layers.map { ($0["name"] as? String ?? "").count }.max() ?? 5))
        var lines = ["rank  " + "layer".padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                     + "   layerwise   graphwise     cosine         MACs" + (precisions == nil ? "" : "  final")]
        for l in layers {
            let name = l["name"] as? String ?? ""
            var line = pad("\((l["rank_layerwise"] as? Int) ?? 0)", 4) + "  " + name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            line += "  " + pad(sci(l["layerwise_noise_signal"]), 10) + "  " + pad(sci(l["graphwise_noise_signal"]), 10)
            line += "  " + pad(fixed(l["cosine_similarity"], "%.6f"), 9) + "  " + pad(grouped(l["macs"] as? Int), 11)
            if let precisions { line += "  " + (precisions[name] ?? "-") }
            lines.append(line)
        }
        lines.append("layerwise, graphwise: noise/signal (ESP-PPQ; higher is more sensitive); cosine: 0.5 + 0.5·cos (AMCT; lower is more sensitive)")
        return lines.joined(separator: "\n")
    }

    func journalTable(_ trials: [[String: Any]], chosen: Int?) -> String {
        var lines = ["   trial  phase                      int16  float    metric    drop  passed   chip cost    MAC cost       images  seconds"]
        for t in trials {
            let plan = t["plan"] as? [String: String] ?? [:]
            let cost = t["cost"] as? [String: Any] ?? [:]
            let index = (t["index"] as? Int) ?? 0
            var line = (index == chosen ? " * " : "   ") + pad("\(index)", 5) + "  "
            line += (t["phase"] as? String ?? "").padding(toLength: 25, withPad: " ", startingAt: 0) + "  "
            line += pad("\(plan.values.filter { $0 == "int16" }.count)", 5) + "  " + pad("\(plan.values.filter { $0 == "float" }.count)", 5)
            // a trial stopped early knows only a bound on its metric
            let (images, total) = (t["images"] as? Int, t["images_total"] as? Int)
            let stopped = images != nil && total != nil && images! < total!
            line += "  " + pad((stopped ? "≤" : "") + fixed(t["metric"], "%.2f"), 8) + "  " + pad(stopped ? "-" : fixed(t["drop"], "%.2f"), 6) + "  "
            line += pad((t["passed"] as? Bool) == true ? "yes" : "no", 6) + "  " + pad(sci(cost["chip_cost"]), 10) + "  " + pad(sci(cost["mac_cost"]), 10)
            line += "  " + pad(images.map { i in total.map { "\(i)/\($0)" } ?? "\(i)" } ?? "all", 11) + "  " + pad(fixed(t["seconds"], "%.1f"), 7)
            lines.append(line)
        }
        lines.append(chosen.map { "* the chosen plan (trial \($0))" } ?? "no chosen plan recorded (the search did not finish, or met no budget)")
        lines.append("≤: the trial stopped once it could not meet the budget (images read / in the set); its metric is the most it could have reached")
        return lines.joined(separator: "\n")
    }

    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
    func sci(_ v: Any?) -> String { (v as? Double).map { String(format: "%.3e", $0) } ?? "-" }
    func fixed(_ v: Any?, _ f: String) -> String { (v as? Double).map { String(format: f, $0) } ?? "-" }
    func grouped(_ v: Int?) -> String {
        guard let v else { return "-" }
        let digits = Array(String(v))
        return String(digits.enumerated().flatMap { i, c in (i > 0 && (digits.count - i) % 3 == 0 ? [","] : []) + [c] })
    }

    /// An .espdl's structure as JSON: metadata, inputs and outputs with exponents, and the nodes.
    func espdlObject(_ f: ESPDLFile) -> [String: Any] {
        func value(_ v: ESPDLFile.ValueInfo) -> [String: Any] { ["name": v.name, "shape": v.shape, "exponent": v.exponent] }
        return ["file": file, "graph": f.graphName, "metadata": f.metadata, "inputs": f.inputs.map(value), "outputs": f.outputs.map(value),
                "nodes": f.nodes.map { ["name": $0.name, "op": $0.opType, "inputs": $0.inputs, "outputs": $0.outputs] },
                "initializers": f.initializerOrder.count, "test_values": !f.testOutputs.isEmpty]
    }
}
