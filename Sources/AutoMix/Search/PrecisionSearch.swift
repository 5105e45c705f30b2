import Foundation

/// The accuracy-driven ladder (shared/DESIGN.md "The search"; AMCT's search, spec §1.5), cost-aware:
/// 1. all-int8, evaluated in full (its mistakes order the images of every later trial, so failing trials stop early);
/// 2. the fewest most-sensitive layers in int16 that meet the budget: doubling k (1, 2, 4, … n) until a plan
///    passes, then bisecting, so a model that needs few layers costs few trials. When the ranking needs more than
///    half of the layers it is judged misleading and the ladder is climbed again by the alternative rankings and by
///    one re-ranked by measured impact (`measuredOrder`), keeping the shortest;
/// 3. a greedy pass returning to int8 the promoted layers the budget does not need: under `.cost` those that save
///    the most chip cost per unit of sensitivity first, under `.layers` the least sensitive first; runs of layers
///    before single ones;
/// 4. under `.cost`, the ladder again by sensitivity per unit of chip cost (`costOrder`), trying only plans cheaper
///    than the best so far;
/// 5. the final plan: under `.cost` the cheapest plan of every trial that met the budget, under `.layers` the
///    greedy pass's.
/// A layer goes to float only when every layer in int16 is not enough. A trial that cannot meet the budget any more
/// stops early (`Measure`); one that passes is always evaluated in full. No decision depends on where a trial
/// stopped (only on whether it met the budget, and on the metrics of trials read in full), so the order of the images
/// never changes the plan. No plan is evaluated twice: results come from the journal when resuming.
public final class PrecisionSearch {
    public struct Outcome: Sendable {
        public var int8: SearchJournal.Trial
        public var final: SearchJournal.Trial?
        public var budgetMet: Bool { final != nil }
    }

    /// What one evaluation measured: the metric over `images` of `imagesTotal`; when fewer, the evaluation stopped
    /// early and `metric` is the most the whole set could have given (an upper bound below the budget).
    public struct Measure: Sendable, Equatable {
        public var metric: Double
        public var images: Int
        public var imagesTotal: Int
        public init(metric: Double, images: Int, imagesTotal: Int) { self.metric = metric; self.images = images; self.imagesTotal = imagesTotal }
    }

    /// What the final plan minimises among those that meet the budget.
    public enum Objective: String, Sendable, Codable, CaseIterable { case cost, layers }

    /// Layers most sensitive first, by the primary measure; `alternatives` are other orders to try when it misleads.
    public let ranking: [String]
    public let alternatives: [(name: String, order: [String])]
    /// The primary measure of each layer (larger: more sensitive); orders the greedy pass under `.cost`.
    public let sensitivity: [String: Double]
    public let objective: Objective
    public let budget: Double
    public private(set) var journal: SearchJournal
    public private(set) var trialsRun = 0
    public private(set) var trialsResumed = 0
    /// Images evaluated by this run's trials (a trial stopped early counts the images it read).
    public private(set) var imagesEvaluated = 0
    public private(set) var imagesPerEvaluation = 0
    /// Images evaluated over all of this run's trials ÷ images in the set.
    public var fullEvaluations: Double { imagesPerEvaluation == 0 ? 0 : Double(imagesEvaluated) / Double(imagesPerEvaluation) }
    let journalURL: URL
    /// Evaluates a plan; `stopBelow`: the metric the plan must reach, so the evaluation may stop once it cannot (nil: in full).
    let evaluate: (_ plan: [String: Precision], _ stopBelow: Double?) throws -> Measure
    let cost: ([String: Precision]) -> PlanCost
    let log: (String) -> Void
    /// What the search is doing, for a live display: "trial 6 (7 of ~12) · greedy · best 1 int16 → 91.17".
    public var status: (String) -> Void = { _ in }
    var memo: [String: SearchJournal.Trial] = [:]
    var replay: [String: SearchJournal.Trial]

    /// `resumed` trials are reused for identical plans instead of being evaluated again.
    public init(ranking: [String], alternatives: [(name: String, order: [String])] = [], sensitivity: [String: Double] = [:],
                objective: Objective = .cost, journal: SearchJournal, resumed: [SearchJournal.Trial], journalURL: URL,
                evaluate: @escaping (_ plan: [String: Precision], _ stopBelow: Double?) throws -> Measure,
                cost: @escaping ([String: Precision]) -> PlanCost, log: @escaping (String) -> Void) {
        self.ranking = ranking
        self.alternatives = alternatives
        self.sensitivity = sensitivity
        self.objective = objective
        self.journal = journal
        self.journalURL = journalURL
        self.evaluate = evaluate
        self.cost = cost
        self.log = log
        budget = journal.relative ? journal.maxDrop * journal.floatMetric : journal.maxDrop
        replay = Dictionary(resumed.map { (SearchJournal.key($0.plan), $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// An evaluator that always measures every image (one image per plan as far as `fullEvaluations` knows).
    public convenience init(ranking: [String], alternatives: [(name: String, order: [String])] = [], sensitivity: [String: Double] = [:],
                            objective: Objective = .cost, journal: SearchJournal, resumed: [SearchJournal.Trial], journalURL: URL,
                            evaluate: @escaping ([String: Precision]) throws -> Double, cost: @escaping ([String: Precision]) -> PlanCost,
                            log: @escaping (String) -> Void) {
        self.init(ranking: ranking, alternatives: alternatives, sensitivity: sensitivity, objective: objective, journal: journal,
                  resumed: resumed, journalURL: journalURL, evaluate: { plan, _ in Measure(metric: try evaluate(plan), images: 1, imagesTotal: 1) },
                  cost: cost, log: log)
    }

    /// The images the all-int8 plan got wrong, once known (journaled for a resumed search's image order).
    public var int8Misses: () -> [Int]? = { nil }

    /// The metric a plan must reach.
    public var threshold: Double { journal.floatMetric - budget }
    func passes(_ metric: Double) -> Bool { journal.floatMetric - metric <= budget + 1e-9 }

    /// One plan's result: from this run, from the resumed journal, or evaluated now (and journaled at once).
    /// `full`: measure every image even if the plan cannot pass (the all-int8 trial, whose mistakes order the images).
    @discardableResult
    func trial(_ plan: [String: Precision], _ phase: String, full: Bool = false) throws -> SearchJournal.Trial {
        let plan = plan.filter { $0.value != .int8 }
        let key = SearchJournal.key(plan)
        if let t = memo[key] { return t }
        var t: SearchJournal.Trial
        // a trial stopped early is only an upper bound: reused when it still fails this run's budget
        if let old = replay[key], old.complete || !passes(old.metric), !(full && !old.complete) {
            // the metric is the trial's result; whether it meets the budget is this run's question (--max-drop or
            // --relative may differ from the journal's)
            t = old
            t.index = journal.trials.count
            t.drop = journal.floatMetric - t.metric
            t.passed = passes(t.metric) && t.complete
            t.cost = cost(plan)
            trialsResumed += 1
            log("trial \(t.index) [\(phase)] resumed from the journal: \(Self.describe(plan)) → \(String(format: "%.2f", t.metric))")
        } else {
            status(statusLine(phase))
            let start = Date()
            let m = try evaluate(plan, full ? nil : threshold)
            let complete = m.images >= m.imagesTotal
            t = SearchJournal.Trial(index: journal.trials.count, phase: phase, plan: plan, metric: m.metric,
                                    drop: journal.floatMetric - m.metric, passed: complete && passes(m.metric), cost: cost(plan),
                                    seconds: Date().timeIntervalSince(start), images: m.images, imagesTotal: m.imagesTotal)
            trialsRun += 1
            imagesEvaluated += m.images
            imagesPerEvaluation = m.imagesTotal
            let how = complete ? String(format: "%.2f (drop %.2f, ", m.metric, t.drop)
                : String(format: "≤ %.2f (stopped after %d of %d images, ", m.metric, m.images, m.imagesTotal)
            log("trial \(t.index) [\(phase)] \(Self.describe(plan)) → \(how)\(t.passed ? "meets" : "misses") the budget, "
                + "\(String(format: "%.1f", t.seconds)) s)")
            detail(plan)
        }
        memo[key] = t
        if journal.int8Misses == nil { journal.int8Misses = int8Misses() }
        journal.trials.append(t)
        try journal.write(to: journalURL)
        return t
    }

    /// The layers of a plan by precision, for `--verbose`.
    public var detailLog: (String) -> Void = { _ in }

    func detail(_ plan: [String: Precision]) {
        for p in [Precision.int16, .float] {
            let names = ranking.filter { plan[$0] == p }
            if !names.isEmpty { detailLog("  \(p.rawValue): \(names.joined(separator: ", "))") }
        }
    }

    // MARK: the live estimate

    /// Trials this run is likely to evaluate after the current one (set by each phase before its trials): the
    /// bisection's remaining steps, then a greedy pass of about a few runs of layers plus halvings.
    var trialsAhead: () -> Int = { 0 }

    static func log2Up(_ x: Int) -> Int { x <= 1 ? 0 : Int(ceil(log2(Double(x)))) }
    /// A greedy pass over k promoted layers (one layer: its all-int8 plan is known already).
    static func greedyGuess(_ k: Int) -> Int { k <= 1 ? 0 : min(k, 2 + log2Up(k)) }

    func statusLine(_ phase: String) -> String {
        let index = journal.trials.count
        let best = Self.cheapestFirst(journal.trials, objective).first
        let bestText = best.map { "best \(Self.describe($0.plan)) → \(String(format: "%.2f", $0.metric))" } ?? "none meets the budget yet"
        // the index as the log and journal number trials (from 0); the count as a person counts
        return "trial \(index) (\(index + 1) of ~\(index + 1 + trialsAhead())) · \(phase) · \(bestText)"
    }

    static func describe(_ plan: [String: Precision]) -> String {
        let counts = Dictionary(grouping: plan.values, by: { $0 }).mapValues(\.count)
        if counts.isEmpty { return "all int8" }
        return [Precision.int16, .float].compactMap { p in counts[p].map { "\($0) \(p.rawValue)" } }.joined(separator: ", ")
    }

    func top(_ k: Int, _ p: Precision, rest: Precision = .int8, of order: [String]? = nil) -> [String: Precision] {
        Dictionary(uniqueKeysWithValues: (order ?? ranking).enumerated().map { ($1, $0 < k ? p : rest) })
    }

    /// A layer's sensitivity: the given measure, else its rank standing in (the most sensitive highest).
    func sensitivity(of layer: String) -> Double {
        sensitivity[layer] ?? Double(ranking.count - (ranking.firstIndex(of: layer) ?? 0))
    }

    /// `layers` by `score`, largest first; equal scores keep their order.
    static func descending(_ layers: [String], by score: (String) -> Double) -> [String] {
        let scores = layers.map(score)
        return layers.indices.sorted { (scores[$0], -$0) > (scores[$1], -$1) }.map { layers[$0] }
    }

    /// The order in which the greedy pass tries to return the `promoted` layers of `plan` to `q`.
    func relaxOrder(_ promoted: [String], in plan: [String: Precision], to q: Precision) -> [String] {
        let leastSensitiveFirst = ranking.filter(Set(promoted).contains).reversed().map { $0 }
        guard objective == .cost else { return leastSensitiveFirst }
        let base = cost(plan).chipCost
        // chip cost saved per unit of sensitivity, largest first
        return Self.descending(leastSensitiveFirst) { layer in
            var other = plan
            other[layer] = q
            return (base - cost(other).chipCost) / max(sensitivity(of: layer), 1e-12)
        }
    }

    /// Returns to `to` the layers of `candidates` (in order) that the budget does not need: runs of several layers at
    /// once, a run that fails halved, a run that passes doubled, single layers after a layer the budget needs.
    func relax(_ plan: [String: Precision], _ candidates: [String], to p: Precision) throws -> [String: Precision] {
        var plan = plan
        var i = 0
        var size = max(1, candidates.count / 4)
        while i < candidates.count {
            trialsAhead = { [left = candidates.count - i, size] in (left + size - 1) / max(size, 1) - 1 }
            let run = Array(candidates[i..<min(i + size, candidates.count)])
            var candidate = plan
            for layer in run { candidate[layer] = p }
            if try trial(candidate, "greedy").passed {
                plan = candidate
                i += run.count
                size = max(1, min(size * 2, candidates.count / 4))
            } else if size > 1 {
                size /= 2
            } else {
                // a layer the budget needs: its neighbours in the order are likely needed too, so they are tried
                // one by one until one can go (doubling again after each failure cost two trials per needed layer)
                i += 1
            }
        }
        return plan
    }

    /// The smallest k in lo+1...hi for which `plan(k)` passes, given that `plan(hi)` passes and `plan(lo)` does not.
    func smallestPassing(from lo: Int = 0, _ hi: Int, _ phase: String, _ plan: (Int) -> [String: Precision]) throws -> Int {
        var lo = lo, hi = hi
        while hi - lo > 1 {
            trialsAhead = { [lo, hi] in Self.log2Up(hi - lo) - 1 + Self.greedyGuess((lo + hi) / 2) }
            let mid = (lo + hi) / 2
            if try trial(plan(mid), phase).passed { hi = mid } else { lo = mid }
        }
        return hi
    }

    /// The smallest k for which `plan(k)` passes: k = 1, 2, 4, … up to n, then bisection below the first that
    /// passes; nil when not even `plan(n)` passes, or when `worthTrying(k)` says no before a plan passes.
    func gallop(_ n: Int, _ phase: String, worthTrying: (Int) -> Bool = { _ in true }, _ plan: (Int) -> [String: Precision]) throws -> Int? {
        var lo = 0, k = 1
        while true {
            let step = min(k, n)
            guard worthTrying(step) else { return nil }
            trialsAhead = { [lo] in Self.log2Up(n) - Self.log2Up(max(lo, 1)) + Self.greedyGuess(max(lo, 1)) }
            if try trial(plan(step), phase).passed { return try smallestPassing(from: lo, step, phase, plan) }
            if step == n { return nil }
            (lo, k) = (step, k * 2)
        }
    }

    /// The layers by sensitivity per unit of the chip cost their int16 adds, most worth promoting first.
    func costOrder() -> [String] {
        let base = cost([:]).chipCost
        return Self.descending(ranking) { sensitivity(of: $0) / max(cost([$0: .int16]).chipCost - base, 1e-12) }
    }

    /// Under `.cost`: the ladder climbed again by `costOrder`, trying only plans cheaper than the best that has met
    /// the budget so far (a layer that is sensitive but cheap can beat a costly one that is a little more sensitive).
    func climbByCost(_ n: Int) throws {
        let order = costOrder()
        guard order != ranking, let best = Self.cheapestFirst(journal.trials, .cost).first else { return }
        guard let k = try gallop(n, "int16 ladder, by cost", worthTrying: { self.cost(self.top($0, .int16, of: order)).chipCost < best.cost.chipCost },
                                 { self.top($0, .int16, of: order) }) else { return }
        let plan = top(k, .int16, of: order)
        _ = try relax(plan, relaxOrder(Array(order.prefix(k)), in: plan, to: .int8), to: .int8)
    }

    /// The ranking re-ordered by measured impact: the layers in eight groups (by the primary ranking); each group
    /// left in int8 while every other layer is int16; groups whose absence costs the most come first.
    func measuredOrder() throws -> [String] {
        let groups = stride(from: 0, to: ranking.count, by: max(1, (ranking.count + 7) / 8)).map {
            Array(ranking[$0..<min($0 + max(1, (ranking.count + 7) / 8), ranking.count)])
        }
        let all16 = top(ranking.count, .int16)
        let harm = try groups.map { g -> Double in
            var plan = all16
            for layer in g { plan[layer] = .int8 }
            // in full: the order is built from the metrics, and a bound would depend on the order of the images, so
            // a resumed search (whose image order may differ) would re-rank otherwise
            return try trial(plan, "re-rank", full: true).metric
        }
        return zip(groups, harm).enumerated().sorted { ($0.element.1, $0.offset) < ($1.element.1, $1.offset) }.flatMap(\.element.0)
    }

    /// The trials that met the budget, cheapest first (the objective's order; then the earlier trial).
    public static func cheapestFirst(_ trials: [SearchJournal.Trial], _ objective: Objective) -> [SearchJournal.Trial] {
        func key(_ t: SearchJournal.Trial) -> (Double, Double, Int) {
            let layers = Double(t.plan.count)
            return objective == .cost ? (t.cost.chipCost, layers, t.index) : (layers, t.cost.chipCost, t.index)
        }
        return trials.filter { $0.passed && $0.complete }.sorted { key($0) < key($1) }
    }

    /// Records the chosen trial in the journal: under `.cost` the cheapest trial that met the budget, else `greedy`.
    func finish(_ int8: SearchJournal.Trial, _ greedy: [String: Precision]) throws -> Outcome {
        var final = try trial(greedy, "final")
        if objective == .cost, let cheapest = Self.cheapestFirst(journal.trials, .cost).first, cheapest.cost.chipCost < final.cost.chipCost {
            final = cheapest
            log("final: the cheapest plan that met the budget, trial \(final.index) (\(Self.describe(final.plan)))")
        }
        journal.finalTrial = final.index
        try journal.write(to: journalURL)
        return Outcome(int8: int8, final: final)
    }

    public func run() throws -> Outcome {
        let n = ranking.count
        trialsAhead = { 1 + Self.log2Up(n) + Self.greedyGuess(n / 2) }
        let int8 = try trial([:], "int8", full: true)
        if int8.passed { return try finish(int8, [:]) }

        var plan: [String: Precision]
        if var k = try gallop(n, "int16 ladder", { self.top($0, .int16) }) {
            var order = ranking
            if k > n / 2, try trial(top(n, .int16), "int16 ladder").passed {
                for alternative in alternatives + [("measured", try measuredOrder())] {
                    log("the ranking needs \(k) of \(n) layers in int16; climbing again by the \(alternative.0) ranking")
                    let other = try smallestPassing(n, "int16 ladder, \(alternative.0)") { self.top($0, .int16, of: alternative.1) }
                    if other < k { (k, order) = (other, alternative.1) }
                }
            }
            plan = top(k, .int16, of: order)
            plan = try relax(plan, relaxOrder(Array(order.prefix(k)), in: plan, to: .int8), to: .int8)
            if objective == .cost { try climbByCost(n) }
        } else {
            guard try trial(top(n, .float), "float ladder").passed else { return Outcome(int8: int8, final: nil) }
            let f = try smallestPassing(n, "float ladder") { self.top($0, .float, rest: .int16) }
            plan = top(f, .float, rest: .int16)
            plan = try relax(plan, relaxOrder(Array(ranking.prefix(f)), in: plan, to: .int16), to: .int16)
            plan = try relax(plan, relaxOrder(ranking.filter { plan[$0] == .int16 }, in: plan, to: .int8), to: .int8)
        }
        return try finish(int8, plan)
    }

    /// The trials no other trial beats on both cost and metric (complete trials only; a trial stopped early knows
    /// only a bound), cheapest first.
    public static func paretoFront(_ trials: [SearchJournal.Trial]) -> [SearchJournal.Trial] {
        var front: [SearchJournal.Trial] = []
        var seen = Set<String>()
        for t in trials.filter(\.complete).sorted(by: { ($0.cost.chipCost, -$0.metric, $0.index) < ($1.cost.chipCost, -$1.metric, $1.index) }) {
            guard seen.insert(SearchJournal.key(t.plan)).inserted else { continue }
            if let last = front.last, t.metric <= last.metric { continue }
            front.append(t)
        }
        return front
    }
}
