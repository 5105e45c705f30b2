extension Graph {
    /// Loads an ONNX model and applies, in this fixed order, the rewrites every later stage expects:
    /// constant folding, opset-form normalisation, Identity removal, Pad-into-Conv, BatchNorm folding,
    /// bias-Add fusion, Clip normalisation; then infers every shape.
    public static func prepared(onnx path: String) throws -> Graph {
        try load(onnx: path).rewritten()
    }

    public func rewritten() throws -> Graph {
        var g = try ConstantFold.apply(self)
        g = try NormalizeForms.apply(g)
        g = IdentityRemoval.apply(g)
        g = PadIntoConv.apply(g)
        g = BatchNormFold.apply(g)
        try g.inferShapes()   // BiasAddFusion needs the rank of MatMul inputs
        g = BiasAddFusion.apply(g)
        g = ClipNormalize.apply(g)
        try g.inferShapes()
        return g
    }
}

extension Graph {
    /// Applies `step` until it reports no change; `step` makes at most one rewrite per call, so the
    /// producer/consumer maps it computes are never stale.
    mutating func rewriteUntilStable(_ step: (inout Graph) -> Bool) {
        while step(&self) {}
    }
}
