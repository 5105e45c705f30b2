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
        @NullKept public var chipCost: Double? = nil
        @NullKept public var weightBytes: Int? = nil
        @NullKept public var pairsEqualized: Int? = nil
        public var lastLayerGraphwise: Double

        public init(variant: String, int8Metric: Double, finalMetric: Double?, macCost: Double?, chipCost: Double?, weightBytes: Int?,
                    pairsEqualized: Int?, lastLayerGraphwise: Double) {
            self.variant = variant; self.int8Metric = int8Metric; self.finalMetric = finalMetric; self.macCost = macCost
            self.chipCost = chipCost; self.weightBytes = weightBytes; self.pairsEqualized = pairsEqualized
            self.lastLayerGraphwise = lastLayerGraphwise
        }
    }

    public var model: String
    public var target: Target
    public var metric: String
    public var objective: PrecisionSearch.Objective
    /// The allowed drop in points (`--max-drop`, or its share of the float metric with `--relative`).
    public var budget: Double
    public var floatMetric: Double
    public var int8Metric: Double
    @NullKept public var finalMetric: Double? = nil
    @NullKept public var finalDrop: Double? = nil
    public var budgetMet: Bool
    public var int16Layers: [String] = []
    public var floatLayers: [String] = []
    @NullKept public var weightBytes: Int? = nil
    @NullKept public var macCost: Double? = nil
    /// The final plan's cost under `CostModel` (int8 Conv MACs), and the all-float and all-int8 plans' for scale.
    @NullKept public var chipCost: Double? = nil
    @NullKept public var finalCost: PlanCost? = nil
    public var floatCost: PlanCost
    public var int8Cost: PlanCost
    /// Trials evaluated in this run, and those read from the journal.
    public var trials: Int
    public var trialsResumed: Int
    /// Images evaluated over this run's trials ÷ images in the set (trials that could not meet the budget stop early).
    public var fullEvaluations: Double
    public var trialsStoppedEarly: Int
    public var images: Int
    /// The trials no other beats on both chip cost and metric, cheapest first (also in `pareto`).
    public var paretoFront: [ParetoPoint] = []
    public var seconds: Double
    public var calibrationSeconds: Double
    public var rankingSeconds: Double
    public var evaluationSeconds: Double
    public var lastLayerGraphwise: Double
    @NullKept public var preparation: GraphPreparation? = nil
    public var variants: [Variant]
    public var journal: String
    public var ranking: String
    @NullKept public var pareto: String? = nil
    @NullKept public var report: String? = nil
    @NullKept public var finalConfig: String? = nil
    /// AMCT's `config.json` and `scale_offset_record.txt`.
    @NullKept public var config: String? = nil
    @NullKept public var record: String? = nil
    public var modelFiles: [String] = []

    public init(model: String, target: Target, metric: String, objective: PrecisionSearch.Objective, budget: Double, floatMetric: Double,
                int8Metric: Double, budgetMet: Bool, floatCost: PlanCost, int8Cost: PlanCost, trials: Int, trialsResumed: Int,
                fullEvaluations: Double, trialsStoppedEarly: Int, images: Int, seconds: Double, calibrationSeconds: Double,
                rankingSeconds: Double, evaluationSeconds: Double, lastLayerGraphwise: Double, preparation: GraphPreparation?,
                variants: [Variant], journal: String, ranking: String) {
        self.model = model; self.target = target; self.metric = metric; self.objective = objective; self.budget = budget
        self.floatMetric = floatMetric; self.int8Metric = int8Metric; self.budgetMet = budgetMet
        self.floatCost = floatCost; self.int8Cost = int8Cost; self.trials = trials; self.trialsResumed = trialsResumed
        self.fullEvaluations = fullEvaluations; self.trialsStoppedEarly = trialsStoppedEarly; self.images = images; self.seconds = seconds
        self.calibrationSeconds = calibrationSeconds; self.rankingSeconds = rankingSeconds; self.evaluationSeconds = evaluationSeconds
        self.lastLayerGraphwise = lastLayerGraphwise; self.preparation = preparation; self.variants = variants
        self.journal = journal; self.ranking = ranking
    }

    /// The all-int8 plan's drop.
    public var int8Drop: Double { floatMetric - int8Metric }
}
