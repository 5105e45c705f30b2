import Foundation
import ONNXProto

/// Conversion between ONNX `AttributeProto`/`ValueInfoProto` and AutoMix's values, shared by the model reader and
/// every ONNX writer.
enum ONNXAttributes {
    static func proto(_ key: String, _ value: Attribute) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = key
        switch value {
        case let .int(v): a.type = .int; a.i = Int64(v)
        case let .float(v): a.type = .float; a.f = v
        case let .ints(v): a.type = .ints; a.ints = v.map { Int64($0) }
        case let .floats(v): a.type = .floats; a.floats = v
        case let .string(v): a.type = .string; a.s = Data(v.utf8)
        case let .tensor(v): a.type = .tensor; a.t = ONNXTensor.make(name: "", v)
        }
        return a
    }

    /// Attributes sorted by name, as ONNX printers and ESP-PPQ list them.
    static func protos(_ attributes: [String: Attribute]) -> [Onnx_AttributeProto] {
        attributes.keys.sorted().map { proto($0, attributes[$0]!) }
    }

    /// The attribute's value; nil for a kind AutoMix has no use for (graphs, sparse tensors, type protos).
    static func value(_ a: Onnx_AttributeProto, tensor: (Onnx_TensorProto) throws -> ConstantValue) rethrows -> Attribute? {
        switch a.type {
        case .int: return .int(Int(a.i))
        case .float: return .float(a.f)
        case .ints: return .ints(a.ints.map { Int($0) })
        case .floats: return .floats(a.floats)
        case .string: return .string(String(decoding: a.s, as: UTF8.self))
        case .tensor: return .tensor(try tensor(a.t))
        default: return nil
        }
    }

    /// A tensor value info; a negative dimension is the symbolic batch "N".
    static func valueInfo(_ name: String, type: Onnx_TensorProto.DataType, shape: [Int]) -> Onnx_ValueInfoProto {
        var p = Onnx_ValueInfoProto()
        p.name = name
        var tt = Onnx_TypeProto.Tensor()
        tt.elemType = Int32(type.rawValue)
        var s = Onnx_TensorShapeProto()
        s.dim = shape.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if d < 0 { dim.dimParam = "N" } else { dim.dimValue = Int64(d) }
            return dim
        }
        tt.shape = s
        p.type.tensorType = tt
        return p
    }
}
