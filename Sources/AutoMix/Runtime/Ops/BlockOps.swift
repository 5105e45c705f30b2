/// DepthToSpace and SpaceToDepth: channels moved to `blocksize × blocksize` spatial blocks and back, on NCHW.
/// An index map, so the float executor and the integer one (on codes) share it.
enum BlockOps {
    /// The input position each output element reads, row-major in the output.
    /// DepthToSpace DCR: `y[oc, h·b+i, w·b+j] = x[(i·b+j)·C' + oc, h, w]`; CRD: `x[oc·b² + i·b + j, h, w]`.
    /// SpaceToDepth (ONNX, "DCR"): `y[(i·b+j)·C + c, h, w] = x[c, h·b+i, w·b+j]`; "CRD" (torch's pixel_unshuffle, which
    /// ESP-DL's kernel computes): `y[c·b² + i·b + j, h, w]`.
    static func map(_ n: Node, input x: [Int], output y: [Int]) -> [Int] {
        let b = n.int("blocksize", default: 1), crd = n.string("mode", default: "DCR") == "CRD"
        let (batch, c, h, w) = (y[0], y[1], y[2], y[3])
        var map = [Int](repeating: 0, count: y.reduce(1, *))
        var o = 0
        for bn in 0..<batch { for oc in 0..<c { for oh in 0..<h { for ow in 0..<w {
            let (ic, ih, iw): (Int, Int, Int)
            if n.op == .depthToSpace {
                let (i, j) = (oh % b, ow % b)
                (ic, ih, iw) = (crd ? oc * b * b + i * b + j : (i * b + j) * c + oc, oh / b, ow / b)
            } else {
                let channels = x[1], block = crd ? oc % (b * b) : oc / channels
                (ic, ih, iw) = (crd ? oc / (b * b) : oc % channels, oh * b + block / b, ow * b + block % b)
            }
            map[o] = ((bn * x[1] + ic) * x[2] + ih) * x[3] + iw
            o += 1
        }}}}
        return map
    }

    static func shape(_ n: Node, _ x: [Int]) throws -> [Int] {
        let b = n.int("blocksize", default: 0)
        guard x.count == 4, b > 0 else { throw ShapeInference.fail(n, "needs a 4-D input and a positive blocksize") }
        if n.op == .depthToSpace {
            guard x[1] < 0 || x[1] % (b * b) == 0 else { throw ShapeInference.fail(n, "\(x[1]) channels do not divide into \(b)×\(b) blocks") }
            return [x[0], x[1] < 0 ? -1 : x[1] / (b * b), x[2] < 0 ? -1 : x[2] * b, x[3] < 0 ? -1 : x[3] * b]
        }
        guard x[2] < 0 || x[2] % b == 0, x[3] < 0 || x[3] % b == 0 else { throw ShapeInference.fail(n, "\(x[2])×\(x[3]) does not divide into \(b)×\(b) blocks") }
        return [x[0], x[1] < 0 ? -1 : x[1] * b * b, x[2] < 0 ? -1 : x[2] / b, x[3] < 0 ? -1 : x[3] / b]
    }

    static func run(_ n: Node, _ x: Tensor) throws -> Tensor {
        let shape = try shape(n, x.shape)
        return Tensor(shape: shape, data: map(n, input: x.shape, output: shape).map { x.data[$0] })
    }
}
