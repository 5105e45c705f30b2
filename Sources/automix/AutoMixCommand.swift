import ArgumentParser
import AutoMix
import Foundation

@main
struct AutoMixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "automix",
        abstract: "Mixed-precision quantization search for ESP-DL (ESP32-P4, ESP32-S3).",
        version: AutoMixVersion.string,
        subcommands: [SearchCommand.self, EvalCommand.self, BenchCommand.self, RunCommand.self, QuantizeCommand.self, AnalyseCommand.self,
                      ExportCommand.self, InspectCommand.self])

    static func main() {
        BLASKernels.preferAVX512()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // under --json even a usage error ends with one JSON object on stdout (a command's own errors printed theirs)
            let code = exitCode(for: error)
            if CommandLine.arguments.contains("--json"), code != .success, !(error is ExitCode) {
                let message = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
                try? printJSON(ErrorReport(error: message, exitCode: Int(code.rawValue)))
            }
            exit(withError: error)
        }
    }
}
