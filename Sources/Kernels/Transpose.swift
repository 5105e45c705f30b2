/// `dst` = `src` (shape `shape`, row-major) with axes permuted by `perm` (ONNX Transpose).
public func transpose(_ src: UnsafePointer<Float>, shape: [Int], perm: [Int], _ dst: UnsafeMutablePointer<Float>) {
    let rank = shape.count
    var srcStrides = [Int](repeating: 1, count: rank)
    if rank > 1 { for d in stride(from: rank - 2, through: 0, by: -1) { srcStrides[d] = srcStrides[d + 1] * shape[d + 1] } }
    let outShape = perm.map { shape[$0] }
    let strides = perm.map { srcStrides[$0] }   // source stride of each output axis
    let total = outShape.reduce(1, *)
    if total == 0 { return }
    if rank == 0 { dst[0] = src[0]; return }
    var index = [Int](repeating: 0, count: rank)
    var off = 0
    let n = outShape[rank - 1], s = strides[rank - 1]
    var o = dst
    for _ in 0..<(total / n) {
        let p = src + off
        for i in 0..<n { o[i] = p[i * s] }
        o += n
        var d = rank - 2
        while d >= 0 {
            index[d] += 1; off += strides[d]
            if index[d] < outShape[d] { break }
            off -= strides[d] * outShape[d]; index[d] = 0; d -= 1
        }
    }
}
