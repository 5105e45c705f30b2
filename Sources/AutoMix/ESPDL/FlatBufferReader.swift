import Foundation

/// A bounds-checked view of one FlatBuffers table: enough of the format to read the `.espdl` schema
/// (shared/specs/espdl-format-and-quantization.md §1.3) without the unmirrored FlatBuffers runtime.
/// Every read checks its range, so a truncated or corrupt file fails with a message instead of a crash.
struct FlatBufferTable {
    let bytes: [UInt8]
    let position: Int

    struct Corrupt: Error { let reason: String }

    static func root(of bytes: [UInt8]) throws -> FlatBufferTable {
        let probe = FlatBufferTable(bytes: bytes, position: 0)
        return FlatBufferTable(bytes: bytes, position: Int(try probe.u32(at: 0)))
    }

    func check(_ offset: Int, _ size: Int) throws {
        guard offset >= 0, size >= 0, offset + size <= bytes.count else {
            throw Corrupt(reason: "offset \(offset) (+\(size) bytes) lies outside the \(bytes.count)-byte payload")
        }
    }

    func u32(at offset: Int) throws -> UInt32 {
        try check(offset, 4)
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }
    func u16(at offset: Int) throws -> Int {
        try check(offset, 2)
        return Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
    }
    func i64(at offset: Int) throws -> Int64 {
        Int64(bitPattern: UInt64(try u32(at: offset)) | UInt64(try u32(at: offset + 4)) << 32)
    }

    /// Absolute position of field `slot` (4, 6, 8, …), or nil when absent.
    func field(_ slot: Int) throws -> Int? {
        let vtable = position - Int(Int32(bitPattern: try u32(at: position)))
        let vtableSize = try u16(at: vtable)
        guard slot + 2 <= vtableSize else { return nil }
        let o = try u16(at: vtable + slot)
        return o == 0 ? nil : position + o
    }

    func int32(_ slot: Int, default d: Int32 = 0) throws -> Int32 {
        guard let p = try field(slot) else { return d }
        return Int32(bitPattern: try u32(at: p))
    }
    func int64(_ slot: Int, default d: Int64 = 0) throws -> Int64 {
        guard let p = try field(slot) else { return d }
        return try i64(at: p)
    }
    func uint8(_ slot: Int) throws -> UInt8 {
        guard let p = try field(slot) else { return 0 }
        try check(p, 1)
        return bytes[p]
    }
    func float32(_ slot: Int) throws -> Float {
        guard let p = try field(slot) else { return 0 }
        return Float(bitPattern: try u32(at: p))
    }

    private func target(_ slot: Int) throws -> Int? {
        guard let p = try field(slot) else { return nil }
        return p + Int(try u32(at: p))
    }

    func table(_ slot: Int) throws -> FlatBufferTable? {
        try target(slot).map { FlatBufferTable(bytes: bytes, position: $0) }
    }

    func string(_ slot: Int) throws -> String? {
        guard let p = try target(slot) else { return nil }
        let n = Int(try u32(at: p))
        try check(p + 4, n)
        return String(decoding: bytes[(p + 4)..<(p + 4 + n)], as: UTF8.self)
    }

    /// Element count and the position of the first element of a vector field.
    func vector(_ slot: Int, elementSize: Int) throws -> (count: Int, start: Int)? {
        guard let p = try target(slot) else { return nil }
        let n = Int(try u32(at: p))
        try check(p + 4, n * elementSize)
        return (n, p + 4)
    }

    func tables(_ slot: Int) throws -> [FlatBufferTable] {
        guard let (n, start) = try vector(slot, elementSize: 4) else { return [] }
        return try (0..<n).map { i in
            let p = start + 4 * i
            return FlatBufferTable(bytes: bytes, position: p + Int(try u32(at: p)))
        }
    }

    func strings(_ slot: Int) throws -> [String] {
        guard let (n, start) = try vector(slot, elementSize: 4) else { return [] }
        return try (0..<n).map { i in
            let p = start + 4 * i
            let s = p + Int(try u32(at: p))
            let len = Int(try u32(at: s))
            try check(s + 4, len)
            return String(decoding: bytes[(s + 4)..<(s + 4 + len)], as: UTF8.self)
        }
    }

    func int64s(_ slot: Int) throws -> [Int64] {
        guard let (n, start) = try vector(slot, elementSize: 8) else { return [] }
        return try (0..<n).map { try i64(at: start + 8 * $0) }
    }

    func float32s(_ slot: Int) throws -> [Float] {
        guard let (n, start) = try vector(slot, elementSize: 4) else { return [] }
        return try (0..<n).map { Float(bitPattern: try u32(at: start + 4 * $0)) }
    }

    func byteSlice(_ slot: Int, elementSize: Int) throws -> ArraySlice<UInt8> {
        guard let (n, start) = try vector(slot, elementSize: elementSize) else { return [] }
        return bytes[start..<(start + n * elementSize)]
    }
}
