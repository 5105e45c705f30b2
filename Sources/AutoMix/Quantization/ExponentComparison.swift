/// Tensor-by-tensor comparison of the exponents of two quantized models of the same network (by value and
/// initializer name), e.g. AutoMix's calibration against an ESP-PPQ export.
public struct ExponentComparison: Sendable {
    public struct Mismatch: Sendable {
        public var name: String
        public var ours: [Int]
        public var theirs: [Int]
    }
    public var compared: Int
    public var mismatches: [Mismatch]
    public var matched: Int { compared - mismatches.count }
    public var fraction: Double { compared == 0 ? 0 : Double(matched) / Double(compared) }

    /// Activations present in both (the other side's conversion nodes excluded) and every weight tensor in both.
    public init(_ ours: QuantizedModel, _ theirs: QuantizedModel) {
        var compared = 0
        var mismatches: [Mismatch] = []
        for (name, q) in theirs.formats.sorted(by: { $0.key < $1.key }) {
            guard let o = ours.formats[name] else { continue }
            compared += 1
            if o != q { mismatches.append(Mismatch(name: name, ours: [o.exponent], theirs: [q.exponent])) }
        }
        for (name, p) in theirs.parameters.sorted(by: { $0.key < $1.key }) where p.bits <= 16 {
            guard let o = ours.parameters[name] else { continue }
            compared += 1
            if o.exponents != p.exponents { mismatches.append(Mismatch(name: name, ours: o.exponents, theirs: p.exponents)) }
        }
        self.compared = compared
        self.mismatches = mismatches
    }
}
