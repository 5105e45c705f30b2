import AutoMix
import Foundation

/// What a search's final config records beside the plan: the model, the calibration set, the evaluation set with
/// its preprocessing, and the .espdl written. With it, `export`, `quantize` and `run` given `--config FINAL` alone
/// rebuild or check the search's own files, and options given on the command line take precedence.
struct RecordedRun {
    var model: String?
    var calib: String?
    var calibLimit: Int?
    var calibBatch: Int?
    var data: [String: Any] = [:]
    var espdl: String?

    /// Empty for a config that is not a search's final config (a hand-written one) or cannot be read (the
    /// config reader reports that).
    init(configPath: String?) {
        guard let configPath, let bytes = FileManager.default.contents(atPath: configPath),
              let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any] else { return }
        model = object["model"] as? String
        let calibration = object["calibration"] as? [String: Any]
        calib = calibration?["path"] as? String
        calibLimit = calibration?["limit"] as? Int
        calibBatch = calibration?["batch"] as? Int
        data = object["data"] as? [String: Any] ?? [:]
        espdl = object["espdl"] as? String
    }

    /// The final config's record of the images and their preprocessing.
    static func record(_ d: DataOptions, path: String) -> [String: Any] {
        ["path": path, "labels": d.labels ?? "sorted", "resize": d.resize ?? "auto", "crop": d.crop as Any, "mean": d.mean, "std": d.std,
         "input_shape": d.inputShape as Any, "skip_bad_images": d.skipBadImages]
    }
}

extension DataOptions {
    /// These options with every one not given taken from a search's record (the evaluation images only when
    /// `includingPath`: a calibration-only command does not need them).
    func filled(from recorded: RecordedRun, includingPath: Bool = true) -> DataOptions {
        var d = self
        let r = recorded.data
        if includingPath, d.data == nil { d.data = r["path"] as? String }
        if d.labels == nil { d.labels = r["labels"] as? String }
        if d.resize == nil { d.resize = r["resize"] as? String }
        if d.crop == nil { d.crop = r["crop"] as? Int }
        if d.mean.isEmpty { d.mean = (r["mean"] as? [Double] ?? []).map(Float.init) }
        if d.std.isEmpty { d.std = (r["std"] as? [Double] ?? []).map(Float.init) }
        if d.inputShape == nil { d.inputShape = r["input_shape"] as? String }
        if !d.skipBadImages { d.skipBadImages = r["skip_bad_images"] as? Bool ?? false }
        return d
    }
}
