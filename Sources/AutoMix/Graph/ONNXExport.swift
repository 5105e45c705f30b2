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
            p.attribute = ONNXAttributes.protos(n.attributes)
            return p
        }
        g.initializer = constants.keys.sorted().map { ONNXTensor.make(name: $0, constants[$0]!) }
        func info(_ v: ValueInfo) -> Onnx_ValueInfoProto { ONNXAttributes.valueInfo(v.name, type: .float, shape: v.shape) }
        g.input = inputs.map(info)
        g.output = outputs.map(info)
        var m = Onnx_ModelProto()
        m.irVersion = 8
        m.producerName = producer
        m.producerVersion = AutoMixVersion.string
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
