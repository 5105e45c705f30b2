import Foundation

/// ONNX Resize in `nearest` or `linear` mode: output shape and, per axis, the source index (nearest) or the two
/// source indices and weights (linear) of every output index, as ONNX defines them and as ESP-DL computes them.
struct ResizeGeometry {
    var outputShape: [Int]
    var scales: [Double]
    var linear: Bool

    /// One output index of a linear resize: `w0·x[i0] + w1·x[i1]`.
    struct Tap: Equatable {
        var i0: Int, i1: Int, w0: Float, w1: Float
    }

    init(node n: Node, inputShape x: [Int], constant: (String) -> ConstantValue?) throws {
        let mode = n.string("mode", default: "nearest")
        guard mode == "nearest" || mode == "linear" else {
            throw ShapeInference.fail(n, "Resize mode '\(mode)' is not supported (nearest and linear are)")
        }
        linear = mode == "linear"
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

    /// Whether only the spatial axes (2 and 3, or 2 of a 1-D map) change size, as ESP-DL's Resize requires.
    func resizesSpatialOnly(rank: Int) -> Bool { scales.prefix(min(2, rank)).allSatisfy { $0 == 1 } }

    /// ONNX's linear taps along one axis: the source coordinate by `coordinate_transformation_mode`, clamped to the
    /// input, between its floor and the next index.
    static func linearTaps(node n: Node, inSize: Int, outSize: Int, scale: Double) -> [Tap] {
        (0..<outSize).map { o in
            let xo = min(max(sourceCoordinate(node: n, o, inSize: inSize, outSize: outSize, scale: scale), 0), Double(inSize - 1))
            let i0 = Int(xo.rounded(.down)), f = Float(xo - Double(i0))
            return Tap(i0: i0, i1: min(i0 + 1, inSize - 1), w0: 1 - f, w1: f)
        }
    }

    /// ESP-DL's linear taps (`dl_base_resize.cpp`, `linear_coeffs`), in float32: half-pixel unless align_corners, the
    /// scale from the sizes (align_corners: `(out − 1)/(in − 1)`), edges clamped by moving to the last pair.
    static func chipLinearTaps(node n: Node, inSize: Int, outSize: Int, scale: Double) -> [Tap] {
        let alignCorners = n.string("coordinate_transformation_mode", default: "half_pixel") == "align_corners"
        let s: Float = alignCorners ? Float(outSize - 1) / Float(inSize - 1) : Float(scale)
        let inv: Float = 1 / s
        guard inSize > 1 else { return Array(repeating: Tap(i0: 0, i1: 0, w0: 1, w1: 0), count: outSize) }
        return (0..<outSize).map { o in
            var fx: Float = alignCorners ? Float(o) * inv : (Float(o) + 0.5) * inv - 0.5
            var i = Int(fx.rounded(.down))
            fx -= Float(i)
            if i < 0 { i = 0; fx = 0 }
            if i >= inSize - 1 { i = inSize - 2; fx = 1 }
            return Tap(i0: i, i1: i + 1, w0: 1 - fx, w1: fx)
        }
    }

    /// ESP-DL's nearest source index: asymmetric coordinates, floored (`dl_base_resize.cpp`), whatever the file says.
    static func chipNearestIndices(inSize: Int, outSize: Int, scale: Double) -> [Int] {
        let inv: Float = 1 / Float(scale)
        return (0..<outSize).map { min(Int(Float($0) * inv), inSize - 1) }
    }

    /// ONNX's source coordinate of output index `o` by the node's `coordinate_transformation_mode`.
    static func sourceCoordinate(node n: Node, _ o: Int, inSize: Int, outSize: Int, scale: Double) -> Double {
        let xr = Double(o)
        switch n.string("coordinate_transformation_mode", default: "half_pixel") {
        case "asymmetric": return xr / scale
        case "align_corners": return outSize > 1 ? xr * Double(inSize - 1) / Double(outSize - 1) : 0
        case "pytorch_half_pixel": return outSize > 1 ? (xr + 0.5) / scale - 0.5 : 0
        case "tf_half_pixel_for_nn": return (xr + 0.5) / scale
        default: return (xr + 0.5) / scale - 0.5
        }
    }

    /// Source index of each output index along one axis.
    static func sourceIndices(node n: Node, inSize: Int, outSize: Int, scale: Double) -> [Int] {
        let nearest = n.string("nearest_mode", default: "round_prefer_floor")
        return (0..<outSize).map { o in
            let xo = sourceCoordinate(node: n, o, inSize: inSize, outSize: outSize, scale: scale)
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
