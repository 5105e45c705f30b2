import ArgumentParser
import AutoMix

extension LayerSplit.Method: ExpressibleByArgument {}

/// The float-graph passes before calibration (ESP-DL's advanced PTQ), shared by quantize, export and search.
struct PreparationOptions: ParsableArguments {
    @Flag(help: "Layerwise equalization (ESP-PPQ's LayerwiseEqualizationPass) before calibration.") var equalization = false
    @Option(help: "Equalization level: 1 = across Relu/pooling, 2 = also across Add/Sub (default 1).") var equalizationLevel: Int?
    @Option(help: "Equalization iterations (default 10).") var equalizationIterations: Int?
    @Option(help: "Channels whose weight keys sum below this keep scale 1 (default 0.5).") var equalizationThreshold: Float?
    @Flag(help: "Count the upstream bias (× 0.5) in the equalization key (ESP-PPQ's including_bias).") var equalizationBias = false
    @Option(name: .customLong("equalization-layer"), help: "Only pairs starting at this layer (repeatable; default all).")
    var equalizationLayers: [String] = []
    @Flag(help: "Read ReLU6 (Clip 0..6) as Relu, so equalization can cross it (changes the float model; ESP-DL's MobileNetV2 tutorial does this).")
    var relu6AsRelu = false
    @Flag(help: "Correct each layer's bias for the mean shift its weight quantization causes.") var biasCorrection = false
    @Option(name: .customLong("split-layer"), help: "Split this Conv/Gemm horizontally in two (repeatable; ESP-PPQ's HorizontalLayerSplitPass).")
    var splitLayers: [String] = []
    @Option(help: "Weights above this magnitude are split.") var splitThreshold: Float = 2.0
    @Option(help: "balance (halves) or random.") var splitMethod: LayerSplit.Method = .balance

    /// The --equalization-* options given, which mean nothing without --equalization (or search's --try-equalization).
    var equalizationSettingsGiven: [String] {
        [("--equalization-level", equalizationLevel != nil), ("--equalization-iterations", equalizationIterations != nil),
         ("--equalization-threshold", equalizationThreshold != nil), ("--equalization-bias", equalizationBias),
         ("--equalization-layer", !equalizationLayers.isEmpty)].filter(\.1).map(\.0)
    }

    /// Refuses --equalization-* settings that would be ignored.
    func checkEqualizationAsked(also other: Bool = false) throws {
        let given = equalizationSettingsGiven
        if !equalization && !other && !given.isEmpty {
            throw ValidationError("\(given.joined(separator: ", ")) \(given.count > 1 ? "take" : "takes") effect only with --equalization")
        }
    }

    /// The --equalization-* settings (what --equalization turns on, and what search --try-equalization tries).
    var equalizationSettings: Equalization.Settings {
        Equalization.Settings(level: equalizationLevel ?? 1, iterations: equalizationIterations ?? 10, valueThreshold: equalizationThreshold ?? 0.5,
                              includingBias: equalizationBias, layers: equalizationLayers)
    }

    /// Nil when no pass is asked for.
    var preparation: GraphPreparation? {
        let p = GraphPreparation(
            relu6AsRelu: relu6AsRelu,
            equalization: equalization ? equalizationSettings : nil,
            split: splitLayers.isEmpty ? nil : LayerSplit.Settings(layers: splitLayers, threshold: splitThreshold, method: splitMethod),
            biasCorrection: biasCorrection)
        return p.isEmpty ? nil : p
    }
}
