import AutoMix
import Foundation

// The `--json` object of each command (`search` has the library's `SearchReport`): one typed value per command,
// snake_case keys, every key present on every path (`NullKept`: null where a path does not measure it).

/// `eval`: the float model's accuracy.
struct EvalReport: Codable {
    var model: String
    var top1: Double
    var top5: Double
    var images: Int
    var imagesPerS: Double
    var skipped: Int
    @NullKept var predictions: String? = nil
}

/// `quantize`: one plan calibrated; with `--data` its accuracy beside float, with `--compare-espdl` its exponents.
struct QuantizeReport: Codable {
    var model: String
    var target: String
    var bits: Int
    var calibrationImages: Int
    /// The plan's cost under the chip cost model (the README's table).
    var cost: PlanCost
    @NullKept var exponentsCompared: Int? = nil
    @NullKept var exponentsEqual: Int? = nil
    @NullKept var preparedFloatTop1: Double? = nil
    @NullKept var preparedFloatAgreement: Double? = nil
    @NullKept var floatTop1: Double? = nil
    @NullKept var top1: Double? = nil
    @NullKept var top5: Double? = nil
    @NullKept var drop: Double? = nil
    @NullKept var agreement: Double? = nil
    @NullKept var images: Int? = nil
    @NullKept var imagesPerS: Double? = nil
    @NullKept var predictions: String? = nil
}

/// `export`: the files written.
struct ExportReport: Codable {
    var model: String
    var target: String
    var files: [String]
}

/// `analyse`: the ranking written and the time of each measure.
struct AnalyseReport: Codable {
    var model: String
    var target: String
    var layers: Int
    var images: Int
    var ranking: String
    var mostSensitive: String
    var graphwiseSeconds: Double
    var layerwiseSeconds: Double
    var cosineSeconds: Double
    var seconds: Double
}

/// `bench`: float speed; with `--target` the exact integer executor's, with `--analyse` the analysis time.
struct BenchReport: Codable {
    var model: String
    var batch: Int
    var imagesPerS: Double
    var medianMs: Double
    var runs: Int
    var gemm: String
    var openblasCore: String
    @NullKept var target: String? = nil
    @NullKept var bits: Int? = nil
    @NullKept var quantizedImagesPerS: Double? = nil
    @NullKept var quantizedMedianMs: Double? = nil
    @NullKept var quantizedVsFloat: Double? = nil
    @NullKept var calibrationSeconds: Double? = nil
    @NullKept var graphwiseSeconds: Double? = nil
    @NullKept var layerwiseSeconds: Double? = nil
    @NullKept var analyseSeconds: Double? = nil
    @NullKept var analysedLayers: Int? = nil
}

/// `run`: the embedded test values checked (or a fixed-input run where there are none), and with `--data` accuracy.
struct RunReport: Codable {
    var model: String
    var target: String
    @NullKept var data: String? = nil
    @NullKept var testMaxAbsDiff: Int64? = nil
    @NullKept var testMaxAbsDiffExact: Int64? = nil
    @NullKept var testPassed: Bool? = nil
    var fixedInputRun = false
    @NullKept var fixedInputSeconds: Double? = nil
    @NullKept var top1: Double? = nil
    @NullKept var top5: Double? = nil
    @NullKept var images: Int? = nil
    @NullKept var imagesPerS: Double? = nil
    @NullKept var skipped: Int? = nil
    @NullKept var predictions: String? = nil
}

/// Any command's error under `--json`.
struct ErrorReport: Codable {
    var error: String
    var exitCode: Int
}
