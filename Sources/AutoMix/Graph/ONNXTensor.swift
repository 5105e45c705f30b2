import Foundation
import ONNXProto

/// Conversion between ONNX `TensorProto` and AutoMix constants, including external data.
enum ONNXTensor {
    /// Reads a tensor's values; `baseDirectory` resolves `external_data` locations.
    static func read(_ t: Onnx_TensorProto, baseDirectory: URL?, modelPath: String) throws -> ConstantValue {
        let shape = t.dims.map { Int($0) }
        let count = shape.reduce(1, *)
        var raw: Data? = t.hasRawData ? t.rawData : nil
        if t.dataLocation == .external {
            raw = try externalBytes(t, baseDirectory: baseDirectory, modelPath: modelPath)
        }
        guard let type = Onnx_TensorProto.DataType(rawValue: Int(t.dataType)) else {
            throw AutoMixError.invalidModel(path: modelPath, reason: "tensor '\(t.name)' has unknown data type \(t.dataType)")
        }
        func fromRaw<T>(_ type: T.Type) throws -> [T] {
            guard let raw else { return [] }
            guard raw.count == count * MemoryLayout<T>.size else {
                throw AutoMixError.invalidModel(path: modelPath,
                    reason: "tensor '\(t.name)' holds \(raw.count) bytes, its shape \(shape) needs \(count * MemoryLayout<T>.size)")
            }
            return raw.withUnsafeBytes { buf in (0..<count).map { buf.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) } }
        }
        let floats: [Float]
        switch type {
        case .float: floats = raw != nil ? try fromRaw(Float.self) : t.floatData
        case .double: floats = raw != nil ? try fromRaw(Double.self).map { Float($0) } : t.doubleData.map { Float($0) }
        case .float16:
            let bits: [UInt16] = raw != nil ? try fromRaw(UInt16.self) : t.int32Data.map { UInt16(truncatingIfNeeded: $0) }
            floats = bits.map { Float(Float16(bitPattern: $0)) }
        case .int64: return .int(shape: shape, values: raw != nil ? try fromRaw(Int64.self) : t.int64Data)
        case .int32: return .int(shape: shape, values: raw != nil ? try fromRaw(Int32.self).map { Int64($0) } : t.int32Data.map { Int64($0) })
        case .int8: return .int(shape: shape, values: raw != nil ? try fromRaw(Int8.self).map { Int64($0) } : t.int32Data.map { Int64($0) })
        case .uint8, .bool:
            return .int(shape: shape, values: raw != nil ? try fromRaw(UInt8.self).map { Int64($0) } : t.int32Data.map { Int64($0) })
        default:
            throw AutoMixError.invalidModel(path: modelPath, reason: "tensor '\(t.name)' has unsupported data type \(type)")
        }
        guard floats.count == count else {
            throw AutoMixError.invalidModel(path: modelPath, reason: "tensor '\(t.name)' has \(floats.count) values, its shape \(shape) needs \(count)")
        }
        return .float(Tensor(shape: shape, data: floats))
    }

    private static func externalBytes(_ t: Onnx_TensorProto, baseDirectory: URL?, modelPath: String) throws -> Data {
        var location = "", offset = 0, length: Int?
        for e in t.externalData {
            switch e.key {
            case "location": location = e.value
            case "offset": offset = Int(e.value) ?? 0
            case "length": length = Int(e.value)
            default: break
            }
        }
        guard let baseDirectory, !location.isEmpty else {
            throw AutoMixError.invalidModel(path: modelPath, reason: "tensor '\(t.name)' has external data without a location")
        }
        let url = baseDirectory.appendingPathComponent(location)
        guard let data = try? Data(contentsOf: url, options: .alwaysMapped) else {
            throw AutoMixError.invalidModel(path: modelPath, reason: "external data file \(url.path) of tensor '\(t.name)' cannot be read")
        }
        let end = length.map { offset + $0 } ?? data.count
        guard offset <= end, end <= data.count else {
            throw AutoMixError.invalidModel(path: modelPath, reason: "external data of tensor '\(t.name)' lies outside \(url.path)")
        }
        return data.subdata(in: offset..<end)
    }

    static func make(name: String, _ value: ConstantValue) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = value.shape.map { Int64($0) }
        switch value {
        case let .float(tensor):
            t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            t.rawData = tensor.data.withUnsafeBufferPointer { Data(buffer: $0) }
        case let .int(_, values):
            t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
            t.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
        }
        return t
    }
}
