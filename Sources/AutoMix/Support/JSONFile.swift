import Foundation

/// AutoMix's JSON files (ranking, journal, configs): snake_case keys, sorted and indented, written atomically.
enum JSONFile {
    static func write(_ value: some Encodable, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try createFolder(url.deletingLastPathComponent().path)
        try writeAtomically(try encoder.encode(value), to: url)
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
