import Foundation
import Testing
@testable import AutoMix

/// `automix search` end to end on a small real setting: fmnist_cnn, 500 test images, agreement with float as the
/// metric and no loss allowed, so the ladder must promote layers.
@Suite(.serialized) struct SearchTests {
    static func arguments(_ dir: URL, _ extra: [String] = []) -> [String] {
        ["search", "--model", Fixtures.model("fmnist_cnn"), "--calib", Fixtures.fashion + "/calib", "--data", Fixtures.fashion + "/val",
         "--limit", "500", "--calib-limit", "256", "--metric", "agreement", "--max-drop", "0",
         "--results", dir.appendingPathComponent("Results").path, "--log-dir", dir.appendingPathComponent("amct_log").path,
         "--tmp-dir", dir.appendingPathComponent("tmp").path, "--json"] + extra
    }

    /// The `--json` output: stdout must hold that one object and nothing else.
    static func lastJSON(_ out: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] ?? [:]
    }

    static func journal(_ dir: URL) -> URL { dir.appendingPathComponent("amct_log/accuracy_based_auto_calibration_record.json") }

    /// The trials the HTML report draws (one circle of class "trial" each).
    static func reportPoints(_ dir: URL) throws -> Int {
        let html = try String(contentsOf: dir.appendingPathComponent("Results/accuracy_based_auto_calibration_report.html"), encoding: .utf8)
        return html.components(separatedBy: "<circle class=\"trial\"").count - 1
    }

    @Test("a search killed with SIGKILL and resumed re-evaluates no finished trial and reaches the uninterrupted plan")
    func killAndResume() throws {
        let whole = Fixtures.temporaryDirectory()
        let reference = try runCLI(Self.arguments(whole))
        #expect(reference.status == 0, "\(reference.err)")
        let expected = try Self.lastJSON(reference.out)
        let wholeJournal = try SearchJournal.read(Self.journal(whole))
        let total = wholeJournal.trials.count
        #expect((expected["int16_layers"] as? [String])?.isEmpty == false)

        let dir = Fixtures.temporaryDirectory()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Fixtures.cli)
        p.arguments = Self.arguments(dir)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        var finished = 0
        while p.isRunning {
            finished = (try? SearchJournal.read(Self.journal(dir)).trials.count) ?? 0
            if finished >= 3 { kill(p.processIdentifier, SIGKILL); break }
            usleep(20_000)
        }
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal, "the search ended before it could be killed")
        let before = try SearchJournal.read(Self.journal(dir)).trials

        let resumed = try runCLI(Self.arguments(dir, ["--resume"]))
        #expect(resumed.status == 0, "\(resumed.err)")
        let json = try Self.lastJSON(resumed.out)
        #expect(json["trials_resumed"] as? Int == before.count)
        #expect((json["trials"] as? Int ?? 0) + before.count == total)
        let after = try SearchJournal.read(Self.journal(dir)).trials
        #expect(Set(after.map { SearchJournal.key($0.plan) }).count == after.count, "a plan was evaluated twice")
        #expect(Array(after.prefix(before.count)).map(\.metric) == before.map(\.metric))
        // the resumed run put the images in the first run's order (from the journal): every trial stopped where the
        // uninterrupted search's did
        #expect(wholeJournal.trials.contains { !$0.complete }, "no trial stopped early: the order is not tested")
        #expect(after.map(\.images) == wholeJournal.trials.map(\.images))
        #expect(try SearchJournal.read(Self.journal(dir)).int8Misses == wholeJournal.int8Misses)
        #expect(json["int16_layers"] as? [String] == expected["int16_layers"] as? [String])
        #expect(json["final_metric"] as? Double == expected["final_metric"] as? Double)
        // the report draws every trial of the journal, resumed ones included
        #expect(try Self.reportPoints(dir) == after.count)

        // the front's chosen point is the final plan: exported from it, the same .espdl as the search wrote
        let finalConfig = dir.appendingPathComponent("Results/accuracy_based_auto_calibration_final_config.json").path
        let pareto = try ParetoFile.read(dir.appendingPathComponent("Results/accuracy_based_auto_calibration_pareto.json").path)
        let chosen = try #require(pareto.points.first { $0.chosen })
        let exported = dir.appendingPathComponent("point")
        let e = try runCLI(["export", "--config", finalConfig, "--pareto-point", "\(chosen.point)", "--results", exported.path])
        #expect(e.status == 0, "\(e.err)")
        #expect(try Data(contentsOf: exported.appendingPathComponent("fmnist_cnn.espdl"))
                == Data(contentsOf: dir.appendingPathComponent("Results/fmnist_cnn.espdl")))
        let beyond = try runCLI(["export", "--config", finalConfig, "--pareto-point", "\(pareto.points.count)", "--results", exported.path])
        #expect(beyond.status == 1)
        #expect(beyond.err.contains("--pareto-point \(pareto.points.count): ") && beyond.err.contains("has points 0…"))

        // the final config reproduces the figure through quantize --config
        let check = try runCLI(["quantize", "--model", Fixtures.model("fmnist_cnn"), "--calib", Fixtures.fashion + "/calib",
                                "--calib-limit", "256", "--data", Fixtures.fashion + "/val", "--limit", "500",
                                "--config", dir.appendingPathComponent("Results/accuracy_based_auto_calibration_final_config.json").path, "--json"])
        #expect(check.status == 0, "\(check.err)")
        #expect(try Self.lastJSON(check.out)["agreement"] as? Double == json["final_metric"] as? Double)

        // a journal from another model is refused
        var other = Self.arguments(dir, ["--resume"])
        other[2] = Fixtures.model("fmnist_mbv2s")
        let refused = try runCLI(other)
        #expect(refused.status != 0)
        #expect(refused.err.contains("the journal was made for model"))
    }

    @Test("an impossible budget ends with a clear message, a non-zero exit, no final config, and the ranking and journal kept")
    func impossibleBudget() throws {
        let dir = Fixtures.temporaryDirectory()
        var args = Self.arguments(dir)
        let i = args.firstIndex(of: "--max-drop")!
        args.replaceSubrange(i...(i + 1), with: ["--max-drop=-1"])
        // an earlier run's final files in the same folders must not survive beside this run's ranking
        let fm = FileManager.default
        let earlier = [dir.appendingPathComponent("Results/accuracy_based_auto_calibration_final_config.json"),
                       dir.appendingPathComponent("Results/fmnist_cnn.espdl")]
        try fm.createDirectory(at: dir.appendingPathComponent("Results"), withIntermediateDirectories: true)
        for u in earlier { try Data("{}".utf8).write(to: u) }
        let r = try runCLI(args)
        #expect(r.status != 0)
        #expect(r.err.contains("budget not met"))
        let missed = try Self.lastJSON(r.out)
        #expect(missed["budget_met"] as? Bool == false)
        // the same keys as a met budget, and the versions every JSON carries
        for key in ["weight_bytes", "mac_cost", "final_config", "model_files", "schema_version", "automix_version"] {
            #expect(missed.keys.contains(key), "\(key)")
        }
        for u in earlier { #expect(!fm.fileExists(atPath: u.path), "\(u.path) left from an earlier run") }
        #expect(!fm.fileExists(atPath: dir.appendingPathComponent("Results/accuracy_based_auto_calibration_final_config.json").path))
        #expect(!fm.fileExists(atPath: dir.appendingPathComponent("tmp/config.json").path))
        #expect(fm.fileExists(atPath: dir.appendingPathComponent("Results/accuracy_based_auto_calibration_ranking_info.json").path))
        #expect(try SearchJournal.read(Self.journal(dir)).trials.count >= 3)
        #expect(try Self.reportPoints(dir) == SearchJournal.read(Self.journal(dir)).trials.count)
    }

    @Test("--try-equalization searches both ways, keeps the cheaper final plan, and records its passes in the final config")
    func tryEqualization() throws {
        let dir = Fixtures.temporaryDirectory()
        let r = try runCLI(Self.arguments(dir, ["--target", "esp32s3", "--try-equalization"]))
        #expect(r.status == 0, "\(r.err)")
        let json = try Self.lastJSON(r.out)
        let variants = try #require(json["variants"] as? [[String: Any]])
        #expect(variants.count == 2, "equalization changed no pair of fmnist_cnn: \(r.out.suffix(2000))")
        let costs = variants.compactMap { $0["mac_cost"] as? Double }
        #expect(costs.count == 2)
        #expect(json["mac_cost"] as? Double == costs.min())
        let equalizedChosen = (json["preparation"] as? [String: Any])?["equalization"] != nil
        #expect(equalizedChosen == (costs[1] < costs[0]))
        let config = try SearchOutputs.readConfig(dir.appendingPathComponent("Results/accuracy_based_auto_calibration_final_config.json").path)
        #expect((config.preparation?.equalization != nil) == equalizedChosen)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("amct_log/accuracy_based_auto_calibration_record_equalized.json").path))
        // the final config alone rebuilds the search's .espdl, byte for byte (model, calibration set, passes, test input)
        let again = dir.appendingPathComponent("again")
        let e = try runCLI(["export", "--config", dir.appendingPathComponent("Results/accuracy_based_auto_calibration_final_config.json").path,
                            "--results", again.path])
        #expect(e.status == 0, "\(e.err)")
        #expect(try Data(contentsOf: again.appendingPathComponent("fmnist_cnn.espdl"))
                == Data(contentsOf: dir.appendingPathComponent("Results/fmnist_cnn.espdl")))
    }
}

/// The ladder on a table of plan → metric, no model: what a resumed journal may and may not decide.
@Suite struct SearchResumeBudgetTests {
    static let layers = ["a", "b", "c"]
    static func metric(_ plan: [String: Precision]) -> Double {
        90 + Double(plan.values.filter { $0 != .int8 }.count)   // each promoted layer gains a point
    }
    static func search(maxDrop: Double, resumed: [SearchJournal.Trial], _ url: URL) -> PrecisionSearch {
        let identity = SearchJournal.Identity(model: "m", modelFingerprint: "0", data: "d", dataFingerprint: "0", calib: "c",
                                              calibFingerprint: "0", target: .esp32p4, bits: 8, metric: "top1")
        let journal = SearchJournal(identity: identity, maxDrop: maxDrop, relative: false, floatMetric: 93, trials: [])
        let empty = Graph(name: "g", nodes: [], inputs: [], outputs: [], constants: [:], opset: 13)
        return PrecisionSearch(ranking: layers, journal: journal, resumed: resumed, journalURL: url, evaluate: { metric($0) },
                               cost: { PlanCost(plan: $0, layers: [], graph: empty) }, log: { _ in })
    }

    @Test("a journal resumed with a tighter --max-drop judges its trials by the new budget: the same plan as a fresh search")
    func resumeRejudgesTrials() throws {
        let dir = Fixtures.temporaryDirectory()
        // a first search with a loose budget: all-int8 (90) meets a drop of 5
        let loose = try Self.search(maxDrop: 5, resumed: [], dir.appendingPathComponent("loose.json")).run()
        #expect(loose.final?.plan == [:])
        let old = try SearchJournal.read(dir.appendingPathComponent("loose.json")).trials
        #expect(old.first?.passed == true)
        // resumed with a budget of 1.5 (needs 91.5): the int8 trial no longer passes
        let fresh = try Self.search(maxDrop: 1.5, resumed: [], dir.appendingPathComponent("fresh.json")).run()
        let resumedSearch = Self.search(maxDrop: 1.5, resumed: old, dir.appendingPathComponent("resumed.json"))
        let resumed = try resumedSearch.run()
        #expect(resumedSearch.trialsResumed == 1)
        #expect(resumed.final?.plan == fresh.final?.plan)
        #expect(resumed.final.map { Self.metric($0.plan) } ?? 0 >= 91.5)
        #expect(try SearchJournal.read(dir.appendingPathComponent("resumed.json")).trials.first?.passed == false)
    }
}
