import ArgumentParser
import AutoMix
import Foundation

/// The calibration options every quantizing command shares.
struct QuantizeOptions: ParsableArguments {
    @Option(help: "ImageFolder of calibration images (labels unused; default: the one a search's final config given as --config records).")
    var calib: String?
    @Option(help: "The chip: esp32p4 (per-channel weights, round half even), esp32s3 (per-tensor, round half up) or c (default esp32p4).")
    var target: Target?
    @Option(help: "Default width of every Conv/Gemm layer: 8 or 16 (default 8).") var bits: Int?
    @Option(name: .customLong("layer"), help: "Per-layer precision, NAME=int8|int16|float (repeatable).")
    var layerOverrides: [String] = []
    @Option(help: "A JSON quantization config, e.g. a search's final config (target, bits, layers, observers); it takes the place of --target, --bits, --layer, the observers and --granularity.")
    var config: String?
    @Option(help: "Calibration batch size (default 32, or what a search's final config records).") var calibBatch: Int?
    @Option(help: "Use only the first N calibration images (default: all, or what a search's final config records).") var calibLimit: Int?
    @Option(help: "Activation observer at 8 bit: kl (ESP-PPQ's default), minmax, percentile, mse or ifmr.")
    var observer8: Observer?
    @Option(help: "Activation observer at 16 bit (default minmax).") var observer16: Observer?
    @Option(help: "Activation observer at every width (overrides --observer8 and --observer16).") var calibration: Observer?
    @Option(help: "Weight exponents: per-channel or per-tensor (default: the target's; esp32p4 per channel, esp32s3 per tensor).")
    var granularity: WeightGranularity?
    @Option(name: .customLong("layer-observer"), help: "Observer for one layer's output, NAME=kl|minmax|percentile|mse|ifmr (repeatable).")
    var layerObservers: [String] = []
    @Option(help: "With a search's final config as --config: take point N of the search's Pareto front (accuracy_based_auto_calibration_pareto.json beside the config; N as the search's summary lists them) instead of the final plan.")
    var paretoPoint: Int?
    @OptionGroup(title: "Float-graph passes before calibration") var prepare: PreparationOptions

    /// What a search's final config records beside the plan, so that `export --config FINAL` alone rebuilds the
    /// search's files.
    var recorded: RecordedRun { RecordedRun(configPath: config) }
    var calibrationBatch: Int { calibBatch ?? recorded.calibBatch ?? 32 }

    /// The model: the option, else the one the config records.
    func modelPath(_ given: String?) throws -> String {
        guard let path = given ?? recorded.model else {
            throw AutoMixError.invalidArgument("--model is required (or --config with a search's final config, which records it)")
        }
        return path
    }

    func validate() throws {
        try prepare.checkEqualizationAsked()
        if paretoPoint != nil && config == nil { throw ValidationError("--pareto-point takes a point of a search's Pareto front: give the search's final config as --config") }
        if let paretoPoint, paretoPoint < 0 { throw ValidationError("--pareto-point must be 0 or more, not \(paretoPoint)") }
        if calib == nil && config == nil { throw ValidationError("--calib is required (or --config with a search's final config, which records it)") }
        try Check.batch(calibBatch, "--calib-batch")
        try Check.positive(calibLimit, "--calib-limit")
        if let bits, bits != 8 && bits != 16 { throw ValidationError("--bits must be 8 or 16, not \(bits)") }
        if config != nil {
            let given = [("--target", target != nil), ("--bits", bits != nil), ("--layer", !layerOverrides.isEmpty),
                         ("--observer8", observer8 != nil), ("--observer16", observer16 != nil), ("--calibration", calibration != nil),
                         ("--granularity", granularity != nil), ("--layer-observer", !layerObservers.isEmpty)].filter(\.1).map(\.0)
            if !given.isEmpty {
                throw ValidationError("\(given.joined(separator: ", ")) cannot be given with --config, which sets \(given.count > 1 ? "them" : "it")")
            }
        }
    }

    func quantizationConfig() throws -> QuantizationConfig {
        if let config {
            var read = try SearchOutputs.readConfig(config)
            if let paretoPoint {
                // the plan of one measured point of the front, over the same layers as the final plan
                let path = URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent("accuracy_based_auto_calibration_pareto.json").path
                let point = try ParetoFile.read(path).point(paretoPoint, path: path)
                // a front from another search (other layer names) is refused, not half applied
                if let stranger = (point.int16Layers + point.floatLayers).first(where: { read.layers[$0] == nil }) {
                    throw AutoMixError.invalidData(path: path, reason: "point \(paretoPoint) names layer '\(stranger)', which \(config) does not have: "
                        + "the front and the final config come from different searches")
                }
                read.layers = point.plan(over: read.layers.keys.sorted())
                say(String(format: "Pareto point %d of %@: %d int16, %d float layers; measured %.2f (drop %.2f), chip cost %.4g",
                           paretoPoint, Summary.display(path), point.int16Layers.count, point.floatLayers.count, point.metric, point.drop, point.chipCost))
            }
            return read
        }
        let (target, bits) = (self.target ?? .esp32p4, self.bits ?? 8)
        var layers: [String: Precision] = [:]
        for o in layerOverrides {
            guard let eq = o.lastIndex(of: "="), let p = Precision(rawValue: String(o[o.index(after: eq)...])) else {
                throw AutoMixError.invalidArgument("--layer takes NAME=int8|int16|float, not '\(o)'")
            }
            layers[String(o[..<eq])] = p
        }
        var observers: [String: Observer] = [:]
        for o in layerObservers {
            guard let eq = o.lastIndex(of: "="), let obs = Observer(rawValue: String(o[o.index(after: eq)...])) else {
                throw AutoMixError.invalidArgument("--layer-observer takes NAME=kl|minmax|percentile|mse|ifmr, not '\(o)'")
            }
            observers[String(o[..<eq])] = obs
        }
        var config = QuantizationConfig(target: target, bits: bits, layers: layers, activationObserver8: calibration ?? observer8 ?? .kl,
                                        activationObserver16: calibration ?? observer16 ?? .minmax, observerOverrides: observers,
                                        preparation: prepare.preparation)
        config.weightGranularity = granularity
        return config
    }

    /// The float graph the plan is calibrated on: the config's preparation passes applied (their notes printed).
    func prepared(_ graph: Graph, config: QuantizationConfig, set: Dataset) throws -> Graph {
        guard let p = config.preparation else { return graph }
        let outcome = try p.apply(to: graph, config: config, batches: batches(set))
        for note in outcome.notes { say(note) }
        return try outcome.graph(for: config)
    }

    func calibrationSet(_ graph: Graph, data: DataOptions) throws -> Dataset {
        let recorded = self.recorded
        var options = data.filled(from: recorded, includingPath: false)
        options.limit = calibLimit ?? recorded.calibLimit
        guard let path = calib ?? recorded.calib else {
            throw AutoMixError.invalidArgument("--calib is required: the config \(config ?? "") records no calibration set")
        }
        return try options.load(path, for: graph, quiet: false, label: "decode calib")
    }

    /// Calibration batches in order (ESP-PPQ's analyses read the first 9 of its calibration loader).
    func batches(_ set: Dataset) -> [Tensor] {
        set.batches(of: calibrationBatch)
    }

    /// A plan made as quantize, export and analyse make it: the calibration images, the float graph after the
    /// config's passes, its calibration and the quantized model.
    struct Plan {
        let set: Dataset
        let graph: Graph
        let calibration: Calibration
        let model: QuantizedModel
    }

    func plan(_ original: Graph, config: QuantizationConfig, data: DataOptions, imposed: QuantizedModel? = nil) throws -> Plan {
        let set = try calibrationSet(original, data: data)
        let graph = try prepared(original, config: config, set: set)
        let calibration = try calibrate(graph, config: config, set: set)
        return Plan(set: set, graph: graph, calibration: calibration,
                    model: try Quantizer(graph: graph, config: config, calibration: calibration, imposed: imposed).build())
    }

    /// Calibrates on the graph with quantized weights, as ESP-PPQ does.
    func calibrate(_ graph: Graph, config: QuantizationConfig, set: Dataset) throws -> Calibration {
        try Calibration.run(for: graph, config: config, batches: batches(set), progress: Progress("calibrate", total: 2 * set.count))
    }
}

extension Observer: ExpressibleByArgument {}
extension WeightGranularity: ExpressibleByArgument {}

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Calibrate one fixed precision plan (like ESP-PPQ's espdl_quantize_onnx) and report its accuracy against float.")

    @Option(help: "Float ONNX classifier (default: the model a search's final config given as --config records).") var model: String?
    @OptionGroup(title: "Plan and calibration") var quant: QuantizeOptions
    @OptionGroup(title: "Images and preprocessing") var data: DataOptions
    @Option(help: "Conv/Gemm sums: 'exact' (the chip's integer arithmetic) or 'esp-ppq' (float32, as ESP-PPQ simulates).")
    var arithmetic: Arithmetic = .exact
    @Option(help: "Images per inference batch.") var batch = 32
    @Option(help: "Write one CSV row per image of the quantized model: file,top1,label,top5.") var predictions: String?
    @Option(help: "An .espdl export of the same model (e.g. ESP-PPQ's) whose exponents to compare with AutoMix's.")
    var compareEspdl: String?
    @OptionGroup(title: "Output") var output: OutputOptions

    func validate() throws { try Check.batch(batch, "--batch") }

    func run() throws {
        try reportingErrors(output) {
            let config = try quant.quantizationConfig()
            let data = self.data.filled(from: quant.recorded, includingPath: false)
            let modelPath = try quant.modelPath(model)
            let original = try data.preparedGraph(modelPath, recorded: config.inputShape)
            let floatExecutor = try FloatExecutor(graph: original)
            let plan = try quant.plan(original, config: config, data: data)
            let (graph, calibration, quantized) = (plan.graph, plan.calibration, plan.model)
            let counts = Dictionary(grouping: Quantizer.layers(of: graph).map { quantized.precisions[$0.name] ?? .float }, by: { $0 })
                .mapValues(\.count)
            say("quantized \(modelPath) for \(config.target.rawValue): "
                + Precision.allCases.compactMap { p in counts[p].map { "\($0) \(p.rawValue)" } }.joined(separator: ", ")
                + " layers; calibration \(calibration.images) images in \(String(format: "%.1f", calibration.seconds)) s")
            let layers = Quantizer.layers(of: graph).filter { quantized.precisions[$0.name] != nil }
            let cost = CostModel(layers: layers, graph: graph).cost(quantized.precisions)
            say(String(format: "chip cost %.4g (int8 Conv MACs), %d weight bytes, %d precision boundaries", cost.chipCost, cost.weightBytes, cost.boundaries))
            var report = QuantizeReport(model: modelPath, target: config.target.rawValue, bits: config.bits,
                                        calibrationImages: calibration.images, cost: cost)
            if let compareEspdl {
                let c = ExponentComparison(quantized, try ESPDLModel.load(compareEspdl, target: config.target).model)
                for m in c.mismatches.prefix(20) { say("  exponent differs: \(m.name): AutoMix \(m.ours), other \(m.theirs)") }
                say(String(format: "exponents equal to %@: %d of %d tensors (%.1f %%)", compareEspdl, c.matched, c.compared, 100 * c.fraction))
                report.exponentsCompared = c.compared
                report.exponentsEqual = c.matched
            }
            if data.data != nil {
                let dataset = try data.load(for: graph, quiet: false)
                let reference = try Evaluation.run(floatExecutor, on: dataset, batchSize: batch, progress: Progress("float", total: dataset.count))
                if config.preparation?.relu6AsRelu == true {
                    // the only pass that changes the float function: report what it costs before quantization
                    let swapped = try Evaluation.run(try FloatExecutor(graph: graph), on: dataset, batchSize: batch)
                    let agree = swapped.agreement(with: reference)
                    say(String(format: "float with ReLU6 as Relu: top-1 %.2f %% (original %.2f %%), agreement %.2f %%", swapped.top1, reference.top1, agree))
                    report.preparedFloatTop1 = swapped.top1
                    report.preparedFloatAgreement = agree
                }
                let executor = try QuantExecutor(model: quantized, arithmetic: arithmetic)
                let result = try Evaluation.run(executor, on: dataset, batchSize: batch, progress: Progress("quantized", total: dataset.count))
                let agreement = result.agreement(with: reference)
                if let predictions {
                    try writeAtomically(Data(result.predictionsCSV(paths: dataset.paths, labels: dataset.labels).utf8),
                                        to: URL(fileURLWithPath: predictions))
                    report.predictions = predictions
                }
                say(String(format: "float top-1 %.2f %%  quantized top-1 %.2f %%  drop %.2f  agreement %.2f %%  (%d images, %.1f images/s quantized)",
                             reference.top1, result.top1, reference.top1 - result.top1, agreement, result.images, result.imagesPerSecond))
                report.floatTop1 = reference.top1
                report.top1 = result.top1
                report.top5 = result.top5
                report.drop = reference.top1 - result.top1
                report.agreement = agreement
                report.images = result.images
                report.imagesPerS = result.imagesPerSecond
            }
            if output.json { try printJSON(report) }
        }
    }
}
