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
            exit(withError: error)
        }
    }
}
