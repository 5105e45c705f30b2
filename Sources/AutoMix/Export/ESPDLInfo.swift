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
        let words: [String]
        let dtype: String
        if t.dataType == .float || t.dataType == .double {
            let values = t.floats + [Float](repeating: 0, count: max(padded - t.floats.count, 0))
            // numpy: integer parts right-aligned, fractions (shortest repr, "" for whole numbers) left-aligned
            let parts = values.map { v -> (String, String) in
                if v == v.rounded() && abs(v) < 1e16 { return ("\(Int64(v))", "") }
                let text = "\(v)", dot = text.firstIndex(of: ".")!
                return (String(text[..<dot]), String(text[text.index(after: dot)...]))
            }
            let intWidth = parts.map(\.0.utf8.count).max() ?? 0, fracWidth = parts.map(\.1.utf8.count).max() ?? 0
            words = parts.map { i, f in
                String(repeating: " ", count: intWidth - i.utf8.count) + i + "." + f + String(repeating: " ", count: fracWidth - f.utf8.count)
            }
            dtype = t.dataType == .float ? "float32" : ""
        } else {
            let values = t.ints + [Int64](repeating: 0, count: max(padded - t.ints.count, 0))
            let raw = values.map(String.init)
            let width = raw.map(\.utf8.count).max() ?? 0
            words = raw.map { String(repeating: " ", count: width - $0.utf8.count) + $0 }
            dtype = t.dataType == .int64 ? "" : t.dataType.name.lowercased()   // numpy omits its default dtypes
        }
        // the text is ASCII: lengths are counted in bytes as the line grows (`String.count` walks the characters)
        let lineWidth = 74, hanging = "       "
        var s = "", line = hanging, length = hanging.utf8.count
        for (i, w) in words.enumerated() {
            let width = w.utf8.count
            if length + width > lineWidth - 1 && length > hanging.utf8.count {
                while line.hasSuffix(" ") { line.removeLast() }
                s += line + "\n"
                line = hanging
                length = hanging.utf8.count
            }
            line += w
            length += width
            if i < words.count - 1 { line += ", "; length += 2 }
        }
        s += line
        if dtype.isEmpty { return "array([" + s.dropFirst(hanging.count) + "])" }
        var text = "array([" + s.dropFirst(hanging.count) + "],"
        let dtypeText = "dtype=\(dtype))"
        let lastLine = text.count - ((text.lastIndex(of: "\n").map { text.distance(from: text.startIndex, to: $0) + 1 }) ?? 0)
        text += lastLine + dtypeText.count + 1 > 75 ? "\n      " + dtypeText : " " + dtypeText
        return text
    }
}
