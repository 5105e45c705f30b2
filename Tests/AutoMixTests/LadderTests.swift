import Foundation
import Testing
@testable import AutoMix

/// The ladder on a table of plan → metric (no model): the plan it chooses and the trials it spends.
@Suite struct LadderTests {
    /// A fake model: the metric is the int8 metric plus each promoted layer's gain; the chip cost is the int8 cost plus
    /// each promoted layer's extra cost (float: 8 × its int16 extra).
    struct Table {
        var base = 88.0
        var gain16: [String: Double]
        var gainFloat: [String: Double] = [:]
        var extra: [String: Double] = [:]

        func metric(_ plan: [String: Precision]) -> Double {
            base + plan.reduce(0) { sum, p in sum + (p.value == .int16 ? gain16[p.key] ?? 0 : p.value == .float ? gainFloat[p.key] ?? 0 : 0) }
        }
        func cost(_ plan: [String: Precision]) -> PlanCost {
            let c = 1000 + plan.reduce(0.0) { $0 + (extra[$1.key] ?? 1) * ($1.value == .float ? 8 : $1.value == .int16 ? 1 : 0) }
            return PlanCost(weightBytes: 0, macCost: c, chipCost: c, boundaries: 0)
        }
    }

    static let identity = SearchJournal.Identity(model: "m", modelFingerprint: "0", data: "d", dataFingerprint: "0", calib: "c",
                                                 calibFingerprint: "0", target: .esp32p4, bits: 8, metric: "top1")

    /// Runs the ladder; `evaluations` counts the plans actually evaluated (each at most once).
    static func search(_ t: Table, ranking: [String], sensitivity: [String: Double] = [:], maxDrop: Double, objective: PrecisionSearch.Objective = .cost,
                       resumed: [SearchJournal.Trial] = [], url: URL? = nil, failAfter: Int? = nil) throws -> (PrecisionSearch, PrecisionSearch.Outcome, [String]) {
        let journal = SearchJournal(identity: identity, maxDrop: maxDrop, relative: false, floatMetric: 90, trials: [])
        var evaluated: [String] = []
        let search = PrecisionSearch(
            ranking: ranking, sensitivity: sensitivity, objective: objective, journal: journal, resumed: resumed,
            journalURL: url ?? Fixtures.temporaryDirectory().appendingPathComponent("j.json"),
            evaluate: { plan in
                if let failAfter, evaluated.count == failAfter { throw AutoMixError.invalidArgument("killed") }
                evaluated.append(SearchJournal.key(plan))
                return t.metric(plan)
            }, cost: t.cost, log: { _ in })
        let outcome = try search.run()
        return (search, outcome, evaluated)
    }

    @Test("monotone gains: the two most sensitive layers meet the budget; 4 evaluations (int8, k=1, k=2, one greedy)")
    func monotone() throws {
        let t = Table(gain16: ["a": 1, "b": 0.5, "c": 0.3, "d": 0.05, "e": 0.05, "f": 0.05, "g": 0.05, "h": 0.05])
        let (search, outcome, evaluated) = try Self.search(t, ranking: ["a", "b", "c", "d", "e", "f", "g", "h"], maxDrop: 0.5, objective: .layers)
        #expect(outcome.final?.plan == ["a": .int16, "b": .int16])
        #expect(evaluated == ["", "a=int16", "a=int16,b=int16", "b=int16"])
        #expect(search.trialsRun == 4)
        #expect(Set(evaluated).count == evaluated.count, "a plan evaluated twice")
    }

    @Test("a non-monotone metric and a misleading ranking: the measured re-ranking finds the two layers that matter")
    func misleadingRanking() throws {
        // promoting c hurts; the ranking puts it second, so the ladder by rank needs every layer
        let t = Table(gain16: ["a": 0.6, "b": 0.6, "c": -0.5, "d": 0.5])
        let (search, outcome, evaluated) = try Self.search(t, ranking: ["a", "c", "b", "d"], maxDrop: 0.8)
        #expect(outcome.final?.plan == ["a": .int16, "b": .int16])
        #expect(outcome.final.map { t.metric($0.plan) } ?? 0 >= 89.2 - 1e-9)
        #expect(search.trialsRun == 10)
        #expect(Set(evaluated).count == evaluated.count, "a plan evaluated twice")
    }

    @Test("int16 everywhere is not enough: the one layer that needs float goes to float, the others stay int8")
    func floatFallback() throws {
        let t = Table(gain16: ["a": 0.3, "b": 0.2], gainFloat: ["a": 1.5, "b": 0.2])
        let (search, outcome, _) = try Self.search(t, ranking: ["a", "b"], maxDrop: 0.5)
        #expect(outcome.final?.plan == ["a": .float])
        #expect(search.trialsRun == 6)
    }

    @Test("an impossible budget: no plan, after int8, the int16 ladder and all-float")
    func impossibleBudget() throws {
        let t = Table(gain16: ["a": 0.3, "b": 0.2, "c": 0.1, "d": 0.1], gainFloat: ["a": 0.5])
        let (search, outcome, _) = try Self.search(t, ranking: ["a", "b", "c", "d"], maxDrop: -1)
        #expect(outcome.final == nil)
        #expect(!outcome.budgetMet)
        #expect(search.trialsRun == 5)   // int8, k = 1, 2, 4 (all int16), all float
    }

    @Test("cost objective: two cheap layers beat one costly layer of the same effect; the layer objective keeps the one")
    func costObjective() throws {
        let t = Table(gain16: ["a": 1, "b": 0.6, "c": 0.6], extra: ["a": 100, "b": 1, "c": 1])
        let sensitivity = ["a": 3.0, "b": 2, "c": 1]
        let (byCost, cheap, _) = try Self.search(t, ranking: ["a", "b", "c"], sensitivity: sensitivity, maxDrop: 1)
        #expect(cheap.final?.plan == ["b": .int16, "c": .int16])
        #expect(cheap.final?.cost.chipCost == 1002)
        #expect(byCost.trialsRun == 5)
        let (byLayers, fewest, _) = try Self.search(t, ranking: ["a", "b", "c"], sensitivity: sensitivity, maxDrop: 1, objective: .layers)
        #expect(fewest.final?.plan == ["a": .int16])
        #expect(byLayers.trialsRun == 2)
    }

    @Test("a search stopped after 3 evaluations and resumed evaluates only what it had not, and chooses the same plan")
    func resume() throws {
        let t = Table(gain16: ["a": 0.6, "b": 0.6, "c": -0.5, "d": 0.5])
        let ranking = ["a", "c", "b", "d"]
        let (_, whole, all) = try Self.search(t, ranking: ranking, maxDrop: 0.8)
        let url = Fixtures.temporaryDirectory().appendingPathComponent("journal.json")
        #expect(throws: AutoMixError.self) { try Self.search(t, ranking: ranking, maxDrop: 0.8, url: url, failAfter: 3) }
        let journal = try SearchJournal.read(url)
        #expect(journal.trials.count == 3)
        let (again, resumed, evaluated) = try Self.search(t, ranking: ranking, maxDrop: 0.8, resumed: journal.trials)
        #expect(resumed.final?.plan == whole.final?.plan)
        #expect(again.trialsResumed == 3)
        #expect(evaluated.count == all.count - 3)
        #expect(Set(evaluated).isDisjoint(with: journal.trials.map { SearchJournal.key($0.plan) }))
    }

    @Test("early stopping: a failing trial reads only the images it needs, a passing one reads all, the plan is the same")
    func earlyStopping() throws {
        // 100 images; each promoted layer fixes some of the images all-int8 gets wrong (the first 12 of the order)
        let fixes: [String: Set<Int>] = ["a": [0, 1, 2, 3, 4], "b": [5, 6, 7], "c": [8], "d": [9]]
        func correct(_ plan: [String: Precision]) -> [Bool] {
            let fixed = plan.keys.reduce(into: Set<Int>()) { $0.formUnion(fixes[$1] ?? []) }
            return (0..<100).map { $0 >= 12 || fixed.contains($0) }
        }
        func run(early: Bool) throws -> (PrecisionSearch, PrecisionSearch.Outcome) {
            let journal = SearchJournal(identity: Self.identity, maxDrop: 5, relative: false, floatMetric: 100, trials: [])
            let search = PrecisionSearch(
                ranking: ["a", "b", "c", "d"], journal: journal, resumed: [],
                journalURL: Fixtures.temporaryDirectory().appendingPathComponent("j.json"),
                evaluate: { plan, stopBelow in
                    let ok = correct(plan)
                    var right = 0
                    for (i, c) in ok.enumerated() {
                        if c { right += 1 }
                        let best = Double(right + 99 - i)
                        if early, let stopBelow, i < 99, (i + 1) % 10 == 0, best < stopBelow {
                            return .init(metric: best, images: i + 1, imagesTotal: 100)
                        }
                    }
                    return .init(metric: Double(right), images: 100, imagesTotal: 100)
                }, cost: { Table(gain16: [:]).cost($0) }, log: { _ in })
            return (search, try search.run())
        }
        let (full, whole) = try run(early: false)
        let (early, stopped) = try run(early: true)
        #expect(stopped.final?.plan == whole.final?.plan)
        #expect(stopped.final?.plan == ["a": .int16, "b": .int16])
        #expect(stopped.final?.complete == true)
        #expect(full.fullEvaluations == Double(full.trialsRun))
        #expect(early.fullEvaluations < full.fullEvaluations)
        let cut = early.journal.trials.filter { !$0.complete }
        #expect(!cut.isEmpty)
        #expect(cut.allSatisfy { !$0.passed && $0.metric < 95 && ($0.images ?? 100) < 100 })
    }

    @Test("the Pareto front keeps the trials no other beats on both cost and metric, cheapest first")
    func paretoFront() throws {
        func trial(_ i: Int, _ metric: Double, _ cost: Double, complete: Bool = true) -> SearchJournal.Trial {
            .init(index: i, phase: "x", plan: ["l\(i)": .int16], metric: metric, drop: 90 - metric, passed: metric >= 89, cost:
                    PlanCost(weightBytes: 0, macCost: cost, chipCost: cost, boundaries: 0), seconds: 0, images: complete ? 10 : 3, imagesTotal: 10)
        }
        let trials = [trial(0, 88, 100), trial(1, 89.5, 120), trial(2, 89.0, 130), trial(3, 90, 200), trial(4, 95, 110, complete: false)]
        #expect(PrecisionSearch.paretoFront(trials).map(\.index) == [0, 1, 3])
        let file = ParetoFile(metric: "top1", floatMetric: 90, budget: 1, trials: trials, layers: ["l0", "l1", "l2", "l3", "l4"], chosen: 1)
        #expect(file.points.map(\.chosen) == [false, true, false])
        #expect(file.points[1].plan(over: ["l0", "l1"]) == ["l0": .int8, "l1": .int16])
    }
}
