import Foundation

/// AutoMix's JSON files (ranking, journal, configs): snake_case keys, sorted and indented, written atomically,
/// each stamped with `schema_version` and `automix_version` (readers ignore the stamp).
public enum JSONFile {
    /// The version of the layout of AutoMix's own JSON files and `--json` objects; raised when a key changes meaning.
    public static let schemaVersion = 1

    static func write(_ value: some Encodable, to url: URL) throws {
        try createFolder(url.deletingLastPathComponent().path)
        try writeAtomically(try encode(value), to: url)
    }

    /// Indented for files; `pretty: false` gives one line (a `--json` object on stdout, as other tools print theirs).
    public static func encode(_ value: some Encodable, pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(Stamped(value: value))
    }

    /// Adds the stamp to an object built as a dictionary (the final config, which merges a config with figures).
    public static func stamp(_ object: [String: Any]) -> [String: Any] {
        object.merging(["schema_version": schemaVersion, "automix_version": AutoMixVersion.string]) { $1 }
    }

    /// The value's own keys and the stamp, in one object.
    struct Stamped<Value: Encodable>: Encodable {
        let value: Value
        enum Key: String, CodingKey { case schemaVersion, automixVersion }

        func encode(to encoder: Encoder) throws {
            try value.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(JSONFile.schemaVersion, forKey: .schemaVersion)
            try c.encode(AutoMixVersion.string, forKey: .automixVersion)
        }
    }

    /// `what` names the kind of file in the error when the contents do not decode.
    static func read<T: Decodable>(_ type: T.Type, from path: String, what: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else { throw AutoMixError.fileNotFound(path: path) }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do { return try decoder.decode(type, from: data) } catch {
            throw AutoMixError.invalidData(path: path, reason: "not \(what): \(error)")
        }
    }
}
