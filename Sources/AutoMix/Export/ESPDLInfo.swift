/// The `.info` text ESP-PPQ writes beside an `.espdl` (`helper.printable_graph`,
/// shared/specs/espdl-format-and-quantization.md §5.1): graph in ONNX-printer style, then every initializer,
/// value and test value with numpy's array repr, so the two tools' `.info` files can be diffed.
extension ESPDLFile {
    public func printable() -> String {
        var s = "model properties:\nmetadata_props:\n"
        for k in metadata.keys.sorted() { s += "\(k): \(metadata[k]!)\n" }
        s += "\n\ngraph \(graphName) (\n"
        for v in inputs { s += "  %\(v.name)[\((v.dataType ?? .float).name), \(Self.dimsText(v.shape))], exponents: [\(v.exponent)]\n" }
        s += ") initializers (\n"
        let ordered = initializerOrder.compactMap { initializers[$0] }
        for t in ordered { s += "  %\(t.name)[\(t.dataType.name), \(t.dims.isEmpty ? "scalar" : Self.dimsText(t.dims))]\n" }
        s += ") {\n"
        for n in nodes {
            let attrs = n.attributes.keys.sorted().map { "\($0) = \(Self.attributeText(n.attributes[$0]!))" }.joined(separator: ", ")
            s += "  \(n.outputs.map { "%" + $0 }.joined(separator: ", ")) = \(n.opType)[\(attrs)](\(n.inputs.map { "%" + $0 }.joined(separator: ", ")))\n"
        }
        s += "  return \(outputs.map { "%" + $0.name }.joined(separator: ", "))\n}\n\n\ninitializers value:\n"
        for t in ordered { s += Self.tensorText(t, doc: true) }
        s += "\n\nvalues info:\n"
        for name in valueOrder {
            let v = valueInfo[name]!
            s += "%\(v.name)[\((v.dataType ?? .float).name), \(Self.dimsText(v.shape))], exponents: [\(v.exponent)]\n"
        }
        s += "\n\ntest inputs value:\n"
        for t in testInputs { s += Self.tensorText(t, doc: false) }
        s += "\n\ntest outputs value:\n"
        for t in testOutputs { s += Self.tensorText(t, doc: false) }
        return s
    }

    static func dimsText(_ dims: [Int]) -> String { dims.map(String.init).joined(separator: "x") }

    static func attributeText(_ a: Attribute) -> String {
        switch a {
        case let .int(v): return "\(v)"
        case let .float(v): return Self.shortFloat(Double(v))
        case let .string(v): return "'\(v)'"
        case let .ints(v): return "[\(v.map(String.init).joined(separator: ", "))]"
        case let .floats(v): return "[\(v.map { Self.shortFloat(Double($0)) }.joined(separator: ", "))]"
        case .tensor: return "<Tensor>"
        }
    }

    /// Python's `%.15g`.
    static func shortFloat(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        var t = String(format: "%.15g", v)
        if t.contains("e") { return t }
        while t.hasSuffix("0") { t.removeLast() }
        return t
    }

    static func tensorText(_ t: TensorData, doc: Bool) -> String {
        var s = "%\(t.name), shape: [\(t.dims.map(String.init).joined(separator: ", "))], exponents: [\(t.exponents.map(String.init).joined(separator: ", "))], "
        if doc && !t.doc.isEmpty { s += "docString: b'\(t.doc)', " }
        return s + "\nvalue: " + numpyRepr(t) + "\n"
    }

    /// numpy's `repr` of the raw data including its zero padding to 16 bytes (line width 75, full arrays).
    static func numpyRepr(_ t: TensorData) -> String {
        let padded = (t.count * t.dataType.byteSize + 15) / 16 * 16 / t.dataType.byteSize
        if t.dataType == .float || t.dataType == .double {
            return NumpyRepr.floats(t.floats + [Float](repeating: 0, count: max(padded - t.floats.count, 0)),
                                    dtype: t.dataType == .float ? "float32" : "")
        }
        // numpy omits its default dtypes
        return NumpyRepr.integers(t.ints + [Int64](repeating: 0, count: max(padded - t.ints.count, 0)),
                                  dtype: t.dataType == .int64 ? "" : t.dataType.name.lowercased())
    }
}
