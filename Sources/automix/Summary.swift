import Foundation

/// Human summaries: aligned label columns, long lists wrapped under their label, one path per line.
enum Summary {
    /// `label` in a column of `labelWidth`, then `text` wrapped at `width` with continuation lines aligned under it.
    static func field(_ label: String, _ text: String, labelWidth: Int = 10, width: Int = 100) -> String {
        let indent = String(repeating: " ", count: labelWidth)
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !line.isEmpty, line.count + 1 + word.count > width - labelWidth {
                lines.append(line); line = String(word)
            } else {
                line += (line.isEmpty ? "" : " ") + word
            }
        }
        lines.append(line)
        let head = label.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
        return lines.enumerated().map { ($0.offset == 0 ? head : indent) + $0.element }.joined(separator: "\n")
    }

    /// "none", or "3 layers: a, b, c".
    static func layerList(_ names: [String]) -> String {
        names.isEmpty ? "none" : "\(names.count) layer\(names.count == 1 ? "" : "s"): " + names.joined(separator: ", ")
    }

    /// One written file per line, what it is on the left.
    static func files(_ rows: [(what: String, path: String)]) -> String {
        let w = (rows.map(\.what.count).max() ?? 0) + 2
        return rows.map { "  " + $0.what.padding(toLength: w, withPad: " ", startingAt: 0) + display($0.path) }.joined(separator: "\n")
    }

    /// What a model file is, from its name.
    static func kind(of path: String) -> String {
        if path.hasSuffix(".espdl") { return "for the chip" }
        if path.hasSuffix(".info") { return "its listing" }
        if path.hasSuffix("_deploy_model.onnx") { return "deploy ONNX" }
        if path.hasSuffix("_fake_quant_model.onnx") { return "fake-quant ONNX" }
        if path.hasSuffix(".json") { return "its exponents" }
        if path.hasSuffix(".cpp") || path.hasSuffix(".hpp") { return "C++" }
        return "file"
    }

    /// A path as the user would type it: relative to the working folder when it is inside it.
    static func display(_ path: String) -> String {
        let here = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(here) ? String(path.dropFirst(here.count)) : path
    }

    /// Quotes a path for a shell command when it needs it.
    static func shell(_ s: String) -> String {
        let s = display(s)
        return s.allSatisfy { $0.isLetter || $0.isNumber || "/._-+=:,".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
