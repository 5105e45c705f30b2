import Foundation

/// How much AutoMix says on standard error (`--quiet`, default, `--verbose`). Errors and warnings always show.
public enum Verbosity: Int, Comparable, Sendable {
    case quiet, normal, verbose
    public static func < (a: Verbosity, b: Verbosity) -> Bool { a.rawValue < b.rawValue }
}

/// Standard error, shared by log lines and progress. On a terminal one status line (a bar, the rate, an ETA, and
/// the search's context in front) is redrawn below the log lines; elsewhere (a file, CI) only plain lines appear,
/// so logs stay short and greppable.
public final class Console: @unchecked Sendable {
    public static let shared = Console()

    public var verbosity: Verbosity = .normal
    public let interactive = isatty(2) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    private let lock = NSLock()
    private var status = ""
    private var context = ""

    /// A line for the log (kept above the status line), shown when `verbosity` reaches `level` (`.quiet`: always).
    public func line(_ message: String, level: Verbosity = .normal) {
        guard verbosity >= level else { return }
        lock.lock(); defer { lock.unlock() }
        write((interactive && !shownStatus.isEmpty ? "\r\u{1B}[K" : "") + message + "\n")
        drawStatus()
    }

    /// What the long work is doing now, shown in front of every progress bar (the search's trial and best plan).
    public func setContext(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        context = text
        drawStatus()
    }

    /// Replaces the status line (terminal only); `nil` ends it, kept on screen (`keep`) or erased.
    func setStatus(_ text: String?, keep: Bool = false) {
        guard interactive, verbosity > .quiet else { return }
        lock.lock(); defer { lock.unlock() }
        if let text { status = text; drawStatus(); return }
        if !shownStatus.isEmpty { write(keep ? "\n" : "\r\u{1B}[K") }
        status = ""; shownStatus = ""
    }

    private var shownStatus = ""

    private func drawStatus() {
        guard interactive, verbosity > .quiet else { return }
        // the bar and its ETA matter most: the context gives way first
        let columns = max(20, Console.columns() - 1)
        var context = self.context
        if !context.isEmpty, !status.isEmpty, context.count + 3 + status.count > columns {
            let room = columns - status.count - 4
            context = room >= 12 ? String(context.prefix(room)) + "…" : ""
        }
        let text = [context, status].filter { !$0.isEmpty }.joined(separator: " · ")
        let fitted = String(text.prefix(columns))
        if fitted.isEmpty && shownStatus.isEmpty { return }
        write("\r\u{1B}[K" + fitted)
        shownStatus = fitted
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

    /// The terminal's width, so that a status line never wraps (a wrapped line cannot be redrawn in place).
    static func columns() -> Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }
}
