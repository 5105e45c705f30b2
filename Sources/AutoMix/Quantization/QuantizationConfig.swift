/// Everything that decides a quantized model besides the float graph and the calibration data: the chip,
/// the default width, per-layer precision and observer overrides. It is what a final config file records.
public struct QuantizationConfig: Sendable, Codable, Equatable {
    public var target: Target
    /// Width of every compute layer not listed in `layers` (8 or 16).
    public var bits: Int
    /// Per-layer precision by node name (Conv/Gemm layers, or any other node).
    public var layers: [String: Precision]
    /// Activation observer per width; ESP-PPQ's defaults: KL at 8 bit, minmax at 16.
    public var activationObserver8: Observer
    public var activationObserver16: Observer
    /// Weight observer at 8 bit; nil = ESP-PPQ's default (minmax per channel on esp32p4, percentile per tensor on esp32s3).
    public var weightObserver8: Observer?
    /// Observer for the output of a named layer, overriding the defaults above.
    public var observerOverrides: [String: Observer]
    /// Weight exponents per output channel or one per tensor; nil = the target's (per channel on esp32p4).
    public var weightGranularity: WeightGranularity?
    /// Passes over the float graph before calibration (equalization, layer split, bias correction); nil = none.
    public var preparation: GraphPreparation?
    /// The input size given for a model that leaves it open (`--input-shape`), so that the config rebuilds the same graph.
    public var inputShape: [Int]?

    public init(target: Target, bits: Int = 8, layers: [String: Precision] = [:],
                activationObserver8: Observer = .kl, activationObserver16: Observer = .minmax,
                weightObserver8: Observer? = nil, observerOverrides: [String: Observer] = [:], preparation: GraphPreparation? = nil) {
        self.target = target; self.bits = bits; self.layers = layers
        self.activationObserver8 = activationObserver8; self.activationObserver16 = activationObserver16
        self.weightObserver8 = weightObserver8; self.observerOverrides = observerOverrides; self.preparation = preparation
    }

    public var defaultPrecision: Precision { Precision(bits: bits) ?? .int8 }

    public var perChannelWeights: Bool { weightGranularity.map { $0 == .perChannel } ?? target.perChannelWeights }

    /// The observer for a value shared by the outputs of `layers` (e.g. a Conv and the Clip joint with it).
    func activationObserver(bits: Int, layers: [String]) -> Observer {
        if let o = layers.lazy.compactMap({ self.observerOverrides[$0] }).first { return o }
        return bits == 16 ? activationObserver16 : activationObserver8
    }

    func weightObserver(bits: Int) -> Observer {
        if bits == 16 { return .minmax }
        return weightObserver8 ?? (perChannelWeights ? .minmax : .percentile)
    }
}

public enum WeightGranularity: String, Codable, Sendable, CaseIterable {
    case perChannel = "per-channel", perTensor = "per-tensor"
}
