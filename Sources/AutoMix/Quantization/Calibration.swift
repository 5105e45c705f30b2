import Foundation
import Kernels

/// Statistics of every value of the float graph over a calibration set: one pass for ranges (and percentiles),
/// one for |x| histograms. Any plan's exponents are derived from these without running the model again,
/// so a whole search calibrates once.
public struct Calibration: Sendable, Codable {
    public var statistics: [String: ValueStatistics]
    public var images: Int
    public var batchSize: Int
    public var seconds: Double

    public static func run(_ executor: FloatExecutor, on data: Dataset, batchSize: Int = 32, percentiles: Bool = false,
                           progress: Progress? = nil) throws -> Calibration {
        let batches = stride(from: 0, to: data.count, by: batchSize).map { data.batch($0..<min($0 + batchSize, data.count)) }
        return try run(executor, batches: batches, percentiles: percentiles, progress: progress)
    }

    /// Calibrates `graph` for `config` as ESP-PPQ does: on the graph with its weights already quantized at the
    /// config's default width, in the given batches (their order and size matter to per-batch percentiles). The
    /// result serves every plan of the config's target: exponents are derived from it without running the model again.
    public static func run(for graph: Graph, config: QuantizationConfig, batches: [Tensor], progress: Progress? = nil) throws -> Calibration {
        let executor = try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: config))
        // per-batch percentiles cost a selection per tensor and batch: collected only when an observer asks for them
        let observers = [config.activationObserver8, config.activationObserver16] + Array(config.observerOverrides.values)
        return try run(executor, batches: batches, percentiles: observers.contains(.percentile), progress: progress)
    }

    /// Calibrates on explicit batches (ESP-PPQ's percentiles are per batch, so their order and size matter).
    public static func run(_ executor: FloatExecutor, batches: [Tensor], percentiles: Bool = false,
                           progress: Progress? = nil) throws -> Calibration {
        let start = Date()
        let collector = Collector()
        guard !batches.isEmpty else { throw AutoMixError.invalidArgument("the calibration set is empty") }
        var done = 0
        for b in batches {
            _ = try executor.run(b, split: !percentiles) { name, t in collector.observeRange(name, t, percentiles: percentiles) }
            done += b.shape[0]
            progress?.update(done)
        }
        let tops = collector.ranges()
        for b in batches {
            _ = try executor.run(b) { name, t in
                if let top = tops[name] { collector.observeHistogram(name, t, top: top) }
            }
            done += b.shape[0]
            progress?.update(done)
        }
        progress?.finish(done)
        let images = batches.reduce(0) { $0 + $1.shape[0] }
        return Calibration(statistics: collector.statistics, images: images, batchSize: batches[0].shape[0],
                           seconds: Date().timeIntervalSince(start))
    }

    public func statistics(of value: String) throws -> ValueStatistics {
        guard let s = statistics[value] else { throw AutoMixError.invalidArgument("value '\(value)' was not seen during calibration") }
        return s
    }

    /// `value`'s exponent under `observer` at `bits`, computed once per calibration: a search builds a model per
    /// trial from the same statistics, and the KL observer's search over the histogram is most of that build.
    public func exponent(of value: String, _ observer: Observer, bits: Int) throws -> Int {
        let key = ExponentCache.Key(value: value, observer: observer, bits: bits)
        if let e = exponents.get(key) { return e }
        let e = try statistics(of: value).exponent(observer, bits: bits)
        exponents.set(key, e)
        return e
    }
    let exponents = ExponentCache()
    enum CodingKeys: String, CodingKey { case statistics, images, batchSize, seconds }

    /// Exponents already computed from these statistics (shared by every copy of the calibration, never encoded).
    final class ExponentCache: @unchecked Sendable {
        struct Key: Hashable { let value: String, observer: Observer, bits: Int }
        private let lock = NSLock()
        private var values: [Key: Int] = [:]
        func get(_ k: Key) -> Int? { lock.lock(); defer { lock.unlock() }; return values[k] }
        func set(_ k: Key, _ e: Int) { lock.lock(); values[k] = e; lock.unlock() }
    }

    /// Thread-safe accumulation: the heavy per-tensor work happens outside the lock.
    final class Collector: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var statistics: [String: ValueStatistics] = [:]

        func observeRange(_ name: String, _ t: Tensor, percentiles: Bool) {
            let (lo, hi) = t.data.withUnsafeBufferPointer { minMax($0.baseAddress!, count: t.count) }
            var pLow = 0.0, pHigh = 0.0
            if percentiles {
                // torch.kthvalue positions of ESP-PPQ's percentile observer
                let n = t.count, q = ValueStatistics.percentile
                let minIndex = Int(Double(n) * (1 - q)) + 1, maxIndex = Swift.min(Int(Double(n) * q), n - 1) + 1
                var copy = t.data
                copy.withUnsafeMutableBufferPointer {
                    pLow = Double(kthSmallest($0.baseAddress!, count: n, k: minIndex))
                    pHigh = Double(kthSmallest($0.baseAddress!, count: n, k: maxIndex))
                }
            }
            lock.lock()
            var s = statistics[name] ?? ValueStatistics()
            s.min = Swift.min(s.min, lo)
            s.max = Swift.max(s.max, hi)
            if percentiles { s.percentileLow += pLow; s.percentileHigh += pHigh; s.batches += 1 }
            statistics[name] = s
            lock.unlock()
        }

        func ranges() -> [String: Float] {
            lock.lock(); defer { lock.unlock() }
            return statistics.mapValues(\.absmax)
        }

        func observeHistogram(_ name: String, _ t: Tensor, top: Float) {
            var h = [Int](repeating: 0, count: ValueStatistics.histogramBins)
            t.data.withUnsafeBufferPointer { x in h.withUnsafeMutableBufferPointer { hp in
                accumulateAbsHistogram(x.baseAddress!, count: t.count, top: top, bins: hp.count, hp.baseAddress!)
            }}
            lock.lock()
            var s = statistics.removeValue(forKey: name)!
            if s.histogram.isEmpty {
                s.histogram = h
            } else {
                s.histogram.withUnsafeMutableBufferPointer { a in h.withUnsafeBufferPointer { b in
                    addCounts(a.baseAddress!, b.baseAddress!, count: b.count)
                }}
            }
            statistics[name] = s
            lock.unlock()
        }
    }
}
