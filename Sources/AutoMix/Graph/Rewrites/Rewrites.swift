extension Graph {
    /// Loads an ONNX model and applies, in this fixed order, the rewrites every later stage expects:
    /// constant folding, opset-form normalisation, Identity removal, Pad-into-Conv, BatchNorm folding,
    /// bias-Add fusion, isolated BatchNorm as a depthwise Conv (or Mul + Add), x·Sigmoid(x) as Swish, Clip normalisation; then infers every shape.
    public static func prepared(onnx path: String) throws -> Graph {
        try prepared(onnx: path, inputShape: nil)
    }

    public func rewritten() throws -> Graph {
        var g = try ConvTransposeDecompose.apply(try ConstantFold.apply(self))
        g = try NormalizeForms.apply(g)
        g = IdentityRemoval.apply(g)
        g = PadIntoConv.apply(g)
        g = BatchNormFold.apply(g)
        try g.inferShapes()   // BiasAddFusion needs the rank of MatMul inputs
        g = BiasAddFusion.apply(g)
        g = IsolatedBatchNorm.apply(g)
        g = SwishFusion.apply(g)
        g = GeluFusion.apply(g)
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

extension Graph {
    /// Loads an ONNX model whose input may have unknown sizes (`[-1,3,?,?]` from paddle2onnx, say), fixes them from
    /// `inputShape` (the batch stays dynamic), then rewrites. Without `inputShape` an unknown size other than the
    /// batch is an error that says how to give it.
    public static func prepared(onnx path: String, inputShape: [Int]?) throws -> Graph {
        var g = try load(onnx: path)
        try g.fixInputShape(inputShape)
        return try g.rewritten()
    }

    mutating func fixInputShape(_ given: [Int]?) throws {
        guard var input = inputs.first else { return }
        let known = input.shape
        guard let given else {
            if known.dropFirst().contains(where: { $0 < 1 }) {
                let shown = known.enumerated().map { $0.offset == 0 ? "N" : $0.element < 1 ? "?" : String($0.element) }.joined(separator: ",")
                throw AutoMixError.invalidArgument("model input '\(input.name)' is [\(shown)]: give its size with --input-shape (e.g. 1,\(known.count > 1 && known[1] > 0 ? String(known[1]) : "3"),H,W)")
            }
            return
        }
        let text = given.map(String.init).joined(separator: ",")
        guard given.count == known.count else {
            throw AutoMixError.invalidArgument("--input-shape \(text) does not fit model input '\(input.name)' of rank \(known.count)")
        }
        guard given.dropFirst().allSatisfy({ $0 > 0 && $0 <= 1 << 16 }),
              Tensor.elementCount(given.dropFirst(), atMost: Graph.maxInputElements) != nil else {
            throw AutoMixError.invalidArgument("--input-shape \(text): sizes must be 1…65536 and at most \(Graph.maxInputElements) values per image")
        }
        for (i, (k, v)) in zip(known, given).enumerated() where i > 0 && k > 0 && k != v {
            throw AutoMixError.invalidArgument("--input-shape gives \(v) for axis \(i) of model input '\(input.name)', which is fixed at \(k)")
        }
        input.shape = [-1] + given.dropFirst()
        inputs[0] = input
    }
}
