import ArgumentParser
import AutoMix
import Foundation

extension GemmBackend: ExpressibleByArgument {}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Inference speed on a fixed batch (median of timed runs): float, and with --target the exact integer "
            + "executor beside it; with --analyse also the time of graphwise + layerwise analysis on the calibration set.")

    @OptionGroup var model: ModelOptions
    @Option(help: "Images per batch.") var batch = 32
    @Option(help: "Timed runs (after one warm-up run).") var runs = 7
    @Option(help: "Also time the quantized model for this chip (esp32p4 or esp32s3).") var target: Target?
    @Option(help: "Width of the quantized model: 8 or 16.") var bits = 8
    @Option(help: "Calibration ImageFolder (default: calibrate on the benchmark batch itself).") var calib: String?
    @Option(help: "Calibration and analysis batch size.") var calibBatch = 8
    @Flag(help: "Also time `analyse` (graphwise + layerwise over all layers) on --calib.") var analyse = false
    @OptionGroup(title: "Images and preprocessing") var data: DataOptions
    @OptionGroup(title: "Output") var output: OutputOptions
    @Flag(help: "Also print the float time per op type and the slowest layers (one core, median of the runs).") var profile = false
    @Option(help: "The float executor's Conv matrix products: avx512 (own kernel; the default where the CPU has it) or openblas.")
    var gemm: GemmBackend = .preferred

    func validate() throws {
        try Check.batch(batch, "--batch")
        try Check.positive(runs, "--runs")
        try Check.batch(calibBatch, "--calib-batch")
        guard bits == 8 || bits == 16 else { throw ValidationError("--bits must be 8 or 16, not \(bits)") }
    }

    /// Median seconds of each body over `runs` rounds (after one warm-up each), the bodies taking turns within a
    /// round, so a noisy machine slows them alike and their ratio holds.
    func medians(_ bodies: [() throws -> Void]) throws -> [Double] {
        for body in bodies { try body() }
        var times = [[Double]](repeating: [], count: bodies.count)
        for _ in 0..<runs {
            for (i, body) in bodies.enumerated() {
                let t0 = Date()
                try body()
                times[i].append(Date().timeIntervalSince(t0))
            }
        }
        return times.map { $0.sorted()[$0.count / 2] }
    }

    func run() throws {
        try reportingErrors(output) {
            let graph = try data.preparedGraph(model.model)
            guard gemm.isAvailable else { throw AutoMixError.invalidArgument("--gemm \(gemm.rawValue): this CPU cannot run that kernel (it has \(GemmBackend.preferred.rawValue))") }
            let executor = try FloatExecutor(graph: graph, gemm: gemm)
            guard let input = graph.imageInput else { throw AutoMixError.invalidArgument("model input is not [N,C,H,W]") }
            // a fixed pseudo-random input in [-1, 1): the speed does not depend on the values
            let count = batch * input.channels * input.height * input.width
            let x = Tensor(shape: [batch, input.channels, input.height, input.width],
                           data: (0..<count).map { i in Float((i &* 2654435761) & 0xFFFF) / 32768 - 1 })
            // the quantized model first, so that both executors can be timed in turns
            var quantized: (model: QuantizedModel, executor: QuantExecutor, calibration: Calibration, seconds: Double)? = nil
            var batches = [x]
            if let target {
                let config = QuantizationConfig(target: target, bits: bits)
                if let calib {
                    let set = try data.load(calib, for: graph, quiet: true)
                    batches = set.batches(of: calibBatch)
                }
                let calibStart = Date()
                let calibration = try Calibration.run(for: graph, config: config, batches: batches)
                let calibSeconds = Date().timeIntervalSince(calibStart)
                let model = try Quantizer(graph: graph, config: config, calibration: calibration).build()
                quantized = (model, try QuantExecutor(model: model, gemm: gemm), calibration, calibSeconds)
            }
            var bodies: [() throws -> Void] = [{ _ = try executor.run(x) }]
            if let integer = quantized?.executor { bodies.append { _ = try integer.run(x) } }
            let times = try medians(bodies)
            let floatTime = times[0]
            let floatRate = Double(batch) / floatTime
            say(String(format: "float          batch %d  median %.1f ms  %.1f images/s  (%d runs; Conv GEMM %@, OpenBLAS %@)",
                         batch, floatTime * 1000, floatRate, runs, gemm.rawValue, BLASKernels.coreName))
            var report = BenchReport(model: model.model, batch: batch, imagesPerS: floatRate, medianMs: floatTime * 1000, runs: runs,
                                     gemm: gemm.rawValue, openblasCore: BLASKernels.coreName)
            if profile { try printProfile("float", x) { try executor.profile($0) } }
            if let target, let (quantized, integer, calibration, calibSeconds) = quantized {
                let intTime = times[1]
                let intRate = Double(batch) / intTime
                say(String(format: "exact int%d     batch %d  median %.1f ms  %.1f images/s  (%.2f× float; %@; %@)", bits, batch,
                             intTime * 1000, intRate, intRate / floatRate, target.rawValue,
                             IntegerKernel.of(gemm).map { "integer Conv kernel \($0.rawValue)" } ?? "float-held sums"))
                say(String(format: "calibration    %d images  %.2f s", calibration.images, calibSeconds))
                if profile { try printProfile("exact int\(bits)", x) { try integer.profile($0) } }
                report.target = target.rawValue
                report.bits = bits
                report.quantizedImagesPerS = intRate
                report.quantizedMedianMs = intTime * 1000
                report.quantizedVsFloat = intRate / floatRate
                report.calibrationSeconds = calibSeconds
                if analyse {
                    let analysed = Array(batches.prefix(Sensitivity.batchCount))
                    var t = Date()
                    _ = try Sensitivity.graphwise(float: graph, quantized: quantized, batches: analysed)
                    let graphwise = Date().timeIntervalSince(t)
                    t = Date()
                    let layerwise = try Sensitivity.layerwise(float: graph, quantized: quantized, batches: analysed)
                    let layerwiseSeconds = Date().timeIntervalSince(t)
                    let images = analysed.reduce(0) { $0 + $1.shape[0] }
                    say(String(format: "analyse        %d images, %d layers: graphwise %.2f s + layerwise %.2f s = %.2f s",
                                 images, layerwise.count, graphwise, layerwiseSeconds, graphwise + layerwiseSeconds))
                    report.graphwiseSeconds = graphwise
                    report.layerwiseSeconds = layerwiseSeconds
                    report.analyseSeconds = graphwise + layerwiseSeconds
                    report.analysedLayers = layerwise.count
                }
            }
            if output.json { try printJSON(report) }
        }
    }

    /// Per-step medians over the runs on one core, summed per op type and listed for the slowest layers.
    func printProfile(_ title: String, _ x: Tensor, _ profile: (Tensor) throws -> [(node: Node, seconds: Double)]) throws {
        _ = try profile(x)
        var samples: [[Double]] = []
        var nodes: [Node] = []
        for _ in 0..<runs {
            let p = try profile(x)
            nodes = p.map(\.node)
            samples.append(p.map(\.seconds))
        }
        let medians = nodes.indices.map { i in samples.map { $0[i] }.sorted()[runs / 2] }
        let total = medians.reduce(0, +)
        say(String(format: "%@ profile, one core, batch %d: %.1f ms (%.1f images/s)", title, x.shape[0], total * 1000,
                     Double(x.shape[0]) / total))
        var byOp: [String: (Double, Int)] = [:]
        for (n, t) in zip(nodes, medians) {
            let key = n.op == .conv && n.int("group", default: 1) > 1 ? "Conv (grouped)" : n.op.rawValue
            byOp[key, default: (0, 0)].0 += t
            byOp[key, default: (0, 0)].1 += 1
        }
        for (op, (t, c)) in byOp.sorted(by: { $0.value.0 > $1.value.0 }) {
            say(String(format: "  %-16@ %3d nodes  %7.1f ms  %5.1f %%", op, c, t * 1000, 100 * t / total))
        }
        say("  slowest layers:")
        for i in medians.indices.sorted(by: { medians[$0] > medians[$1] }).prefix(ProcessInfo.processInfo.environment["AUTOMIX_PROFILE_ROWS"].flatMap { Int($0) } ?? 12) {
            say(String(format: "  %-40@ %-8@ %7.2f ms", nodes[i].name, nodes[i].op.rawValue, medians[i] * 1000))
        }
    }
}
