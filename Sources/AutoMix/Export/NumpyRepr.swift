import Foundation

/// numpy's `repr` of a 1-D array (numpy ≥ 1.14 defaults, no summarising), as ESP-PPQ's `.info` prints tensors:
/// integers right-aligned; floats in numpy's positional or scientific form (scientific when the largest magnitude
/// is 1e8 or more, the smallest below 1e-4, or their ratio above 1000), shortest digits up to 8 after the point;
/// lines wrapped at 75 characters under a 7-space hanging indent.
enum NumpyRepr {
    /// `dtype`: the suffix numpy prints ("" for its default dtypes).
    static func integers(_ values: [Int64], dtype: String) -> String {
        // the digits written straight into the text: a String per value was most of a large model's .info time
        let width = values.map(digitCount).max() ?? 0
        return array(count: values.count, width: width, dtype: dtype) { i, out in
            let v = values[i], n = digitCount(v)
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - n))
            if v < 0 { out.append(UInt8(ascii: "-")) }
            // the digits, last first, into their places
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: v < 0 ? n - 1 : n))
            var magnitude = v.magnitude, at = out.count - 1
            repeat { out[at] = UInt8(ascii: "0") + UInt8(magnitude % 10); magnitude /= 10; at -= 1 } while magnitude > 0
        }
    }

    static func floats(_ values: [Float], dtype: String) -> String {
        let words = FloatWords(values).words
        return array(count: words.count, width: words.first?.utf8.count ?? 0, dtype: dtype) { i, out in out.append(contentsOf: words[i].utf8) }
    }

    /// Characters of `v` in decimal, its sign included.
    static func digitCount(_ v: Int64) -> Int {
        var n = v < 0 ? 2 : 1, m = v.magnitude
        while m >= 10 { m /= 10; n += 1 }
        return n
    }

    /// `count` words of one `width`, each appended by `word`, wrapped as numpy wraps them, with the `dtype=` suffix
    /// where numpy adds it.
    static func array(count: Int, width: Int, dtype: String, word: (Int, inout [UInt8]) -> Void) -> String {
        // ASCII throughout: lengths in bytes, kept as the line grows
        let lineWidth = 74, hanging = 7
        var out: [UInt8] = Array("array([".utf8)
        out.reserveCapacity(count * (width + 2) + count / 8 * hanging + 32)
        var length = hanging
        for i in 0..<count {
            if length + width > lineWidth - 1 && length > hanging {
                while out.last == UInt8(ascii: " ") { out.removeLast() }
                out.append(UInt8(ascii: "\n"))
                out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: hanging))
                length = hanging
            }
            word(i, &out)
            length += width
            if i < count - 1 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]); length += 2 }
        }
        out.append(contentsOf: "]".utf8)
        if dtype.isEmpty { return String(decoding: out + Array(")".utf8), as: UTF8.self) }
        out.append(UInt8(ascii: ","))
        let lastLine = out.count - ((out.lastIndex(of: UInt8(ascii: "\n")) ?? -1) + 1)
        let suffix = "dtype=\(dtype))"
        out.append(contentsOf: (lastLine + suffix.utf8.count + 1 > 75 ? "\n      " : " ").utf8)
        out.append(contentsOf: suffix.utf8)
        return String(decoding: out, as: UTF8.self)
    }
}

/// numpy's float words for one array: `FloatingFormat.fillFormat` and `__call__` with `precision=8`,
/// `floatmode='maxprec'`.
struct FloatWords {
    let words: [String]

    /// A finite value's digits as numpy's Dragon4 gives them with `unique=True` and at most 8 digits after the point:
    /// `int` and `frac` of the positional form, or of the mantissa with `exp` in the scientific form.
    struct Parts { var int: String, frac: String, exp: String? }

    init(_ values: [Float]) {
        let finite = values.filter(\.isFinite)
        let magnitudes = finite.filter { $0 != 0 }.map(abs)
        var scientific = false
        if let hi = magnitudes.max(), let lo = magnitudes.min() {
            scientific = hi >= 1e8 || lo < 1e-4 || hi / lo > 1000
        }
        let parts = finite.map { Self.parts($0, scientific: scientific) }
        var padLeft = parts.map(\.int.utf8.count).max() ?? 0
        let fracWidth = parts.map(\.frac.utf8.count).max() ?? 0
        let expWidth = parts.compactMap { $0.exp.map { $0.utf8.count - 1 } }.max() ?? 0   // digits, without the sign
        // the width right of the point that a nan/inf must fill (numpy's pad_right)
        let padRight = scientific ? expWidth + 2 + fracWidth : fracWidth
        if finite.count != values.count {
            let negativeInf = values.contains { $0.isInfinite && $0 < 0 }
            padLeft = Swift.max(padLeft, 3 - (padRight + 1), 3 + (negativeInf ? 1 : 0) - (padRight + 1))
        }
        var k = 0
        words = values.map { v in
            guard v.isFinite else {
                let text = v.isNaN ? "nan" : v < 0 ? "-inf" : "inf"
                return String(repeating: " ", count: Swift.max(padLeft + padRight + 1 - text.utf8.count, 0)) + text
            }
            let p = parts[k]
            k += 1
            guard p.exp != nil else {
                return String(repeating: " ", count: padLeft - p.int.utf8.count) + p.int + "." + p.frac
                    + String(repeating: " ", count: fracWidth - p.frac.utf8.count)
            }
            // numpy's min_digits: a value whose shortest digits are fewer than `fracWidth` gets further digits of its
            // exact value, rounded to nearest even; one that has them all prints them as they are
            func word<S: StringProtocol>(_ int: S, _ frac: S, _ exponent: S) -> String {
                let sign = exponent.first!, digits = exponent.dropFirst()
                return String(repeating: " ", count: padLeft - int.utf8.count) + int + "." + frac
                    + "e" + String(sign) + String(repeating: "0", count: expWidth - digits.count) + digits
            }
            if p.frac.utf8.count == fracWidth, let exp = p.exp { return word(p.int, p.frac, exp) }
            let text = String(format: "%.\(fracWidth)e", Double(v))   // "-6.1507671e-05", "1e-05"
            let e = text.firstIndex(of: "e")!
            let mantissa = text[..<e]
            return word(mantissa.prefix { $0 != "." }, mantissa.drop { $0 != "." }.dropFirst(), text[text.index(after: e)...])
        }
    }

    /// Shortest round-trip digits (Swift's description is the shortest for `Float`, as Dragon4's unique mode),
    /// cut to 8 digits after the point from the exact value when longer (positional only: a float32 never needs more
    /// than 9 significant digits, so a mantissa never more than 8 after its point).
    static func parts(_ v: Float, scientific: Bool) -> Parts {
        let sign = v.sign == .minus ? "-" : ""
        var (digits, exponent) = shortestDigits(abs(v))   // value = 0.digits × 10^exponent
        if scientific {
            let frac = String(digits.dropFirst())
            let e = v == 0 ? 0 : exponent - 1
            return Parts(int: sign + String(digits.prefix(1)), frac: frac,
                         exp: (e < 0 ? "-" : "+") + String(abs(e)).leftPadded(to: 2))
        }
        if digits.count - exponent > 8 { (digits, exponent) = Self.digits(of: String(format: "%.8f", Double(abs(v)))) }
        if v == 0 { return Parts(int: sign + "0", frac: "", exp: nil) }
        if exponent <= 0 {
            return Parts(int: sign + "0", frac: String(repeating: "0", count: -exponent) + digits, exp: nil)
        }
        if digits.count <= exponent {
            return Parts(int: sign + digits + String(repeating: "0", count: exponent - digits.count), frac: "", exp: nil)
        }
        let split = digits.index(digits.startIndex, offsetBy: exponent)
        return Parts(int: sign + String(digits[..<split]), frac: String(digits[split...]), exp: nil)
    }

    /// The significant digits of a positive finite value (no leading or trailing zeros) and the exponent `e` with
    /// `value = 0.digits × 10^e`; zero gives ("0", 1).
    static func shortestDigits(_ v: Float) -> (String, Int) {
        digits(of: v.description)   // "3.25", "1e-05", "6.1035156e-05", "1.2345679e+08"
    }

    /// `shortestDigits` of a non-negative decimal text, as written.
    static func digits(of text: String) -> (String, Int) {
        let (mantissa, exp10): (Substring, Int) = {
            guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) else { return (text[...], 0) }
            return (text[..<e], Int(text[text.index(after: e)...]) ?? 0)
        }()
        let pointAt = mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count
        var all = mantissa.filter { $0 != "." }
        var exponent = pointAt + exp10
        while all.first == "0" { all.removeFirst(); exponent -= 1 }
        while all.last == "0" { all.removeLast() }
        return all.isEmpty ? ("0", 1) : (all, exponent)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: Swift.max(width - utf8.count, 0)) + self }
}
