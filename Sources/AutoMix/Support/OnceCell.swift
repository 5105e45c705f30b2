import Foundation

/// A value made on first use, once, whichever thread asks first (executors run layers on every core).
final class OnceCell<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var made: Value?
    private let make: () -> Value

    init(_ make: @escaping () -> Value) { self.make = make }

    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        if let made { return made }
        let v = make()
        made = v
        return v
    }
}
