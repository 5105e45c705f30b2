/// A minimal FlatBuffers builder (no FlatBuffers Swift runtime is available here). Like the reference builders it
/// writes back to front, so every offset points forward to an object written earlier; bytes are kept reversed
/// so that prepending is an append. Positions are "offsets from the end of the buffer", which stay valid as the
/// buffer grows; the finished buffer's length is a multiple of `minAlign`, so an offset aligned from the end is
/// aligned from the start too (shared/specs/espdl-format-and-quantization.md §1.3, "Binary encoding rules").
struct FlatBufferBuilder {
    typealias Ref = Int
    private var reversed: [UInt8] = []
    private var minAlign = 1
    private var tableStart = 0
    private var fields: [(slot: Int, at: Int)] = []

    init(capacity: Int = 1 << 16) { reversed.reserveCapacity(capacity) }

    var offset: Int { reversed.count }

    /// Pads so that after `additional` more bytes the position is a multiple of `size`.
    mutating func prep(_ size: Int, _ additional: Int) {
        minAlign = max(minAlign, size)
        let pad = (size - (reversed.count + additional) % size) % size
        reversed.append(contentsOf: repeatElement(0, count: pad))
    }

    private mutating func putLE(_ v: UInt64, bytes n: Int) {
        for j in stride(from: n - 1, through: 0, by: -1) { reversed.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(j)))) }
    }

    mutating func scalar(_ v: UInt64, bytes n: Int) { prep(n, 0); putLE(v, bytes: n) }

    /// A uoffset to `ref`: the distance from the field to the object, forward.
    mutating func uoffset(_ ref: Ref) {
        prep(4, 0)
        putLE(UInt64(offset + 4 - ref), bytes: 4)
    }

    mutating func string(_ s: String) -> Ref {
        let utf8 = Array(s.utf8)
        prep(4, utf8.count + 1)
        reversed.append(0)
        reversed.append(contentsOf: utf8.reversed())
        putLE(UInt64(utf8.count), bytes: 4)
        return offset
    }

    /// A vector of `count` elements of `elementSize` bytes, aligned to `alignment`; `body` writes them last first.
    mutating func vector(count: Int, elementSize: Int, alignment: Int, _ body: (inout FlatBufferBuilder) -> Void) -> Ref {
        prep(4, count * elementSize)
        prep(max(alignment, elementSize), count * elementSize)
        body(&self)
        putLE(UInt64(count), bytes: 4)
        return offset
    }

    mutating func offsets(_ refs: [Ref]) -> Ref {
        vector(count: refs.count, elementSize: 4, alignment: 4) { b in for r in refs.reversed() { b.uoffset(r) } }
    }

    mutating func strings(_ items: [String]) -> Ref { offsets(items.map { string($0) }) }

    mutating func int64s(_ items: [Int64]) -> Ref {
        vector(count: items.count, elementSize: 8, alignment: 8) { b in
            for v in items.reversed() { b.putLE(UInt64(bitPattern: v), bytes: 8) }
        }
    }

    mutating func floats(_ items: [Float]) -> Ref {
        vector(count: items.count, elementSize: 4, alignment: 4) { b in for v in items.reversed() { b.putLE(UInt64(v.bitPattern), bytes: 4) } }
    }

    mutating func bytes(_ items: [UInt8]) -> Ref {
        vector(count: items.count, elementSize: 1, alignment: 1) { b in b.reversed.append(contentsOf: items.reversed()) }
    }

    /// `[AlignedBytes]`: the bytes zero-padded to whole 16-byte structs, the elements 16-aligned.
    mutating func alignedBytes(_ items: [UInt8]) -> Ref {
        let blocks = (items.count + 15) / 16
        return vector(count: blocks, elementSize: 16, alignment: 16) { b in
            b.reversed.append(contentsOf: repeatElement(0, count: blocks * 16 - items.count))
            b.reversed.append(contentsOf: items.reversed())
        }
    }

    // MARK: tables

    mutating func startTable() {
        precondition(fields.isEmpty, "FlatBuffers tables cannot nest while being built")
        tableStart = offset
    }

    /// Field slots are the vtable byte positions of the schema: 4 + 2·index.
    mutating func add(slot: Int, _ ref: Ref) { uoffset(ref); fields.append((slot, offset)) }
    mutating func add(slot: Int, int32 v: Int32) { scalar(UInt64(UInt32(bitPattern: v)), bytes: 4); fields.append((slot, offset)) }
    mutating func add(slot: Int, int64 v: Int64) { scalar(UInt64(bitPattern: v), bytes: 8); fields.append((slot, offset)) }
    mutating func add(slot: Int, uint8 v: UInt8) { scalar(UInt64(v), bytes: 1); fields.append((slot, offset)) }
    mutating func add(slot: Int, float32 v: Float) { scalar(UInt64(v.bitPattern), bytes: 4); fields.append((slot, offset)) }

    mutating func endTable() -> Ref {
        prep(4, 0)
        putLE(0, bytes: 4)   // soffset to the vtable, patched below
        let table = offset
        let slots = (fields.map(\.slot).max() ?? 2) / 2 - 1
        var entries = [Int](repeating: 0, count: slots)
        for f in fields { entries[f.slot / 2 - 2] = table - f.at }
        for e in entries.reversed() { putLE(UInt64(e), bytes: 2) }
        putLE(UInt64(table - tableStart), bytes: 2)
        putLE(UInt64((slots + 2) * 2), bytes: 2)
        let vtable = offset
        let soffset = UInt32(bitPattern: Int32(vtable - table))
        for j in 0..<4 { reversed[table - 1 - j] = UInt8(truncatingIfNeeded: soffset >> (8 * UInt32(j))) }
        fields = []
        return table
    }

    /// The finished buffer: root uoffset first, length a multiple of `alignment`.
    mutating func finish(root: Ref, alignment: Int = 16) -> [UInt8] {
        prep(max(minAlign, alignment), 4)
        uoffset(root)
        return reversed.reversed()
    }
}
