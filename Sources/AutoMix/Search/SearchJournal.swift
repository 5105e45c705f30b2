import Foundation
import Kernels

/// The search journal `amct_log/accuracy_based_auto_calibration_record.json`: what the search was run on, and one
/// entry per evaluated plan, rewritten atomically after every trial so `--resume` can replay it.
public struct SearchJournal: Sendable, Codable {
    public struct Trial: Sendable, Codable, Equatable {
        public var index: Int
        public var phase: String
        /// Precision of every Conv/Gemm layer that is not int8.
        public var plan: [String: Precision]
        public var metric: Double
        public var drop: Double
        public var passed: Bool
        public var cost: PlanCost
        public var seconds: Double
        /// Images evaluated, of `imagesTotal`; fewer when the trial was stopped early, as soon as the images left could
        /// not bring it within the budget (then `metric` is the best it could have reached, an upper bound). Absent in
        /// journals written before early stopping: every image.
        public var images: Int?
        public var imagesTotal: Int?
        public var complete: Bool { (images ?? 0) >= (imagesTotal ?? 0) }

        public init(index: Int, phase: String, plan: [String: Precision], metric: Double, drop: Double, passed: Bool,
                    cost: PlanCost, seconds: Double, images: Int? = nil, imagesTotal: Int? = nil) {
            self.index = index; self.phase = phase; self.plan = plan; self.metric = metric; self.drop = drop; self.passed = passed
            self.cost = cost; self.seconds = seconds; self.images = images; self.imagesTotal = imagesTotal
        }
    }

    /// Everything a trial's result depends on; a journal with other values is refused on resume.
    public struct Identity: Sendable, Codable, Equatable {
        public var model: String
        public var modelFingerprint: String
        public var data: String
        public var dataFingerprint: String
        public var calib: String
        public var calibFingerprint: String
        public var target: Target
        public var bits: Int
        public var metric: String
        /// The float-graph passes the trials ran on (absent in journals written before they existed: none).
        public var preparation: GraphPreparation?

        public init(model: String, modelFingerprint: String, data: String, dataFingerprint: String, calib: String,
                    calibFingerprint: String, target: Target, bits: Int, metric: String, preparation: GraphPreparation? = nil) {
            self.model = model; self.modelFingerprint = modelFingerprint; self.data = data; self.dataFingerprint = dataFingerprint
            self.calib = calib; self.calibFingerprint = calibFingerprint; self.target = target; self.bits = bits; self.metric = metric
            self.preparation = preparation
        }
    }

    public var identity: Identity
    public var maxDrop: Double
    public var relative: Bool
    public var floatMetric: Double
    public var trials: [Trial]
    /// The trial whose plan the search chose (its index), once the search has ended with a plan.
    @NullKept public var finalTrial: Int? = nil
    /// The evaluation images (indices in the listed order) the all-int8 plan got wrong: they come first in every later
    /// trial, so a resumed search stops failing trials as early as the first run did.
    public var int8Misses: [Int]?

    public init(identity: Identity, maxDrop: Double, relative: Bool, floatMetric: Double, trials: [Trial]) {
        self.identity = identity; self.maxDrop = maxDrop; self.relative = relative; self.floatMetric = floatMetric; self.trials = trials
    }

    public static func key(_ plan: [String: Precision]) -> String {
        plan.filter { $0.value != .int8 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" }.joined(separator: ",")
    }

    public func write(to url: URL) throws { try JSONFile.write(self, to: url) }

    public static func read(_ url: URL) throws -> SearchJournal {
        try JSONFile.read(SearchJournal.self, from: url.path, what: "a search journal")
    }

    /// Refuses to resume a journal made for another model, data set, target or metric, naming the difference.
    private func describe(_ p: GraphPreparation?) -> String {
        guard let p else { return "none" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(p)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }

    /// `dataKnown: false` checks only what is known before any image is decoded (model, target, bits, metric), so
    /// that a journal of another model is refused at once; the full check follows once the images are listed.
    public func checkResumable(_ current: Identity, path: String, dataKnown: Bool = true) throws {
        let mine = identity
        var checks: [(String, String, String)] = [
            ("model", mine.model + " " + mine.modelFingerprint, current.model + " " + current.modelFingerprint),
            ("target", mine.target.rawValue, current.target.rawValue), ("bits", "\(mine.bits)", "\(current.bits)"),
            ("metric", mine.metric, current.metric),
        ]
        if dataKnown {
            checks += [
                ("evaluation data", mine.data + " " + mine.dataFingerprint, current.data + " " + current.dataFingerprint),
                ("calibration data", mine.calib + " " + mine.calibFingerprint, current.calib + " " + current.calibFingerprint),
                ("preparation", describe(mine.preparation), describe(current.preparation)),
            ]
        }
        for (what, was, now) in checks where was != now {
            throw AutoMixError.invalidData(path: path, reason: "the journal was made for \(what) '\(was)', not '\(now)'; "
                + "remove it or run without --resume")
        }
    }
}

/// A cheap fingerprint of a file's bytes or of a list of names (FNV-1a, not a security hash).
public func fingerprint(_ data: Data) -> String {
    String(data.withUnsafeBytes { fnv1a($0) }, radix: 16)
}
