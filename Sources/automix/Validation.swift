import ArgumentParser

/// Option checks every command runs in `validate()`, before any file is read: each names the option it refuses.
enum Check {
    static func positive(_ value: Int?, _ option: String) throws {
        if let value, value < 1 { throw ValidationError("\(option) must be at least 1, not \(value)") }
    }
    /// A batch of images held at once: at least 1, at most 4096 (beyond that the memory, not the speed, grows).
    static func batch(_ value: Int?, _ option: String) throws {
        try positive(value, option)
        if let value, value > 4096 { throw ValidationError("\(option) must be at most 4096, not \(value)") }
    }
    static func finite(_ values: [Float], _ option: String) throws {
        if let bad = values.first(where: { !$0.isFinite }) { throw ValidationError("\(option) must be a finite number, not \(bad)") }
    }
    static func finite(_ value: Double, _ option: String) throws {
        guard value.isFinite else { throw ValidationError("\(option) must be a finite number, not \(value)") }
    }
}

extension DataOptions {
    func validate() throws {
        try Check.positive(limit, "--limit")
        try Check.positive(crop, "--crop")
        if let n = Int(resize ?? ""), !(1...16384).contains(n) { throw ValidationError("--resize must be 1…16384, 'none' or 'auto', not \(n)") }
        try Check.finite(mean, "--mean")
        try Check.finite(std, "--std")
        if std.contains(0) { throw ValidationError("--std must not be 0") }
    }
}

extension PreparationOptions {
    func validate() throws {
        if let level = equalizationLevel, level != 1 && level != 2 {
            throw ValidationError("--equalization-level must be 1 or 2, not \(level)")
        }
        try Check.positive(equalizationIterations, "--equalization-iterations")
        try Check.finite([equalizationThreshold ?? 0, splitThreshold], "--equalization-threshold/--split-threshold")
    }
}
