import Foundation

/// What a search found and wrote: the `search --json` object (snake_case keys, `JSONFile.encode`). Every key is
/// present on every path; what a search that met no budget does not have is null or empty.
public struct SearchReport: Codable, Sendable {
    /// One searched variant (plain, or with equalization under `--try-equalization`).
    public struct Variant: Codable, Sendable {
        public var variant: String
        public var int8Metric: Double
        public var finalMetric: Double?
        public var macCost: Double?
        public var weightBytes: Int?
        public var pairsEqualized: Int?
        public var lastLayerGraphwise: Double

        public init(variant: String, int8Metric: Double, finalMetric: Double?, macCost: Double?, weightBytes: Int?,
                    pairsEqualized: Int?, lastLayerGraphwise: Double) {
            self.variant = variant; self.int8Metric = int8Metric; self.finalMetric = finalMetric; self.macCost = macCost
            self.weightBytes = weightBytes; self.pairsEqualized = pairsEqualized; self.lastLayerGraphwise = lastLayerGraphwise
        }

        enum CodingKeys: String, CodingKey {
            case variant, int8Metric, finalMetric, macCost, weightBytes, pairsEqualized, lastLayerGraphwise
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(variant, forKey: .variant); try c.encode(int8Metric, forKey: .int8Metric)
            try c.encode(finalMetric, forKey: .finalMetric); try c.encode(macCost, forKey: .macCost)
            try c.encode(weightBytes, forKey: .weightBytes); try c.encode(pairsEqualized, forKey: .pairsEqualized)
            try c.encode(lastLayerGraphwise, forKey: .lastLayerGraphwise)
        }
    }

    public var metric: String
    public var floatMetric: Double
    public var int8Metric: Double
    public var finalMetric: Double?
    public var budgetMet: Bool
    public var int16Layers: [String] = []
    public var floatLayers: [String] = []
    public var weightBytes: Int?
    public var macCost: Double?
    /// Trials evaluated in this run, and those read from the journal.
    public var trials: Int
    public var trialsResumed: Int
    public var seconds: Double
    public var calibrationSeconds: Double
    public var rankingSeconds: Double
    public var evaluationSeconds: Double
    public var lastLayerGraphwise: Double
    public var preparation: GraphPreparation?
    public var variants: [Variant]
    public var journal: String
    public var ranking: String
    public var finalConfig: String?
    /// AMCT's `config.json` and `scale_offset_record.txt`.
    public var config: String?
    public var record: String?
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

    enum CodingKeys: String, CodingKey {
        case metric, floatMetric, int8Metric, finalMetric, budgetMet, int16Layers, floatLayers, weightBytes, macCost, trials,
             trialsResumed, seconds, calibrationSeconds, rankingSeconds, evaluationSeconds, lastLayerGraphwise, preparation,
             variants, journal, ranking, finalConfig, config, record, modelFiles
    }

    /// Every key, nulls included (the synthesized encoder would leave out a nil).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(metric, forKey: .metric); try c.encode(floatMetric, forKey: .floatMetric)
        try c.encode(int8Metric, forKey: .int8Metric); try c.encode(finalMetric, forKey: .finalMetric)
        try c.encode(budgetMet, forKey: .budgetMet); try c.encode(int16Layers, forKey: .int16Layers)
        try c.encode(floatLayers, forKey: .floatLayers); try c.encode(weightBytes, forKey: .weightBytes)
        try c.encode(macCost, forKey: .macCost); try c.encode(trials, forKey: .trials)
        try c.encode(trialsResumed, forKey: .trialsResumed); try c.encode(seconds, forKey: .seconds)
        try c.encode(calibrationSeconds, forKey: .calibrationSeconds); try c.encode(rankingSeconds, forKey: .rankingSeconds)
        try c.encode(evaluationSeconds, forKey: .evaluationSeconds); try c.encode(lastLayerGraphwise, forKey: .lastLayerGraphwise)
        try c.encode(preparation, forKey: .preparation); try c.encode(variants, forKey: .variants)
        try c.encode(journal, forKey: .journal); try c.encode(ranking, forKey: .ranking)
        try c.encode(finalConfig, forKey: .finalConfig); try c.encode(config, forKey: .config)
        try c.encode(record, forKey: .record); try c.encode(modelFiles, forKey: .modelFiles)
    }
}
