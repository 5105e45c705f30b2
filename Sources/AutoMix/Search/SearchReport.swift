import Foundation

/// What a search found and wrote: the `search --json` object (snake_case keys, `JSONFile.encode`). Every key is
/// present on every path (`NullKept`); what a search that met no budget does not have is null or empty.
public struct SearchReport: Codable, Sendable {
    /// One searched variant (plain, or with equalization under `--try-equalization`).
    public struct Variant: Codable, Sendable {
        public var variant: String
        public var int8Metric: Double
        @NullKept public var finalMetric: Double? = nil
        @NullKept public var macCost: Double? = nil
        @NullKept public var weightBytes: Int? = nil
        @NullKept public var pairsEqualized: Int? = nil
        public var lastLayerGraphwise: Double

        public init(variant: String, int8Metric: Double, finalMetric: Double?, macCost: Double?, weightBytes: Int?,
                    pairsEqualized: Int?, lastLayerGraphwise: Double) {
            self.variant = variant; self.int8Metric = int8Metric; self.finalMetric = finalMetric; self.macCost = macCost
            self.weightBytes = weightBytes; self.pairsEqualized = pairsEqualized; self.lastLayerGraphwise = lastLayerGraphwise
        }
    }

    public var metric: String
    public var floatMetric: Double
    public var int8Metric: Double
    @NullKept public var finalMetric: Double? = nil
    public var budgetMet: Bool
    public var int16Layers: [String] = []
    public var floatLayers: [String] = []
    @NullKept public var weightBytes: Int? = nil
    @NullKept public var macCost: Double? = nil
    /// Trials evaluated in this run, and those read from the journal.
    public var trials: Int
    public var trialsResumed: Int
    public var seconds: Double
    public var calibrationSeconds: Double
    public var rankingSeconds: Double
    public var evaluationSeconds: Double
    public var lastLayerGraphwise: Double
    @NullKept public var preparation: GraphPreparation? = nil
    public var variants: [Variant]
    public var journal: String
    public var ranking: String
    @NullKept public var finalConfig: String? = nil
    /// AMCT's `config.json` and `scale_offset_record.txt`.
    @NullKept public var config: String? = nil
    @NullKept public var record: String? = nil
    public var modelFiles: [String] = []

    public init(metric: String, floatMetric: Double, int8Metric: Double, budgetMet: Bool, trials: Int, trialsResumed: Int,
                seconds: Double, calibrationSeconds: Double, rankingSeconds: Double, evaluationSeconds: Double,
                lastLayerGraphwise: Double, preparation: GraphPreparation?, variants: [Variant], journal: String, ranking: String) {
        self.metric = metric; self.floatMetric = floatMetric; self.int8Metric = int8Metric; self.budgetMet = budgetMet
        self.trials = trials; self.trialsResumed = trialsResumed; self.seconds = seconds
        self.calibrationSeconds = calibrationSeconds; self.rankingSeconds = rankingSeconds; self.evaluationSeconds = evaluationSeconds
        self.lastLayerGraphwise = lastLayerGraphwise; self.preparation = preparation; self.variants = variants
        self.journal = journal; self.ranking = ranking
    }
}
