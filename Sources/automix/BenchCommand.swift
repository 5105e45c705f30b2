import ArgumentParser
import AutoMix
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Float inference speed on a fixed batch (median of timed runs).")

    @OptionGroup var model: ModelOptions
    @Option(help: "Images per batch.") var batch = 32
    @Option(help: "Timed runs (after one warm-up run).") var runs = 7
    @Flag(help: "End with one JSON object of the results.") var json = false

    func run() throws {
        try reportingErrors {
            let graph = try Graph.prepared(onnx: model.model)
            let executor = try FloatExecutor(graph: graph)
            guard let input = graph.imageInput else { throw AutoMixError.invalidArgument("model input is not [N,C,H,W]") }
            // a fixed pseudo-random input in [-1, 1): the speed does not depend on the values
            let count = batch * input.channels * input.height * input.width
            let x = Tensor(shape: [batch, input.channels, input.height, input.width],
                           data: (0..<count).map { i in Float((i &* 2654435761) & 0xFFFF) / 32768 - 1 })
            _ = try executor.run(x)
            var times: [Double] = []
            for _ in 0..<runs {
                let t0 = Date()
                _ = try executor.run(x)
                times.append(Date().timeIntervalSince(t0))
            }
            times.sort()
            let median = times[times.count / 2]
            let ips = Double(batch) / median
            print(String(format: "float  batch %d  median %.1f ms  %.1f images/s  (%d runs)", batch, median * 1000, ips, runs))
            if json { printJSON(["model": model.model, "batch": batch, "images_per_s": ips, "median_ms": median * 1000, "runs": runs]) }
        }
    }
}
