import Foundation

/// ONNX Resize in `nearest` mode: output shape and, per axis, the source index of every output index.
struct ResizeGeometry {
    var outputShape: [Int]
    var scales: [Double]

    init(node n: Node, inputShape x: [Int], constant: (String) -> ConstantValue?) throws {
        let mode = n.string("mode", default: "nearest")
        guard mode == "nearest" else {
            throw ShapeInference.fail(n, "Resize mode '\(mode)' is not supported (only nearest)")
        }
        guard n.ints("axes") == nil else { throw ShapeInference.fail(n, "Resize with 'axes' is not supported") }
        // opset 10: (X, scales); opset 11+: (X, roi, scales, sizes)
        let scalesName = n.inputs.count == 2 ? n.inputs[1] : (n.inputs.count > 2 ? n.inputs[2] : "")
        let sizesName = n.inputs.count > 3 ? n.inputs[3] : ""
        if let sizes = constant(sizesName)?.ints, !sizes.isEmpty {
            guard sizes.count == x.count else { throw ShapeInference.fail(n, "Resize sizes \(sizes) do not match rank \(x.count)") }
            outputShape = sizes
            scales = zip(sizes, x).map { $1 > 0 ? Double($0) / Double($1) : 1 }
            // a dynamic batch keeps its size
            for i in x.indices where x[i] < 0 { outputShape[i] = -1; scales[i] = 1 }
        } else if let s = constant(scalesName)?.floatTensor.data, !s.isEmpty {
            guard s.count == x.count else { throw ShapeInference.fail(n, "Resize scales \(s) do not match rank \(x.count)") }
            scales = s.map { Double($0) }
            outputShape = zip(x, s).map { d, sc in d < 0 ? -1 : Int((Double(d) * Double(sc)).rounded(.down)) }
        } else {
            throw ShapeInference.fail(n, "Resize needs constant scales or sizes")
        }
    }

    /// Source index of each output index along one axis.
    static func sourceIndices(node n: Node, inSize: Int, outSize: Int, scale: Double) -> [Int] {
        let ctm = n.string("coordinate_transformation_mode", default: "half_pixel")
        let nearest = n.string("nearest_mode", default: "round_prefer_floor")
        return (0..<outSize).map { o in
            let xr = Double(o)
            let xo: Double
            switch ctm {
            case "asymmetric": xo = xr / scale
            case "align_corners": xo = outSize > 1 ? xr * Double(inSize - 1) / Double(outSize - 1) : 0
            case "pytorch_half_pixel": xo = outSize > 1 ? (xr + 0.5) / scale - 0.5 : 0
            case "tf_half_pixel_for_nn": xo = (xr + 0.5) / scale
            default: xo = (xr + 0.5) / scale - 0.5
            }
            var i: Double
            switch nearest {
            case "floor": i = xo.rounded(.down)
            case "ceil": i = xo.rounded(.up)
            case "round_prefer_ceil": i = (xo - xo.rounded(.down) == 0.5) ? xo.rounded(.up) : xo.rounded()
            default: i = (xo - xo.rounded(.down) == 0.5) ? xo.rounded(.down) : xo.rounded()
            }
            return min(max(Int(i), 0), inSize - 1)
        }
    }
}
