import Foundation

/// What a search measures: top-1 against the labels, or agreement with the float model's own top-1.
public enum SearchMetric: String, Codable, Sendable, CaseIterable { case top1, agreement }

/// Evaluates the search's plans on the evaluation set, in an order chosen so that a plan that cannot meet the
/// budget shows it early: once the all-int8 plan is measured, the images it got wrong come first (those with the
/// smallest float margin first), then the rest by float margin. A trial stops as soon as even all the images left
/// could not bring it back to `stopBelow`; a trial that can still pass reads every image, so its metric is exact.
public final class TrialEvaluator {
    public let batch: Int
    /// The evaluation set in the current order, and what each image must predict (its label, or the float top-1).
    private(set) var dataset: Dataset
    private(set) var targets: [Int]
    /// Each position's index in the set as given.
    private var position: [Int]
    let original: Dataset
    let originalTargets: [Int]
    let floatMargins: [Float]

    public init(dataset: Dataset, reference: Evaluation, metric: SearchMetric, batch: Int) {
        self.batch = batch
        self.dataset = dataset
        original = dataset
        targets = metric == .top1 ? dataset.labels : reference.predictions.map { $0.first ?? -1 }
        originalTargets = targets
        position = Array(0..<dataset.count)
        floatMargins = reference.margins
    }

    public var count: Int { dataset.count }

    /// The images put first (indices in the set as given), once the images are in the search's order (after the
    /// all-int8 trial, or from a resumed journal).
    public private(set) var missesUsed: [Int]?

    /// The images (their indices in the set as given) that `int8`, an evaluation in the current order, got wrong;
    /// the search journals them so that a resumed search orders its images the same way.
    public func misses(_ int8: [Int]) -> [Int] {
        (0..<min(int8.count, count)).filter { int8[$0] != targets[$0] }.map { position[$0] }.sorted()
    }

    /// Puts first the images in `misses` (indices in the set as given; others are ignored), then every image by
    /// float margin, smallest first.
    public func prioritise(misses: [Int]) {
        let kept = Array(Set(misses.filter { (0..<count).contains($0) })).sorted()
        let wrong = Set(kept)
        let margins = floatMargins.count == count ? floatMargins : Array(repeating: 0, count: count)
        let order = (0..<count).sorted { a, b in
            let wrongA = wrong.contains(a), wrongB = wrong.contains(b)
            return wrongA != wrongB ? wrongA : (margins[a], a) < (margins[b], b)
        }
        dataset = original.reordered(order)
        targets = order.map { originalTargets[$0] }
        position = order
        missesUsed = kept
    }

    /// The metric of `executor`'s predictions; with `stopBelow`, stops at the first chunk after which the metric cannot
    /// reach it. Returns the top-1 class of each image read (in the current order).
    public func measure(_ executor: some BatchExecutor, stopBelow: Double?, progress: Progress? = nil) throws -> (PrecisionSearch.Measure, [Int]) {
        let n = count
        // small chunks while a plan may still be decided early; whole batches otherwise
        let chunk = stopBelow == nil ? batch : min(batch, max(4, n / 16))
        var predictions: [Int] = [], correct = 0
        predictions.reserveCapacity(n)
        while predictions.count < n {
            let range = predictions.count..<min(predictions.count + chunk, n)
            let logits = try executor.run(dataset.batch(range))[0]
            let classes = logits.count / range.count
            for i in 0..<range.count {
                let best = Evaluation.topK(logits.data, offset: i * classes, count: classes, k: 1).first ?? -1
                if best == targets[range.lowerBound + i] { correct += 1 }
                predictions.append(best)
            }
            progress?.update(predictions.count)
            // the most the whole set can give: every image not read yet right
            let best = 100 * Double(correct + n - predictions.count) / Double(n)
            if let stopBelow, predictions.count < n, best < stopBelow - 1e-9 {
                progress?.finish(predictions.count)
                return (.init(metric: best, images: predictions.count, imagesTotal: n), predictions)
            }
        }
        progress?.finish(n)
        return (.init(metric: 100 * Double(correct) / Double(max(n, 1)), images: n, imagesTotal: n), predictions)
    }
}

extension Dataset {
    /// The same images in `order` (indices into this set).
    public func reordered(_ order: [Int]) -> Dataset {
        let per = images.count / Swift.max(count, 1)
        var data = [Float]()
        data.reserveCapacity(order.count * per)
        for i in order { data.append(contentsOf: images.data[(i * per)..<((i + 1) * per)]) }
        return Dataset(images: Tensor(shape: [order.count] + images.shape.dropFirst(), data: data), labels: order.map { labels[$0] },
                       paths: order.map { paths[$0] }, skipped: skipped)
    }
}
