import Foundation

/// A progress line on standard error: redrawn in place on a terminal, a few plain lines otherwise
/// (logs and CI stay short).
public final class Progress: @unchecked Sendable {
    let label: String
    let total: Int
    let start = Date()
    let interactive = isatty(2) != 0
    private var lastPrinted = -1
    private var lastTime = Date.distantPast
    private let lock = NSLock()
    public let enabled: Bool

    public init(_ label: String, total: Int, enabled: Bool = true) {
        self.label = label; self.total = total; self.enabled = enabled
    }

    public func update(_ done: Int) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let step = max(total / 4, 1)
        let due = interactive ? now.timeIntervalSince(lastTime) > 0.1 : done / step > lastPrinted / step
        guard due || done == total, done != lastPrinted else { return }
        lastPrinted = done; lastTime = now
        let rate = Double(done) / max(now.timeIntervalSince(start), 1e-9)
        let line = String(format: "%@ %d/%d (%.0f/s)", label, done, total, rate)
        FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    public func finish(_ done: Int) {
        update(done)
        if enabled && interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
