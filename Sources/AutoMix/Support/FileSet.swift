import Foundation

/// Writes several files as one unit: every file goes to a temporary name beside its place first; only when all are
/// written are they renamed into place, the files they replace kept aside until the last rename has succeeded. A
/// failure at any point leaves the previous set as it was (and no temporary behind).
public func writeAllAtomically(_ files: [(url: URL, data: Data)]) throws {
    let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    func aside(_ url: URL, _ kind: String) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(kind)-\(tag)")
    }
    for f in files {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: f.url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw AutoMixError.writeFailed(path: f.url.path, reason: "a folder has this name")
        }
        let dir = f.url.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AutoMixError.writeFailed(path: f.url.path, reason: "its folder '\(dir.path)' does not exist")
        }
    }
    var written: [URL] = []
    do {
        for f in files {
            let tmp = aside(f.url, "tmp")
            written.append(tmp)
            try f.data.write(to: tmp)
        }
    } catch {
        for t in written { try? FileManager.default.removeItem(at: t) }
        let path = files[written.count - 1].url.path
        throw AutoMixError.writeFailed(path: path, reason: (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription)
    }
    var replaced: [(old: URL, kept: URL)] = [], placed: [URL] = []
    for f in files {
        let kept = aside(f.url, "old")
        if FileManager.default.fileExists(atPath: f.url.path) {
            guard rename(f.url.path, kept.path) == 0 else { return try undo(f.url, String(cString: strerror(errno))) }
            replaced.append((f.url, kept))
        }
        guard rename(aside(f.url, "tmp").path, f.url.path) == 0 else { return try undo(f.url, String(cString: strerror(errno))) }
        placed.append(f.url)
    }
    for r in replaced { try? FileManager.default.removeItem(at: r.kept) }

    /// Puts every replaced file back, removes what was placed and every temporary, and throws.
    func undo(_ failing: URL, _ reason: String) throws {
        for p in placed { try? FileManager.default.removeItem(at: p) }
        for r in replaced { _ = rename(r.kept.path, r.old.path) }
        for f in files { try? FileManager.default.removeItem(at: aside(f.url, "tmp")) }
        throw AutoMixError.writeFailed(path: failing.path, reason: reason)
    }
}

/// Removes the files of an earlier run that a run ending without an answer would otherwise leave beside its new ones.
public func removeStale(_ urls: [URL]) -> [String] {
    urls.filter { FileManager.default.fileExists(atPath: $0.path) && (try? FileManager.default.removeItem(at: $0)) != nil }.map(\.path)
}

/// Creates `path` (and its parents) as a folder, or says in words why it cannot: a file where a folder should be, a
/// folder that cannot be written.
public func createFolder(_ path: String) throws {
    let fm = FileManager.default
    var isDirectory: ObjCBool = false
    var ancestor = URL(fileURLWithPath: path).standardizedFileURL
    while !fm.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) && ancestor.path != "/" {
        ancestor.deleteLastPathComponent()
    }
    if !isDirectory.boolValue { throw AutoMixError.writeFailed(path: path, reason: "'\(ancestor.path)' is a file, not a folder") }
    guard fm.isWritableFile(atPath: ancestor.path) else { throw AutoMixError.writeFailed(path: path, reason: "'\(ancestor.path)' is not writable") }
    do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw AutoMixError.writeFailed(path: path, reason: (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription)
    }
}
