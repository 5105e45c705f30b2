import Foundation

/// An optional that encodes as JSON `null` when absent, where the synthesized encoder would leave its key out, so
/// an object has the same keys on every path (a search that met no budget has no final metric, but the key).
@propertyWrapper
public struct NullKept<Value: Codable & Sendable>: Codable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? nil : try c.decode(Value.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let wrappedValue { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A missing key reads as absent, as it would for a plain optional.
    public func decode<T>(_ type: NullKept<T>.Type, forKey key: Key) throws -> NullKept<T> {
        try decodeIfPresent(type, forKey: key) ?? NullKept(wrappedValue: nil)
    }
}
