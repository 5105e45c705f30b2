import ArgumentParser
import AutoMix
import Foundation

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print an .espdl or deploy ONNX (like ESP-PPQ's .info, without values), a ranking file or a search journal as a table.")

    @Argument(help: "An .espdl, a *_deploy_model.onnx, a ranking JSON or a search journal JSON.") var file: String
    @Flag(help: "With an .espdl: also every initializer, value and test value.") var values = false

    func run() throws {
        try reportingErrors {
            if file.hasSuffix(".onnx") || file.hasSuffix(".espdl") {
                let f = file.hasSuffix(".onnx") ? try ESPDLFile.read(deployONNX: file) : try ESPDLFile.read(file)
                let text = f.printable()
                say(values ? text : String(text[..<(text.range(of: "\ninitializers value:")?.lowerBound ?? text.endIndex)]))
                return
            }
            guard let data = FileManager.default.contents(atPath: file) else { throw AutoMixError.fileNotFound(path: file) }
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw AutoMixError.invalidData(path: file, reason: "not an .espdl, deploy ONNX or JSON object")
            }
            func left(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
            func right(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
            func num(_ v: Any?, _ f: String = "%.4g") -> String { (v as? Double).map { String(format: f, $0) } ?? "-" }
            if let layers = json["layers"] as? [[String: Any]] {
                say("rank  layer                                              layerwise   graphwise  cosine      MACs")
                for l in layers {
                    say(right("\((l["rank_layerwise"] as? Int) ?? 0)", 4) + "  " + left(l["name"] as? String ?? "", 48) + " "
                        + right(num(l["layerwise_noise_signal"]), 10) + "  " + right(num(l["graphwise_noise_signal"]), 10) + "  "
                        + right(num(l["cosine_similarity"], "%.5f"), 8) + "  " + right("\((l["macs"] as? Int) ?? 0)", 9))
                }
            } else if let trials = json["trials"] as? [[String: Any]] {
                say("trial  phase                      int16  float   metric    drop  passed  MAC cost   seconds")
                for t in trials {
                    let plan = t["plan"] as? [String: String] ?? [:]
                    let cost = t["cost"] as? [String: Any] ?? [:]
                    say(right("\((t["index"] as? Int) ?? 0)", 5) + "  " + left(t["phase"] as? String ?? "", 25) + "  "
                        + right("\(plan.values.filter { $0 == "int16" }.count)", 5) + "  " + right("\(plan.values.filter { $0 == "float" }.count)", 5) + "  "
                        + right(num(t["metric"], "%.2f"), 7) + "  " + right(num(t["drop"], "%.2f"), 6) + "  "
                        + right((t["passed"] as? Bool) == true ? "yes" : "no", 6) + "  " + right(num(cost["mac_cost"], "%.3g"), 8) + "  "
                        + right(num(t["seconds"], "%.1f"), 8))
                }
            } else {
                throw AutoMixError.invalidData(path: file, reason: "a JSON file but neither a ranking (layers) nor a journal (trials)")
            }
        }
    }
}
