import Foundation

/// The contents of an `.espdl` (EDL2) file as written, before any interpretation: FlatBuffers tables mapped to
/// plain values (shared/specs/espdl-format-and-quantization.md §1). Layouts are the device's (NHWC, packed weights).
public struct ESPDLFile: Sendable {
    public enum DataType: Int32, Sendable {
        case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, bool = 9, double = 11

        var byteSize: Int {
            switch self {
            case .uint8, .int8, .bool: return 1
            case .uint16, .int16: return 2
            case .float, .int32: return 4
            case .int64, .double: return 8
            }
        }
        var bits: Int { byteSize * 8 }
        var name: String { String(describing: self).uppercased() }
    }

    public struct TensorData: Sendable {
        public var name: String
        public var dataType: DataType
        public var dims: [Int]
        public var exponents: [Int]
        /// Integer types: the values; float types: `floats` instead.
        public var ints: [Int64]
        public var floats: [Float]
        /// ESP-PPQ writes the layout here ("layout ==> (N/16)HWC16"); informational only.
        public var doc: String = ""
        public var count: Int { dims.reduce(1, *) }
        /// The layout named in `doc` ("(N/16)HWC16", "NHWC", …), or "" when none is named.
        public var layout: String {
            guard let r = doc.range(of: "layout ==> ") else { return "" }
            return String(doc[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
    }

    public struct ValueInfo: Sendable {
        public var name: String
        public var dataType: DataType?
        public var shape: [Int]
        public var exponent: Int
    }

    public struct Node: Sendable {
        public var name: String
        public var opType: String
        public var inputs: [String]
        public var outputs: [String]
        public var attributes: [String: Attribute]
    }

    public var path: String
    public var irVersion: Int
    public var graphName: String
    public var metadata: [String: String]
    public var nodes: [Node]
    public var initializers: [String: TensorData]
    /// Initializer names in file order (a writer keeps it; LUTs first, as ESP-PPQ writes them).
    public var initializerOrder: [String]
    public var inputs: [ValueInfo]
    public var outputs: [ValueInfo]
    public var valueInfo: [String: ValueInfo]
    public var testInputs: [TensorData]
    public var testOutputs: [TensorData]

    public static func read(_ path: String) throws -> ESPDLFile {
        guard FileManager.default.fileExists(atPath: path) else { throw AutoMixError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AutoMixError.unreadable(path: path, reason: "permission denied or not a file")
        }
        return try read(bytes: [UInt8](data), path: path)
    }

    /// Parses the bytes of a whole file (header and payload); `path` only names it in errors.
    public static func read(bytes: [UInt8], path: String) throws -> ESPDLFile {
        func bad(_ reason: String) -> AutoMixError { .invalidData(path: path, reason: "not a valid .espdl file: \(reason)") }
        guard bytes.count >= 16, bytes[0..<4].elementsEqual("EDL2".utf8) else {
            if bytes.count >= 4, bytes[0..<4].elementsEqual("EDL1".utf8) || bytes[0..<3].elementsEqual("PDL".utf8) {
                throw bad("\(String(decoding: bytes[0..<4], as: UTF8.self)) containers are not supported; AutoMix reads single EDL2 models")
            }
            throw bad("the header does not start with EDL2")
        }
        let word = { (i: Int) in Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24 }
        guard word(4) == 0 else { throw bad("the payload is encrypted (mode \(word(4))); decrypt it first") }
        let size = word(8)
        guard 16 + size <= bytes.count else { throw bad("the header promises \(size) payload bytes, the file holds \(bytes.count - 16)") }
        do {
            return try parse(Array(bytes[16..<(16 + size)]), path: path)
        } catch let e as FlatBufferTable.Corrupt {
            throw bad(e.reason)
        }
    }

    static func parse(_ payload: [UInt8], path: String) throws -> ESPDLFile {
        let model = try FlatBufferTable.root(of: payload)
        guard let graph = try model.table(18) else { throw FlatBufferTable.Corrupt(reason: "the model has no graph") }
        var metadata: [String: String] = [:]
        for e in try model.tables(20) { metadata[try e.string(4) ?? ""] = try e.string(6) ?? "" }
        let nodes = try graph.tables(4).map(node)
        var initializers: [String: TensorData] = [:]
        var order: [String] = []
        for t in try graph.tables(8) { let d = try tensor(t); initializers[d.name] = d; order.append(d.name) }
        var valueInfo: [String: ValueInfo] = [:]
        for v in try graph.tables(16) { let d = try value(v); valueInfo[d.name] = d }
        return ESPDLFile(
            path: path, irVersion: Int(try model.int32(4)), graphName: try graph.string(6) ?? "", metadata: metadata,
            nodes: nodes, initializers: initializers, initializerOrder: order,
            inputs: try graph.tables(12).map(value), outputs: try graph.tables(14).map(value), valueInfo: valueInfo,
            testInputs: try graph.tables(20).map(tensor), testOutputs: try graph.tables(22).map(tensor))
    }

    static func dataType(_ raw: Int32, of name: String) throws -> DataType {
        guard let t = DataType(rawValue: raw) else {
            throw FlatBufferTable.Corrupt(reason: "tensor '\(name)' has unsupported data type \(raw)")
        }
        return t
    }

    /// The most values one tensor or feature map may hold (1 GiB of float32): sizes in a file are checked against it
    /// before anything is allocated for them.
    static let maxElements = 1 << 28
    /// Power-of-two exponents beyond this make no sense for int8/int16 codes (ESP-DL's are within ±32).
    static let maxExponent = 64

    /// The element count of `dims`, or an error naming `what` when a size is negative or the count overflows or exceeds
    /// `maxElements`; `unknown` sizes (-1 in a value's shape) are skipped.
    static func checkedCount(_ dims: [Int], _ what: String, allowUnknown: Bool = false) throws -> Int {
        guard let count = Tensor.elementCount(dims.filter { !allowUnknown || $0 != -1 }, atMost: maxElements) else {
            throw FlatBufferTable.Corrupt(reason: "\(what) has sizes \(dims), which no tensor can have")
        }
        return count
    }

    static func tensor(_ t: FlatBufferTable) throws -> TensorData {
        let name = try t.string(16) ?? ""
        let type = try dataType(try t.int32(6), of: name)
        let dims = try t.int64s(4).map { Int($0) }
        let count = try checkedCount(dims, "tensor '\(name)'")
        var ints: [Int64] = []
        var floats: [Float] = []
        let raw = try t.byteSlice(20, elementSize: 16)
        if !raw.isEmpty {
            guard raw.count >= count * type.byteSize else {
                throw FlatBufferTable.Corrupt(reason: "tensor '\(name)' holds \(raw.count) bytes for \(count) \(type.name) values")
            }
            (ints, floats) = decode(raw, type, count: count)
        } else if type == .float {
            floats = try t.float32s(8)
        } else if type == .int64 {
            ints = try t.int64s(14)
        }
        let exponents = try t.int64s(30).map { Int($0) }
        guard exponents.allSatisfy({ abs($0) <= maxExponent }) else {
            throw FlatBufferTable.Corrupt(reason: "tensor '\(name)' has exponents \(exponents) beyond ±\(maxExponent)")
        }
        guard count == 0 || ints.count == count || floats.count == count else {
            throw FlatBufferTable.Corrupt(reason: "tensor '\(name)' holds \(max(ints.count, floats.count)) values for sizes \(dims)")
        }
        return TensorData(name: name, dataType: type, dims: dims, exponents: exponents,
                          ints: ints, floats: floats, doc: try t.string(18) ?? "")
    }

    /// `count` little-endian values of `type` from `raw` (which may hold padding after them): integer types
    /// into `ints`, float types into `floats`.
    static func decode(_ raw: ArraySlice<UInt8>, _ type: DataType, count: Int) -> (ints: [Int64], floats: [Float]) {
        let base = raw.startIndex
        func le(_ i: Int, _ n: Int) -> UInt64 {
            var v: UInt64 = 0
            for b in 0..<n { v |= UInt64(raw[base + i * n + b]) << (8 * b) }
            return v
        }
        switch type {
        case .float: return ([], (0..<count).map { Float(bitPattern: UInt32(le($0, 4))) })
        case .double: return ([], (0..<count).map { Float(Double(bitPattern: le($0, 8))) })
        case .int8: return ((0..<count).map { Int64(Int8(bitPattern: UInt8(le($0, 1)))) }, [])
        case .uint8, .bool: return ((0..<count).map { Int64(le($0, 1)) }, [])
        case .int16: return ((0..<count).map { Int64(Int16(bitPattern: UInt16(le($0, 2)))) }, [])
        case .uint16: return ((0..<count).map { Int64(le($0, 2)) }, [])
        case .int32: return ((0..<count).map { Int64(Int32(bitPattern: UInt32(le($0, 4)))) }, [])
        case .int64: return ((0..<count).map { Int64(bitPattern: le($0, 8)) }, [])
        }
    }

    static func value(_ v: FlatBufferTable) throws -> ValueInfo {
        let name = try v.string(4) ?? ""
        var type: DataType?
        var shape: [Int] = []
        if let info = try v.table(6), try info.uint8(4) == 1, let tensorType = try info.table(6) {
            let raw = try tensorType.int32(4)
            type = raw == 0 ? nil : try dataType(raw, of: name)
            if let s = try tensorType.table(6) {
                shape = try s.tables(4).map { d in Int(try d.table(4)?.int64(6) ?? -1) }
                _ = try checkedCount(shape, "value '\(name)'", allowUnknown: true)
            }
        }
        let exponent = Int(try v.int64s(10).first ?? 0)
        guard abs(exponent) <= maxExponent else { throw FlatBufferTable.Corrupt(reason: "value '\(name)' has exponent \(exponent) beyond ±\(maxExponent)") }
        return ValueInfo(name: name, dataType: type, shape: shape, exponent: exponent)
    }

    static func node(_ n: FlatBufferTable) throws -> Node {
        let name = try n.string(8) ?? ""
        var attributes: [String: Attribute] = [:]
        for a in try n.tables(14) {
            let key = try a.string(4) ?? ""
            switch try a.int32(10) {
            case 1: attributes[key] = .float(try a.float32(12))
            case 2: attributes[key] = .int(Int(try a.field(14).map { try a.i64(at: $0) } ?? 0))
            case 3: attributes[key] = .string(String(decoding: try a.byteSlice(16, elementSize: 1), as: UTF8.self))
            case 6: attributes[key] = .floats(try a.float32s(24))
            case 7: attributes[key] = .ints(try a.int64s(26).map { Int($0) })
            case 4:
                if let t = try a.table(18) {
                    let d = try tensor(t)
                    attributes[key] = .tensor(d.floats.isEmpty
                        ? .int(shape: d.dims, values: d.ints)
                        : .float(Tensor(shape: d.dims, data: d.floats)))
                }
            default: break   // strings/graphs/type protos: not used by any op AutoMix runs
            }
        }
        return Node(name: name, opType: try n.string(10) ?? "", inputs: try n.strings(4), outputs: try n.strings(6),
                    attributes: attributes)
    }
}
