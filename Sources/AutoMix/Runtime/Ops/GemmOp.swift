import Kernels

/// Gemm (`alpha·A'·B' + beta·C`) and MatMul (numpy batching over leading dimensions) through sgemm.
enum GemmOp {
    static func gemm(_ n: Node, a: Tensor, b: Tensor, c: Tensor?, outShape: [Int]) throws -> Tensor {
        let transA = n.int("transA", default: 0) != 0, transB = n.int("transB", default: 0) != 0
        let alpha = n.float("alpha", default: 1), beta = n.float("beta", default: 1)
        let (m, cols) = (outShape[0], outShape[1])
        let k = transA ? a.shape[0] : a.shape[1]
        var out = Tensor(zeros: outShape)
        if let c, beta != 0 {
            let strides = broadcastStrides(c.shape, to: outShape)
            let betaC = c.data.map { $0 * beta }
            betaC.withUnsafeBufferPointer { cp in
                out.data.withUnsafeMutableBufferPointer { op in
                    // out = beta·C broadcast, then sgemm accumulates (beta 1)
                    let zero: [Float] = [0]
                    zero.withUnsafeBufferPointer { zp in
                        broadcastBinary(.add, shape: outShape, cp.baseAddress!, aStrides: strides,
                                        zp.baseAddress!, bStrides: [0, 0], op.baseAddress!)
                    }
                }
            }
        }
        a.data.withUnsafeBufferPointer { ap in
        b.data.withUnsafeBufferPointer { bp in
        out.data.withUnsafeMutableBufferPointer { op in
            sgemm(m: m, n: cols, k: k, a: ap.baseAddress!, lda: a.shape[1], transA: transA,
                  b: bp.baseAddress!, ldb: b.shape[1], transB: transB, c: op.baseAddress!, ldc: cols, alpha: alpha, beta: 1)
        }}}
        return out
    }

    static func matMul(a: Tensor, b: Tensor, outShape: [Int]) -> Tensor {
        let m = a.shape[a.shape.count - 2], k = a.shape[a.shape.count - 1], cols = b.shape[b.shape.count - 1]
        let batchShape = Array(outShape.dropLast(2))
        let batches = batchShape.reduce(1, *)
        let aStrides = broadcastStrides(Array(a.shape.dropLast(2)), to: batchShape).map { $0 * m * k }
        let bStrides = broadcastStrides(Array(b.shape.dropLast(2)), to: batchShape).map { $0 * k * cols }
        var out = Tensor(zeros: outShape)
        a.data.withUnsafeBufferPointer { ap in
        b.data.withUnsafeBufferPointer { bp in
        out.data.withUnsafeMutableBufferPointer { op in
            var index = [Int](repeating: 0, count: batchShape.count)
            for i in 0..<batches {
                var aOff = 0, bOff = 0
                for d in index.indices { aOff += index[d] * aStrides[d]; bOff += index[d] * bStrides[d] }
                sgemm(m: m, n: cols, k: k, a: ap.baseAddress! + aOff, lda: k, b: bp.baseAddress! + bOff, ldb: cols,
                      c: op.baseAddress! + i * m * cols, ldc: cols)
                var d = index.count - 1
                while d >= 0 { index[d] += 1; if index[d] < batchShape[d] { break }; index[d] = 0; d -= 1 }
            }
        }}}
        return out
    }
}

/// For every position of `out` in row-major order, the offset of the element of `shape` broadcast onto it.
func broadcastOffsets(_ shape: [Int], to out: [Int]) -> [Int] {
    let strides = broadcastStrides(shape, to: out)
    let total = out.reduce(1, *)
    var result = [Int](repeating: 0, count: total)
    var index = [Int](repeating: 0, count: out.count)
    for k in 0..<total {
        var off = 0
        for d in out.indices { off += index[d] * strides[d] }
        result[k] = off
        var d = out.count - 1
        while d >= 0 { index[d] += 1; if index[d] < out[d] { break }; index[d] = 0; d -= 1 }
    }
    return result
}

/// Element strides of `shape` read as broadcast to `target` (0 along broadcast dimensions), right-aligned.
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let padded = [Int](repeating: 1, count: target.count - shape.count) + shape
    var strides = [Int](repeating: 0, count: target.count)
    var s = 1
    for d in stride(from: target.count - 1, through: 0, by: -1) {
        strides[d] = padded[d] == 1 && target[d] != 1 ? 0 : s
        s *= padded[d]
    }
    return strides
}
