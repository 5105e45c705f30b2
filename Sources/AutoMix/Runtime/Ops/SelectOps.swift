/// Ops that select, split, spread or average elements along axes: Slice, Split, InsertZeros, ReduceMean. Each is an
/// index map or a sum over one, so the float executor and the integer one (on codes) share them.
enum SelectOps {
    /// The input positions a Slice picks, row-major in the output, and the output shape.
    static func sliceMap(_ n: Node, shape: [Int], starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?) throws -> (map: [Int], shape: [Int]) {
        let axes = axes ?? Array(0..<starts.count), steps = steps ?? [Int](repeating: 1, count: starts.count)
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
            throw ShapeInference.fail(n, "starts, ends, axes and steps differ in length")
        }
        var ranges = shape.map { Array(0..<$0) }
        for (i, a0) in axes.enumerated() {
            let a = try ShapeInference.normalizedAxis(a0, rank: shape.count, node: n)
            let d = shape[a], step = steps[i]
            guard step != 0 else { throw ShapeInference.fail(n, "slice step 0") }
            func clamp(_ v: Int, _ lo: Int, _ hi: Int) -> Int { min(max(v < 0 ? v + d : v, lo), hi) }
            var r: [Int] = []
            if step > 0 {
                var k = clamp(starts[i], 0, d); let e = clamp(ends[i], 0, d)
                while k < e { r.append(k); k += step }
            } else {
                var k = clamp(starts[i], -1, d - 1); let e = clamp(ends[i], -1, d - 1)
                while k > e { r.append(k); k += step }
            }
            ranges[a] = r
        }
        var map: [Int] = [0]
        for (d, r) in ranges.enumerated() {
            let stride = shape[(d + 1)...].reduce(1, *)
            map = map.flatMap { base in r.map { base + $0 * stride } }
        }
        return (map, ranges.map(\.count))
    }

    static func sliceParameters(_ n: Node, _ constant: (String) -> ConstantValue?) throws -> (starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?) {
        func input(_ i: Int) -> [Int]? { i < n.inputs.count ? constant(n.inputs[i])?.ints : nil }
        if let starts = n.ints("starts"), let ends = n.ints("ends") { return (starts, ends, n.ints("axes"), nil) }   // opset < 10
        guard let starts = input(1), let ends = input(2) else { throw ShapeInference.fail(n, "starts and ends must be constants") }
        return (starts, ends, input(3), input(4))
    }

    static func slice(_ n: Node, _ x: Tensor, _ constant: (String) -> ConstantValue?) throws -> Tensor {
        let p = try sliceParameters(n, constant)
        let (map, shape) = try sliceMap(n, shape: x.shape, starts: p.starts, ends: p.ends, axes: p.axes, steps: p.steps)
        return Tensor(shape: shape, data: map.map { x.data[$0] })
    }

    /// Split sizes along the axis: the `split` attribute (opset < 13) or input, else equal parts.
    static func splitSizes(_ n: Node, shape: [Int], _ constant: (String) -> ConstantValue?) throws -> (axis: Int, sizes: [Int]) {
        let axis = try ShapeInference.normalizedAxis(n.int("axis", default: 0), rank: shape.count, node: n)
        let d = shape[axis]
        let given = n.ints("split") ?? (n.inputs.count > 1 ? constant(n.inputs[1])?.ints : nil)
        let parts = n.outputs.count
        let sizes = given ?? (d < 0 ? [Int](repeating: -1, count: parts)
                                    : (0..<parts).map { i in (d + parts - 1) / parts - (i == parts - 1 ? (d + parts - 1) / parts * parts - d : 0) })
        guard sizes.count == parts, d < 0 || sizes.reduce(0, +) == d else {
            throw ShapeInference.fail(n, "split sizes \(sizes) do not divide axis \(axis) of \(shape) into \(parts) outputs")
        }
        return (axis, sizes)
    }

    static func split(_ n: Node, _ x: Tensor, _ constant: (String) -> ConstantValue?) throws -> [Tensor] {
        let (axis, sizes) = try splitSizes(n, shape: x.shape, constant)
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *), d = x.shape[axis]
        var start = 0
        return sizes.map { size in
            var out = x.shape; out[axis] = size
            var data = [Float](); data.reserveCapacity(outer * size * inner)
            for o in 0..<outer { data += x.data[(o * d + start) * inner ..< (o * d + start + size) * inner] }
            start += size
            return Tensor(shape: out, data: data)
        }
    }

    /// InsertZeros on NCHW: pixel (h, w) moves to (h·s_h, w·s_w), zeros between, `output_padding` zeros after.
    static func insertZerosShape(_ n: Node, _ x: [Int]) throws -> [Int] {
        guard x.count >= 3 else { throw ShapeInference.fail(n, "needs a feature map, got \(x)") }
        let spatial = x.count - 2
        let s = n.ints("stride") ?? [1], p = n.ints("output_padding") ?? [0]
        return Array(x.prefix(2)) + (0..<spatial).map { i in
            let d = x[2 + i], st = s.count == 1 ? s[0] : s[i], pad = p.count == 1 ? p[0] : (i < p.count ? p[i] : 0)
            return d < 0 ? -1 : d + (st - 1) * (d - 1) + pad
        }
    }

    static func insertZeros(_ n: Node, _ x: Tensor) throws -> Tensor {
        let shape = try insertZerosShape(n, x.shape)
        guard x.shape.count == 4 else { throw ShapeInference.fail(n, "only 2-D feature maps are supported") }
        let s = n.ints("stride") ?? [1]
        let (sh, sw) = (s[0], s.count > 1 ? s[1] : s[0])
        let (H, W, OH, OW) = (x.shape[2], x.shape[3], shape[2], shape[3])
        var out = Tensor(zeros: shape)
        for plane in 0..<(x.shape[0] * x.shape[1]) {
            for h in 0..<H { for w in 0..<W { out.data[(plane * OH + h * sh) * OW + w * sw] = x.data[(plane * H + h) * W + w] } }
        }
        return out
    }

    /// Reduced axes (attribute before opset 18, input from 18; none = all unless `noop_with_empty_axes`).
    static func reduceAxes(_ n: Node, rank: Int, _ constant: (String) -> ConstantValue?) throws -> [Int] {
        let given = n.ints("axes") ?? (n.inputs.count > 1 ? constant(n.inputs[1])?.ints : nil)
        if given?.isEmpty ?? true { return n.int("noop_with_empty_axes", default: 0) != 0 ? [] : Array(0..<rank) }
        return try given!.map { try ShapeInference.normalizedAxis($0, rank: rank, node: n) }
    }

    static func reduceShape(_ n: Node, _ x: [Int], axes: [Int]) -> [Int] {
        let keep = n.int("keepdims", default: 1) != 0
        return x.enumerated().compactMap { i, d in axes.contains(i) ? (keep ? 1 : nil) : d }
    }

    /// Sums over `axes` in Double (exact for codes), and the number of elements each output sums.
    static func reduceSum(_ x: Tensor, axes: [Int]) -> (sums: [Double], count: Int) {
        let outShape = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        var sums = [Double](repeating: 0, count: outShape.reduce(1, *))
        for (k, off) in broadcastOffsets(outShape, to: x.shape).enumerated() { sums[off] += Double(x.data[k]) }
        return (sums, x.count / max(sums.count, 1))
    }

    static func reduceMean(_ n: Node, _ x: Tensor, _ constant: (String) -> ConstantValue?) throws -> Tensor {
        let axes = try reduceAxes(n, rank: x.shape.count, constant)
        let (sums, count) = reduceSum(x, axes: axes)
        return Tensor(shape: reduceShape(n, x.shape, axes: axes), data: sums.map { Float($0 / Double(count)) })
    }
}
