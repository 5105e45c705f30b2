import Foundation

/// The accuracy-driven ladder (shared/DESIGN.md "The search"; AMCT's binary search, spec §1.5): all-int8 first;
/// then the fewest most-sensitive layers in int16 that meet the budget (binary search on how many). When the
/// primary ranking needs more than half of the layers it is judged misleading and the ladder is climbed again with
/// the alternative rankings and with one re-ranked by measured impact (`measuredOrder`), keeping the shortest. A greedy pass then returns to int8 every promoted
/// layer the budget does not need, least sensitive first, trying groups before single layers. A layer goes to
/// float only when every layer in int16 is not enough. No plan is evaluated twice: results come from the journal
/// when resuming.
public final class PrecisionSearch {
    public struct Outcome: Sendable {
        public var int8: SearchJournal.Trial
        public var final: SearchJournal.Trial?
        public var budgetMet: Bool { final != nil }
    }

    /// Layers most sensitive first, by the primary measure; `alternatives` are other orders to try when it misleads.
    public let ranking: [String]
    public let alternatives: [(name: String, order: [String])]
    public let budget: Double
    public private(set) var journal: SearchJournal
    public private(set) var trialsRun = 0
    public private(set) var trialsResumed = 0
    let journalURL: URL
    let evaluate: ([String: Precision]) throws -> Double
    let cost: ([String: Precision]) -> PlanCost
    let log: (String) -> Void
    /// What the search is doing, for a live display: "trial 6 (7 of ~12) · greedy · best 1 int16 → 91.17".
    public var status: (String) -> Void = { _ in }
    var memo: [String: SearchJournal.Trial] = [:]
    var replay: [String: SearchJournal.Trial]

    /// `resumed` trials are reused for identical plans instead of being evaluated again.
    public init(ranking: [String], alternatives: [(name: String, order: [String])] = [], journal: SearchJournal, resumed: [SearchJournal.Trial], journalURL: URL,
                evaluate: @escaping ([String: Precision]) throws -> Double, cost: @escaping ([String: Precision]) -> PlanCost,
                log: @escaping (String) -> Void) {
        self.ranking = ranking
        self.alternatives = alternatives
        self.journal = journal
        self.journalURL = journalURL
        self.evaluate = evaluate
        self.cost = cost
        self.log = log
        budget = journal.relative ? journal.maxDrop * journal.floatMetric : journal.maxDrop
        replay = Dictionary(resumed.map { (SearchJournal.key($0.plan), $0) }, uniquingKeysWith: { a, _ in a })
    }

    func passes(_ metric: Double) -> Bool { journal.floatMetric - metric <= budget + 1e-9 }

    /// One plan's result: from this run, from the resumed journal, or evaluated now (and journaled at once).
    @discardableResult
    func trial(_ plan: [String: Precision], _ phase: String) throws -> SearchJournal.Trial {
        let plan = plan.filter { $0.value != .int8 }
        let key = SearchJournal.key(plan)
        if let t = memo[key] { return t }
        var t: SearchJournal.Trial
        if let old = replay[key] {
            // the metric is the trial's result; whether it meets the budget is this run's question (--max-drop or
            // --relative may differ from the journal's)
            t = old
            t.index = journal.trials.count
            t.drop = journal.floatMetric - t.metric
            t.passed = passes(t.metric)
            trialsResumed += 1
            log("trial \(t.index) [\(phase)] resumed from the journal: \(Self.describe(plan)) → \(String(format: "%.2f", t.metric))")
        } else {
            status(statusLine(phase))
            let start = Date()
            let metric = try evaluate(plan)
            t = SearchJournal.Trial(index: journal.trials.count, phase: phase, plan: plan, metric: metric,
                                    drop: journal.floatMetric - metric, passed: passes(metric), cost: cost(plan),
                                    seconds: Date().timeIntervalSince(start))
            trialsRun += 1
            log("trial \(t.index) [\(phase)] \(Self.describe(plan)) → \(String(format: "%.2f", metric)) "
                + "(drop \(String(format: "%.2f", t.drop)), \(t.passed ? "meets" : "misses") the budget, \(String(format: "%.1f", t.seconds)) s)")
            detail(plan)
        }
        memo[key] = t
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
        let best = journal.trials.filter(\.passed).min { ($0.cost.macCost, $0.index) < ($1.cost.macCost, $1.index) }
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

    /// Returns to `to` the layers of `candidates` (in order) that the budget does not need, trying runs of
    /// several layers at once and halving a run that fails.
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
            } else if size > 1 {
                size /= 2
                continue
            } else {
                i += 1
            }
            size = max(1, min(size * 2, candidates.count / 4))
        }
        return plan
    }

    /// The smallest k in 1...n for which `plan(k)` passes, given that `plan(n)` passes.
    func smallestPassing(_ n: Int, _ phase: String, _ plan: (Int) -> [String: Precision]) throws -> Int {
        var lo = 0, hi = n   // plan(lo) fails (or is the start), plan(hi) passes
        while hi - lo > 1 {
            trialsAhead = { [lo, hi] in Self.log2Up(hi - lo) - 1 + Self.greedyGuess((lo + hi) / 2) }
            let mid = (lo + hi) / 2
            if try trial(plan(mid), phase).passed { hi = mid } else { lo = mid }
        }
        return hi
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
            return try trial(plan, "re-rank").metric
        }
        return zip(groups, harm).enumerated().sorted { ($0.element.1, $0.offset) < ($1.element.1, $1.offset) }.flatMap(\.element.0)
    }

    /// Records the chosen trial in the journal.
    func finish(_ int8: SearchJournal.Trial, _ final: SearchJournal.Trial) throws -> Outcome {
        journal.finalTrial = final.index
        try journal.write(to: journalURL)
        return Outcome(int8: int8, final: final)
    }

    public func run() throws -> Outcome {
        let n = ranking.count
        // before the bisection: all-int16 (or all-float) next, then the ladder
        trialsAhead = { 1 + Self.log2Up(n) + Self.greedyGuess(n / 2) }
        let int8 = try trial([:], "int8")
        trialsAhead = { Self.log2Up(n) + Self.greedyGuess(n / 2) }
        if int8.passed { return try finish(int8, int8) }

        var plan: [String: Precision]
        if try trial(top(n, .int16), "int16 ladder").passed {
            var k = try smallestPassing(n, "int16 ladder") { self.top($0, .int16) }
            var order = ranking
            if k > n / 2 {
                for alternative in alternatives + [("measured", try measuredOrder())] {
                    log("the ranking needs \(k) of \(n) layers in int16; climbing again by the \(alternative.0) ranking")
                    let other = try smallestPassing(n, "int16 ladder, \(alternative.0)") { self.top($0, .int16, of: alternative.1) }
                    if other < k { (k, order) = (other, alternative.1) }
                }
            }
            plan = top(k, .int16, of: order)
            plan = try relax(plan, Array(order.prefix(k).reversed()), to: .int8)
        } else {
            guard try trial(top(n, .float), "float ladder").passed else { return Outcome(int8: int8, final: nil) }
            let f = try smallestPassing(n, "float ladder") { self.top($0, .float, rest: .int16) }
            plan = top(f, .float, rest: .int16)
            plan = try relax(plan, Array(ranking.prefix(f).reversed()), to: .int16)
            plan = try relax(plan, ranking.filter { plan[$0] == .int16 }.reversed(), to: .int8)
        }
        return try finish(int8, try trial(plan, "final"))
    }
}
