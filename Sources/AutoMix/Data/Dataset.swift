import Foundation
import Kernels

/// An ImageFolder decoded and preprocessed once into one contiguous NCHW tensor, so evaluation (and
/// every later trial) reads tensors, never files.
public struct Dataset: Sendable {
    public let images: Tensor
    public let labels: [Int]
    public let paths: [String]
    /// Files that failed to decode and were skipped (only with `skipBadImages`).
    public let skipped: [String]

    public var count: Int { labels.count }

    /// Decodes every image on all cores. A bad image is an error naming it unless `skipBadImages`.
    public static func load(_ folder: ImageFolder, preprocessing p: Preprocessing, skipBadImages: Bool = false,
                            limit: Int? = nil, progress: Progress? = nil) throws -> Dataset {
        let samples = Array(folder.samples.prefix(limit ?? Int.max))
        let per = p.valuesPerImage
        var data = [Float](repeating: 0, count: samples.count * per)
        let failures = FailureBox(count: samples.count)
        let done = Counter()
        let workers = Parallelism.workers
        data.withUnsafeMutableBufferPointer { buf in
            let base = SendablePointer(buf.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for i in stride(from: w, to: samples.count, by: workers) {
                    do {
                        let img = try ImageDecoder.decode(file: samples[i].path)
                        p.apply(img, into: base.pointer + i * per)
                    } catch {
                        failures.set(i, error)
                    }
                    let n = done.increment()
                    if w == 0 { progress?.update(n) }
                }
            }
        }
        progress?.finish(samples.count)
        let bad = failures.indices
        if let first = bad.first, !skipBadImages { throw failures.errors[first]! }
        if bad.isEmpty {
            return Dataset(images: Tensor(shape: [samples.count, p.channels, p.crop.h, p.crop.w], data: data),
                           labels: samples.map(\.label), paths: samples.map(\.path), skipped: [])
        }
        let keep = Set(0..<samples.count).subtracting(bad).sorted()
        guard !keep.isEmpty else {
            throw AutoMixError.invalidData(path: folder.root, reason: "none of its \(samples.count) images could be read (the first: \(failures.errors[bad[0]]!))")
        }
        var kept = [Float]()
        kept.reserveCapacity(keep.count * per)
        for i in keep { kept.append(contentsOf: data[(i * per)..<((i + 1) * per)]) }
        return Dataset(images: Tensor(shape: [keep.count, p.channels, p.crop.h, p.crop.w], data: kept),
                       labels: keep.map { samples[$0].label }, paths: keep.map { samples[$0].path },
                       skipped: bad.map { samples[$0].path })
    }

    /// The images in order, in batches of `size` (the last one may be smaller).
    public func batches(of size: Int) -> [Tensor] {
        stride(from: 0, to: count, by: size).map { batch($0..<Swift.min($0 + size, count)) }
    }

    /// Images `range` as one batch tensor.
    public func batch(_ range: Range<Int>) -> Tensor { images.images(range) }
}

struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ p: UnsafeMutablePointer<Float>) { pointer = p }
}

final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var errors: [Error?]
    init(count: Int) { errors = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ e: Error) { lock.lock(); errors[i] = e; lock.unlock() }
    var indices: [Int] { errors.indices.filter { errors[$0] != nil } }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
