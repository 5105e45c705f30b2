import Kernels

enum PoolOps {
    static func pool(_ n: Node, _ x: Tensor, outShape: [Int]) throws -> Tensor {
        guard let k = n.ints("kernel_shape"), k.count == 2 else { throw ShapeInference.fail(n, "kernel_shape must be 2-D") }
        let g = try ConvGeometry(node: n, inH: x.shape[2], inW: x.shape[3], kernel: (k[0], k[1]),
                                 ceilMode: n.int("ceil_mode", default: 0) != 0)
        let win = g.window(inH: x.shape[2], inW: x.shape[3])
        let planes = x.shape[0] * x.shape[1]
        var out = Tensor(zeros: outShape)
        x.data.withUnsafeBufferPointer { xp in out.data.withUnsafeMutableBufferPointer { op in
            if n.op == .maxPool {
                maxPool2d(xp.baseAddress!, channels: planes, win, op.baseAddress!)
            } else {
                avgPool2d(xp.baseAddress!, channels: planes, win, padBottom: g.pads.b, padRight: g.pads.r,
                          countIncludePad: n.int("count_include_pad", default: 0) != 0, op.baseAddress!)
            }
        }}
        return out
    }

    static func globalAverage(_ x: Tensor, outShape: [Int]) -> Tensor {
        let planes = x.shape.prefix(2).reduce(1, *)
        var out = Tensor(zeros: outShape)
        x.data.withUnsafeBufferPointer { xp in out.data.withUnsafeMutableBufferPointer { op in
            globalAveragePool(xp.baseAddress!, planes: planes, planeSize: x.count / max(planes, 1), op.baseAddress!)
        }}
        return out
    }
}
