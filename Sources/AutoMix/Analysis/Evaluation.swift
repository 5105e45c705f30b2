import Foundation

/// Top-1/top-5 accuracy of a model over a decoded dataset.
public struct Evaluation: Sendable, Codable {
    public var top1: Double
    public var top5: Double
    public var images: Int
    /// Inference throughput only (decoding is done once beforehand and excluded).
    public var imagesPerSecond: Double
    public var seconds: Double
    /// The five best classes of each image, best first.
    public var predictions: [[Int]]
    /// Each image's best logit minus its second best (how far it is from changing its top-1 class).
    public var margins: [Float] = []

    /// Runs `executor` over `dataset` in batches of `batchSize`.
    public static func run(_ executor: some BatchExecutor, on dataset: Dataset, batchSize: Int, progress: Progress? = nil) throws -> Evaluation {
        var predictions: [[Int]] = [], margins: [Float] = []
        predictions.reserveCapacity(dataset.count)
        margins.reserveCapacity(dataset.count)
        let start = Date()
        var done = 0
        while done < dataset.count {
            let range = done..<min(done + batchSize, dataset.count)
            let logits = try executor.run(dataset.batch(range))[0]
            let classes = logits.count / range.count
            for i in 0..<range.count {
                let best = topK(logits.data, offset: i * classes, count: classes, k: 5)
                predictions.append(best)
                margins.append(best.count > 1 ? logits.data[i * classes + best[0]] - logits.data[i * classes + best[1]] : .infinity)
            }
            done = range.upperBound
            progress?.update(done)
        }
        progress?.finish(done)
        let seconds = Date().timeIntervalSince(start)
        var top1 = 0, top5 = 0
        for (p, label) in zip(predictions, dataset.labels) {
            if p.first == label { top1 += 1 }
            if p.contains(label) { top5 += 1 }
        }
        let n = Double(max(dataset.count, 1))
        return Evaluation(top1: 100 * Double(top1) / n, top5: 100 * Double(top5) / n, images: dataset.count,
                          imagesPerSecond: Double(dataset.count) / max(seconds, 1e-9), seconds: seconds, predictions: predictions,
                          margins: margins)
    }

    /// Indices of the `k` largest values, largest first; ties go to the lower index (as numpy's argmax).
    static func topK(_ x: [Float], offset: Int, count: Int, k: Int) -> [Int] {
        var best: [Int] = []
        for i in 0..<count {
            let v = x[offset + i]
            var pos = best.count
            while pos > 0 && x[offset + best[pos - 1]] < v { pos -= 1 }
            if pos < k { best.insert(i, at: pos); if best.count > k { best.removeLast() } }
        }
        return best
    }

    /// `file,top1,label,top5` rows (top5 space-separated), one per image.
    /// Percent of images whose top-1 class equals `other`'s (e.g. the float model's).
    public func agreement(with other: Evaluation) -> Double {
        100 * Double(zip(predictions, other.predictions).filter { $0.first == $1.first }.count) / Double(max(predictions.count, 1))
    }

    public func predictionsCSV(paths: [String], labels: [Int]) -> String {
        var out = "file,top1,label,top5\n"
        for (i, p) in predictions.enumerated() {
            let file = paths[i].contains(",") || paths[i].contains("\"") ? "\"" + paths[i].replacingOccurrences(of: "\"", with: "\"\"") + "\"" : paths[i]
            out += "\(file),\(p.first ?? -1),\(labels[i]),\(p.map(String.init).joined(separator: " "))\n"
        }
        return out
    }
}

extension Graph {
    /// Channels, height and width of the (single) image input.
    public var imageInput: (channels: Int, height: Int, width: Int)? {
        guard let s = inputs.first?.shape, s.count == 4, s[1] > 0, s[2] > 0, s[3] > 0 else { return nil }
        return (s[1], s[2], s[3])
    }
}
