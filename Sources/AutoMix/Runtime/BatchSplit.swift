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
///
/// Sub-batches are small (`chunkLimit` images) and handed out one after another: a layer's output for
/// 16 ImageNet images is 77 MB, far beyond the caches, while one image's 5 MB stays in L2/L3
/// (MobileNetV2, batch 32: 151 images/s in two halves, 215 in chunks of two).
enum BatchSplit {
    static func run(_ input: Tensor, fixedBatch: Int?, splittable: Bool, modelName: String, chunkLimit: Int = .max,
                    chunk: @Sendable (Tensor) throws -> [Tensor]) throws -> [Tensor] {
        guard let batch = input.shape.first, batch > 0 else {
            throw AutoMixError.invalidArgument("model '\(modelName)': the input \(input.shape) has no images on its first axis")
        }
        let cores = Parallelism.workers
        let chunks: [Range<Int>]
        if let fixed = fixedBatch {
            // a model made for `fixed` images (a Reshape to [1, C], say) runs them `fixed` at a time, whatever its graph
            guard batch % fixed == 0 else {
                throw AutoMixError.invalidArgument("model '\(modelName)' has a fixed batch of \(fixed); got \(batch) images")
            }
            chunks = stride(from: 0, to: batch, by: fixed).map { $0..<($0 + fixed) }
        } else if !splittable {
            chunks = [0..<batch]
        } else {
            let size = max(1, min(chunkLimit, (batch + cores - 1) / cores))
            chunks = stride(from: 0, to: batch, by: size).map { $0..<min($0 + size, batch) }
        }
        if chunks.count <= 1 {
            openblas_set_num_threads(Int32(cores))
            return try chunk(input)
        }
        openblas_set_num_threads(1)
        let results = ResultBox(count: chunks.count)
        DispatchQueue.concurrentPerform(iterations: min(cores, chunks.count)) { _ in
            while let c = results.claim() {
                let r = chunks[c]
                let part = input.images(r)
                results.set(c, Result { try chunk(part) })
            }
        }
        let parts = try results.values.map { try $0!.get() }
        return (0..<parts[0].count).map { o in Tensor(concatenatingImages: parts.map { $0[o] }) }
    }

    /// Images per sub-batch such that the largest value of one sub-batch stays near `bytes` (at least one image).
    static func chunkLimit(_ graph: Graph, bytes: Int = 8 << 20) -> Int {
        let largest = graph.shapes.values.map { $0.dropFirst().reduce(4) { $0 * max($1, 1) } }.max() ?? 0
        return max(1, bytes / max(largest, 1))
    }
}

/// Collects per-chunk results written from concurrent workers.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<[Tensor], Error>?]
    private var next = 0
    init(count: Int) { values = Array(repeating: nil, count: count) }
    /// The next chunk no worker has taken yet.
    func claim() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < values.count else { return nil }
        next += 1
        return next - 1
    }
    func set(_ i: Int, _ r: Result<[Tensor], Error>) { lock.lock(); values[i] = r; lock.unlock() }
}
