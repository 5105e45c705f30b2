import Foundation

/// One search per output folder: a lock file in each folder a search writes, holding the owner's pid, taken with
/// O_EXCL. A lock whose process is gone (kill -9, a crash) is stale and taken over; a live one is a clear error
/// naming the process. Released by `release()` (the command defers it).
public final class SearchLock {
    public static let fileName = ".automix-search.lock"
    private var held: [String] = []

    /// Takes the lock in every folder (creating the folders), or none of them.
    public init(folders: [String], command: String) throws {
        for folder in Set(folders).sorted() {
            do {
                try take(folder, command: command)
            } catch {
                release()
                throw error
            }
        }
    }

    private func take(_ folder: String, command: String) throws {
        try createFolder(folder)
        let path = URL(fileURLWithPath: folder).appendingPathComponent(Self.fileName).path
        let record = "\(getpid()) \(ISO8601DateFormatter().string(from: Date())) \(command)\n"
        for _ in 0..<2 {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if fd >= 0 {
                let ok = record.withCString { write(fd, $0, strlen($0)) } >= 0
                close(fd)
                guard ok else { unlink(path); throw AutoMixError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
                held.append(path)
                return
            }
            guard errno == EEXIST else { throw AutoMixError.writeFailed(path: folder, reason: String(cString: strerror(errno))) }
            let owner = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if let pid = Int32(owner.split(separator: " ").first ?? ""), pid > 0, kill(pid, 0) == 0 || errno == EPERM {
                throw AutoMixError.invalidArgument("folder '\(folder)' is in use by another automix search (pid \(pid), "
                    + "since \(owner.split(separator: " ").dropFirst().first ?? "?")); wait for it, or give other --results/--log-dir/--tmp-dir")
            }
            unlink(path)   // its process is gone: a stale lock
        }
        throw AutoMixError.writeFailed(path: path, reason: "could not take the search lock")
    }

    public func release() {
        for p in held { unlink(p) }
        held = []
    }

    deinit { release() }
}
