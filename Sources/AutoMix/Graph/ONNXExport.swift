import Foundation
import ONNXProto
import SwiftProtobuf

extension Graph {
    /// The graph as an ONNX model (opset as imported, float32 values, batch dimension symbolic "N").
    public func onnxModel(producer: String = "automix") -> Onnx_ModelProto {
        var g = Onnx_GraphProto()
        g.name = name
        g.node = nodes.map { n in
            var p = Onnx_NodeProto()
            p.name = n.name; p.opType = n.op.rawValue; p.input = n.inputs; p.output = n.outputs
            p.attribute = n.attributes.keys.sorted().map { key in
                var a = Onnx_AttributeProto()
                a.name = key
                switch n.attributes[key]! {
                case let .int(v): a.type = .int; a.i = Int64(v)
                case let .float(v): a.type = .float; a.f = v
                case let .ints(v): a.type = .ints; a.ints = v.map { Int64($0) }
                case let .floats(v): a.type = .floats; a.floats = v
                case let .string(v): a.type = .string; a.s = Data(v.utf8)
                case let .tensor(v): a.type = .tensor; a.t = ONNXTensor.make(name: "", v)
                }
                return a
            }
            return p
        }
        g.initializer = constants.keys.sorted().map { ONNXTensor.make(name: $0, constants[$0]!) }
        func info(_ v: ValueInfo) -> Onnx_ValueInfoProto {
            var p = Onnx_ValueInfoProto()
            p.name = v.name
            var tt = Onnx_TypeProto.Tensor()
            tt.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            var shape = Onnx_TensorShapeProto()
            shape.dim = v.shape.map { d in
                var dim = Onnx_TensorShapeProto.Dimension()
                if d < 0 { dim.dimParam = "N" } else { dim.dimValue = Int64(d) }
                return dim
            }
            tt.shape = shape
            p.type.tensorType = tt
            return p
        }
        g.input = inputs.map(info)
        g.output = outputs.map(info)
        var m = Onnx_ModelProto()
        m.irVersion = 8
        m.producerName = producer
        var op = Onnx_OperatorSetIdProto()
        op.version = Int64(opset)
        m.opsetImport = [op]
        m.graph = g
        return m
    }

    /// Saves the graph as an ONNX file, atomically.
    public func save(onnx path: String) throws {
        let data: Data = try onnxModel().serializedBytes()
        try writeAtomically(data, to: URL(fileURLWithPath: path))
    }
}
