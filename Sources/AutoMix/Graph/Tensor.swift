/// A dense float tensor, row-major (NCHW for images). The only activation type of the float executor.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not hold \(data.count) values")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) { self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *))) }

    /// A tensor whose values the caller overwrites completely before reading (no zero-fill pass).
    public init(uninitialized shape: [Int]) {
        let n = shape.reduce(1, *)
        self.shape = shape
        data = [Float](unsafeUninitializedCapacity: n) { _, initialized in initialized = n }
    }

    public var count: Int { data.count }

    /// The images of `parts` (each batch first, the same shape past it), in order, as one batch.
    init(concatenatingImages parts: [Tensor]) {
        var data: [Float] = []
        data.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for p in parts { data.append(contentsOf: p.data) }
        self.init(shape: [parts.reduce(0) { $0 + $1.shape[0] }] + parts[0].shape.dropFirst(), data: data)
    }
}

/// A constant: float weights, or the int64 values of shape arithmetic (Reshape targets, axes, pads).
public enum ConstantValue: Sendable, Equatable {
    case float(Tensor)
    case int(shape: [Int], values: [Int64])

    public var shape: [Int] {
        switch self {
        case let .float(t): return t.shape
        case let .int(shape, _): return shape
        }
    }

    public var floatTensor: Tensor {
        switch self {
        case let .float(t): return t
        case let .int(shape, values): return Tensor(shape: shape, data: values.map { Float($0) })
        }
    }

    public var ints: [Int] {
        switch self {
        // int64 "to the end" markers (INT64_MAX) reach here as floats of 2^63; clamp instead of trapping
        case let .float(t): return t.data.map { Int(max(min(Double($0), 9.0e18), -9.0e18)) }
        case let .int(_, values): return values.map { Int($0) }
        }
    }
}

extension Tensor {
    /// The element count of sizes read from a file or the command line, or nil when a size is negative or the count
    /// overflows or exceeds `limit`: checked before anything is allocated for them.
    static func elementCount(_ dims: some Sequence<Int>, atMost limit: Int) -> Int? {
        var count = 1
        for d in dims {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow, p <= limit else { return nil }
            count = p
        }
        return count
    }
}

extension Tensor {
    /// Images `range` of a batch (the first axis), copied.
    public func images(_ range: Range<Int>) -> Tensor {
        let perImage = count / Swift.max(shape.first ?? 1, 1)
        return Tensor(shape: [range.count] + shape.dropFirst(), data: Array(data[(range.lowerBound * perImage)..<(range.upperBound * perImage)]))
    }
}
