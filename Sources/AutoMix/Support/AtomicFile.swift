import Foundation

/// Writes `data` to a temporary file beside `url`, then renames it over `url`, so a crash or a failed
/// write never leaves a half-written file or destroys the previous one.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let dir = url.deletingLastPathComponent()
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw AutoMixError.writeFailed(path: url.path, reason: "its folder '\(dir.path)' does not exist")
    }
    let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    do {
        try data.write(to: tmp)
        if rename(tmp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw AutoMixError.writeFailed(path: url.path, reason: reason)
        }
    } catch let e as AutoMixError {
        throw e
    } catch {
        try? FileManager.default.removeItem(at: tmp)
        let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
        throw AutoMixError.writeFailed(path: url.path, reason: reason)
    }
}
