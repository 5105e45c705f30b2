import Foundation

/// How folder names become class indices.
public enum LabelRule: Sendable, Equatable {
    /// Index in the sorted list of folder names (torchvision's ImageFolder).
    case sorted
    /// The folder name read as an integer (e.g. `0243` is class 243).
    case numeric
    /// A class-list file: one folder name per line, in index order (e.g. ImageNet wnids).
    case file(String)
}

/// `root/<class>/**/*.{jpg,jpeg,png}` with a class index per image, in torchvision's order.
public struct ImageFolder: Sendable {
    public struct Sample: Sendable { public var path: String; public var label: Int }
    public let root: String
    public let samples: [Sample]
    public let classCount: Int

    static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    public init(root: String, labels: LabelRule = .sorted) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir) else { throw AutoMixError.fileNotFound(path: root) }
        guard isDir.boolValue else { throw AutoMixError.invalidData(path: root, reason: "is not a folder") }
        let folders = try fm.contentsOfDirectory(atPath: root).filter { name in
            var d: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: root + "/" + name, isDirectory: &d) && d.boolValue
        }.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        guard !folders.isEmpty else {
            throw AutoMixError.invalidData(path: root, reason: "holds no class folders (expected root/<class>/<image>)")
        }
        var index: [String: Int] = [:]
        switch labels {
        case .sorted:
            for (i, f) in folders.enumerated() { index[f] = i }
        case .numeric:
            for f in folders {
                guard let v = Int(f), v >= 0 else {
                    throw AutoMixError.invalidData(path: root + "/" + f, reason: "folder name is not a class index (--labels numeric)")
                }
                index[f] = v
            }
        case let .file(list):
            guard let text = try? String(contentsOfFile: list, encoding: .utf8) else { throw AutoMixError.fileNotFound(path: list) }
            let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for (i, n) in names.enumerated() where index[n] == nil { index[n] = i }
            if let unknown = folders.first(where: { index[$0] == nil }) {
                throw AutoMixError.invalidData(path: root + "/" + unknown, reason: "folder is not listed in the class list \(list)")
            }
        }
        var samples: [Sample] = []
        for f in folders {
            let dir = root + "/" + f
            guard let walker = fm.enumerator(atPath: dir) else { continue }
            var files: [String] = []
            for case let rel as String in walker where Self.extensions.contains((rel as NSString).pathExtension.lowercased()) {
                files.append(dir + "/" + rel)
            }
            files.sort { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            samples += files.map { Sample(path: $0, label: index[f]!) }
        }
        guard !samples.isEmpty else {
            throw AutoMixError.invalidData(path: root, reason: "holds no .jpg, .jpeg or .png images")
        }
        self.root = root
        self.samples = samples
        classCount = (index.values.max() ?? 0) + 1
    }
}
