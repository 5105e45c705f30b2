/// A batch's images side by side as the columns of one matrix, for 1×1 Convs on small planes (`ConvOp`,
/// `IntegerConvKernel`): one product over `images·plane` columns reads each weight panel once for all images.
/// Image by image, a 7×7 plane gives each panel 49 columns and the product is bound by reading the weights.
/// Integer sums are exact, so their codes are the image-by-image ones. Float sums are too where a column lands in
/// a whole 48-column tile both ways; a leftover column (49 = 48 + 1) goes to the single-column kernel, which adds
/// in four partial sums, so it can differ in the last bits (the ImageNet ranking moved by at most 3e-5 relative).
enum FoldedImages {
    /// Planes smaller than this (14×14 and below) are folded.
    static let planeLimit = 256

    static func applies(batch: Int, plane: Int) -> Bool { batch > 1 && plane < planeLimit }

    /// The layer's output for `x`: `multiply(cols, n, product)` writes the `[m × n]` product of the folded columns
    /// (`[k × n]`, `n` = images·plane).
    static func run(_ x: Tensor, outShape: [Int],
                    _ multiply: (_ cols: UnsafePointer<Float>, _ n: Int, _ product: UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let (m, n) = (outShape[1], outShape[0] * outShape.dropFirst(2).reduce(1, *))
        let cols = columns(x)
        var product = [Float](unsafeUninitializedCapacity: m * n) { _, c in c = m * n }
        cols.withUnsafeBufferPointer { cp in product.withUnsafeMutableBufferPointer { multiply(cp.baseAddress!, n, $0.baseAddress!) } }
        return unfolded(product, outShape: outShape)
    }

    /// `x` `[images][k][plane]` → `[k][images·plane]`.
    private static func columns(_ x: Tensor) -> [Float] {
        let (images, k) = (x.shape[0], x.shape[1]), plane = x.count / max(images * k, 1), n = images * plane
        var cols = [Float](unsafeUninitializedCapacity: k * n) { _, c in c = k * n }
        x.data.withUnsafeBufferPointer { xp in cols.withUnsafeMutableBufferPointer { cp in
            for img in 0..<images {
                for c in 0..<k {
                    (cp.baseAddress! + c * n + img * plane).update(from: xp.baseAddress! + (img * k + c) * plane, count: plane)
                }
            }
        }}
        return cols
    }

    /// `[m][images·plane]` → a tensor of `outShape` (`[images][m][…plane]`).
    private static func unfolded(_ product: [Float], outShape: [Int]) -> Tensor {
        let (images, m) = (outShape[0], outShape[1]), plane = outShape.dropFirst(2).reduce(1, *), n = images * plane
        var out = Tensor(uninitialized: outShape)
        product.withUnsafeBufferPointer { pp in out.data.withUnsafeMutableBufferPointer { op in
            for img in 0..<images {
                for r in 0..<m {
                    (op.baseAddress! + (img * m + r) * plane).update(from: pp.baseAddress! + r * n + img * plane, count: plane)
                }
            }
        }}
        return out
    }
}
