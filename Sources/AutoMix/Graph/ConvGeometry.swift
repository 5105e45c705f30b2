import Kernels

/// Padding and output size of a 2-D convolution or pooling window, resolving ONNX `auto_pad`.
struct ConvGeometry {
    var kernel: (h: Int, w: Int)
    var strides: (h: Int, w: Int)
    var dilations: (h: Int, w: Int)
    /// top, left, bottom, right
    var pads: (t: Int, l: Int, b: Int, r: Int)
    var out: (h: Int, w: Int)

    init(node: Node, inH: Int, inW: Int, kernel: (Int, Int), ceilMode: Bool = false) throws {
        let s = node.ints("strides") ?? [1, 1]
        let d = node.ints("dilations") ?? [1, 1]
        guard s.count == 2, d.count == 2 else {
            throw AutoMixError.invalidNode(node: node.name, op: node.op.rawValue, reason: "only 2-D windows are supported")
        }
        let limit = 1 << 16
        guard (s + d + [kernel.0, kernel.1]).allSatisfy({ (1...limit).contains($0) }), inH >= 0, inW >= 0 else {
            throw AutoMixError.invalidNode(node: node.name, op: node.op.rawValue,
                                           reason: "strides \(s), dilations \(d) and kernel \(kernel) must be 1…\(limit)")
        }
        self.kernel = kernel
        strides = (s[0], s[1]); dilations = (d[0], d[1])
        let ekH = (kernel.0 - 1) * d[0] + 1, ekW = (kernel.1 - 1) * d[1] + 1
        let autoPad = node.string("auto_pad", default: "NOTSET")
        switch autoPad {
        case "SAME_UPPER", "SAME_LOWER":
            func same(_ n: Int, _ s: Int, _ ek: Int) -> (Int, Int, Int) {
                let out = (n + s - 1) / s
                let total = max(0, (out - 1) * s + ek - n)
                let small = total / 2, large = total - small
                return autoPad == "SAME_UPPER" ? (small, large, out) : (large, small, out)
            }
            let (t, b, oh) = same(inH, s[0], ekH), (l, r, ow) = same(inW, s[1], ekW)
            pads = (t, l, b, r); out = (oh, ow)
            return
        case "VALID":
            pads = (0, 0, 0, 0)
        case "NOTSET":
            let p = node.ints("pads") ?? [0, 0, 0, 0]
            guard p.count == 4 else {
                throw AutoMixError.invalidNode(node: node.name, op: node.op.rawValue, reason: "pads \(p) are not 2-D")
            }
            guard p.allSatisfy({ (0...(1 << 16)).contains($0) }) else {
                throw AutoMixError.invalidNode(node: node.name, op: node.op.rawValue, reason: "pads \(p) must be 0…65536")
            }
            pads = (p[0], p[1], p[2], p[3])
        default:
            throw AutoMixError.invalidNode(node: node.name, op: node.op.rawValue, reason: "auto_pad '\(autoPad)' is unknown")
        }
        func size(_ n: Int, _ p0: Int, _ p1: Int, _ ek: Int, _ s: Int) -> Int {
            let span = n + p0 + p1 - ek
            if ceilMode {
                var o = (span + s - 1) / s + 1
                if (o - 1) * s >= n + p0 { o -= 1 }   // the last window must start inside the input or left pad
                return o
            }
            return span / s + 1
        }
        out = (size(inH, pads.t, pads.b, ekH, s[0]), size(inW, pads.l, pads.r, ekW, s[1]))
        guard out.h > 0, out.w > 0 else {
            throw AutoMixError.invalidNode(node: node.name, op: node.op.rawValue, reason: "input \(inH)×\(inW) is smaller than the window")
        }
    }

    /// A 1×1 window of stride 1 without padding: the input planes are already the matrix product's `B` (no im2col).
    var readsPlanesDirectly: Bool { kernel == (1, 1) && strides == (1, 1) && pads == (0, 0, 0, 0) }

    func window(inH: Int, inW: Int) -> Window2D {
        Window2D(inH: inH, inW: inW, outH: out.h, outW: out.w, kH: kernel.h, kW: kernel.w, strideH: strides.h, strideW: strides.w,
                 padTop: pads.t, padLeft: pads.l, dilationH: dilations.h, dilationW: dilations.w)
    }
}
