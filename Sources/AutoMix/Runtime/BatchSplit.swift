import COpenBLAS
import Foundation

/// Anything that maps a batch of preprocessed images (NCHW) to the graph outputs: the float and the
/// integer executor, so evaluation, analysis and search treat them alike.
public protocol BatchExecutor: Sendable {
    var graph: Graph { get }
    func run(_ input: Tensor) throws -> [Tensor]
}

/// Splits a batch over the cores, each worker running whole sub-batches with single-threaded OpenBLAS, which
/// keeps both cores busy without synchronisation between layers (shared/specs/swift-stack-recipes.md §2).
enum BatchSplit {
    static func run(_ input: Tensor, fixedBatch: Int?, splittable: Bool, modelName: String,
                    chunk: @Sendable (Tensor) throws -> [Tensor]) throws -> [Tensor] {
        let batch = input.shape[0]
        let perImage = input.count / max(batch, 1)
        let chunks: [Range<Int>]
        if !splittable {
            chunks = [0..<batch]
        } else if let fixed = fixedBatch {
            guard batch % fixed == 0 else {
                throw AutoMixError.invalidArgument("model '\(modelName)' has a fixed batch of \(fixed); got \(batch) images")
            }
            chunks = stride(from: 0, to: batch, by: fixed).map { $0..<($0 + fixed) }
        } else {
            let workers = min(batch, ProcessInfo.processInfo.activeProcessorCount)
            chunks = (0..<workers).map { w in (batch * w / workers)..<(batch * (w + 1) / workers) }
        }
        if chunks.count <= 1 {
            openblas_set_num_threads(Int32(ProcessInfo.processInfo.activeProcessorCount))
            return try chunk(input)
        }
        openblas_set_num_threads(1)
        let results = ResultBox(count: chunks.count)
        DispatchQueue.concurrentPerform(iterations: chunks.count) { c in
            let r = chunks[c]
            let part = Tensor(shape: [r.count] + input.shape.dropFirst(),
                              data: Array(input.data[(r.lowerBound * perImage)..<(r.upperBound * perImage)]))
            results.set(c, Result { try chunk(part) })
        }
        let parts = try results.values.map { try $0!.get() }
        return (0..<parts[0].count).map { o in
            let first = parts[0][o]
            var data: [Float] = []
            data.reserveCapacity(first.count * chunks.count)
            for p in parts { data.append(contentsOf: p[o].data) }
            return Tensor(shape: [batch] + first.shape.dropFirst(), data: data)
        }
    }
}

/// Collects per-chunk results written from concurrent workers.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<[Tensor], Error>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[Tensor], Error>) { lock.lock(); values[i] = r; lock.unlock() }
}
