import Foundation

/// One plan of the Pareto front: no other measured plan is both cheaper on the chip and more accurate.
public struct ParetoPoint: Codable, Sendable, Equatable {
    /// Its number in the front, cheapest first (what `export --config FINAL --pareto-point N` takes).
    public var point: Int
    /// The journal's trial that measured it.
    public var trial: Int
    public var int16Layers: [String]
    public var floatLayers: [String]
    public var metric: Double
    public var drop: Double
    public var chipCost: Double
    public var macCost: Double
    public var weightBytes: Int
    public var meetsBudget: Bool
    /// The search's final plan.
    public var chosen: Bool

    /// The precision of every layer in `layers` under this point's plan.
    public func plan(over layers: [String]) -> [String: Precision] {
        let int16 = Set(int16Layers), float = Set(floatLayers)
        return Dictionary(uniqueKeysWithValues: layers.map { ($0, float.contains($0) ? .float : int16.contains($0) ? .int16 : .int8) })
    }
}

/// `Results/accuracy_based_auto_calibration_pareto.json`: the search's measured trade-off between chip cost and
/// metric, so a plan with a little more drop and much less cost can be taken without searching again.
public struct ParetoFile: Codable, Sendable {
    public var metric: String
    public var floatMetric: Double
    public var budget: Double
    public var points: [ParetoPoint]

    /// The front of `trials` (complete trials only), layers listed in `layers`' order.
    public init(metric: String, floatMetric: Double, budget: Double, trials: [SearchJournal.Trial], layers: [String], chosen: Int?) {
        self.metric = metric; self.floatMetric = floatMetric; self.budget = budget
        let chosenKey = chosen.flatMap { c in trials.first { $0.index == c } }.map { SearchJournal.key($0.plan) }
        points = PrecisionSearch.paretoFront(trials).enumerated().map { i, t in
            ParetoPoint(point: i, trial: t.index, int16Layers: layers.filter { t.plan[$0] == .int16 },
                        floatLayers: layers.filter { t.plan[$0] == .float }, metric: t.metric, drop: t.drop,
                        chipCost: t.cost.chipCost, macCost: t.cost.macCost, weightBytes: t.cost.weightBytes, meetsBudget: t.passed,
                        chosen: SearchJournal.key(t.plan) == chosenKey)
        }
    }

    public func write(to url: URL) throws { try JSONFile.write(self, to: url) }

    public static func read(_ path: String) throws -> ParetoFile {
        try JSONFile.read(ParetoFile.self, from: path, what: "a search's Pareto front")
    }

    /// Point `n`, or an error naming the file and the points it has.
    public func point(_ n: Int, path: String) throws -> ParetoPoint {
        guard points.indices.contains(n) else {
            throw AutoMixError.invalidArgument("--pareto-point \(n): \(path) has points 0…\(points.count - 1)")
        }
        return points[n]
    }
}
