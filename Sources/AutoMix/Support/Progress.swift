import Foundation

/// The progress of one counted piece of work. On a terminal: a bar with the count, the rate and an ETA, redrawn in
/// place (`calibrate [██████░░░░░░░░░░] 38% 47/124 · 212/s · ETA 0:01`); elsewhere a plain line at each quarter
/// (or none, for `plainLines: false` work that repeats, like each trial's evaluation).
public final class Progress: @unchecked Sendable {
    let label: String
    let total: Int
    let start = Date()
    let console: Console
    let plainLines: Bool
    private var lastPrinted = -1
    private var lastTime = Date.distantPast
    private let lock = NSLock()
    public let enabled: Bool

    public init(_ label: String, total: Int, enabled: Bool = true, plainLines: Bool = true, console: Console = .shared) {
        self.label = label; self.total = total; self.console = console; self.plainLines = plainLines
        self.enabled = enabled && console.verbosity > .quiet
    }

    private var advanced = 0

    /// Counts `n` more done (safe from several threads at once).
    public func advance(by n: Int = 1) {
        lock.lock()
        advanced += n
        let done = advanced
        lock.unlock()
        update(done)
    }

    public func update(_ done: Int) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let step = max(total / 4, 1)
        let due = console.interactive ? now.timeIntervalSince(lastTime) > 0.1 : done / step > lastPrinted / step
        guard due || done == total, done != lastPrinted else { return }
        lastPrinted = done; lastTime = now
        let elapsed = now.timeIntervalSince(start)
        let rate = Double(done) / max(elapsed, 1e-9)
        if console.interactive {
            console.setStatus(Progress.bar(label, done: done, total: total, elapsed: elapsed))
        } else if plainLines {
            console.line(String(format: "%@ %d/%d (%.0f/s)", label, done, total, rate))
        }
    }

    /// The last state; on a terminal the bar of a phase stays on screen, that of repeated work (`plainLines: false`)
    /// is cleared.
    public func finish(_ done: Int) {
        update(done)
        if enabled { console.setStatus(nil, keep: plainLines) }
    }

    /// `label [██████░░░░░░░░░░] 38% 47/124 · 212/s · ETA 0:01` (the ETA from the mean rate so far).
    static func bar(_ label: String, done: Int, total: Int, elapsed: Double, width: Int = 16) -> String {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let rate = Double(done) / max(elapsed, 1e-9)
        var text = "\(label) [\(bar)] \(Int(fraction * 100))% \(done)/\(total) · \(rateText(rate))"
        if done < total, done > 0 { text += " · ETA \(clock(Double(total - done) / rate))" }
        else if done >= total { text += " · \(clock(elapsed))" }
        return text
    }

    static func rateText(_ rate: Double) -> String {
        rate >= 10 ? String(format: "%.0f/s", rate) : rate >= 1 ? String(format: "%.1f/s", rate) : String(format: "%.1f s each", 1 / max(rate, 1e-9))
    }

    /// `m:ss`, or `h:mm:ss` past an hour.
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
