import ArgumentParser
import AutoMix

extension LayerSplit.Method: ExpressibleByArgument {}

/// The float-graph passes before calibration (ESP-DL's advanced PTQ), shared by quantize, export and search.
struct PreparationOptions: ParsableArguments {
    @Flag(help: "Layerwise equalization (ESP-PPQ's LayerwiseEqualizationPass) before calibration.") var equalization = false
    @Option(help: "Equalization level: 1 = across Relu/pooling, 2 = also across Add/Sub.") var equalizationLevel = 1
    @Option(help: "Equalization iterations.") var equalizationIterations = 10
    @Option(help: "Channels whose weight keys sum below this keep scale 1.") var equalizationThreshold: Float = 0.5
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

    /// The --equalization-* settings (what --equalization turns on, and what search --try-equalization tries).
    var equalizationSettings: Equalization.Settings {
        Equalization.Settings(level: equalizationLevel, iterations: equalizationIterations, valueThreshold: equalizationThreshold,
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
