import Foundation

/// What a search's trials would otherwise rebuild from the same inputs: a layer's weight codes, their dequantized
/// tensor, its integer kernel with its packed weights. Every trial quantizes the whole model and makes an executor
/// for it, and most layers keep their width from one trial to the next.
///
/// Each entry is kept with the inputs it was made from and handed out only when the new inputs are equal, so a
/// stale key can cost a rebuild but never a wrong value. Arrays the cache itself handed out compare by identity
/// first, which keeps the check cheap along a chain (codes → dequantized tensor → kernel).
public final class RebuildCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: Any] = [:]
    private(set) var hits = 0, misses = 0

    public init() {}

    /// The value made for `key` from equal `inputs`, or `make()`'s, kept for the next call.
    func value<Inputs: Equatable, Value>(_ key: String, inputs: Inputs, make: () throws -> Value) rethrows -> Value {
        lock.lock()
        if let (kept, value) = entries[key] as? (Inputs, Value), kept == inputs {
            hits += 1
            lock.unlock()
            return value
        }
        misses += 1
        lock.unlock()
        let value = try make()
        lock.lock()
        entries[key] = (inputs, value)
        lock.unlock()
        return value
    }
}
