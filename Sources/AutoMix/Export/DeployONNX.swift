import Foundation
import ONNXProto
import SwiftProtobuf

/// The device graph as an ONNX file (AMCT's `<model>_deploy_model.onnx`): node for node what goes into the
/// `.espdl` — NHWC shapes, packed integer weights, int32/int64 bias, `quant_type`/`activation`/`lut` attributes.
/// The nodes live in the `esp-dl` domain, because ESP-DL's attributes and RequantizeLinear are not ONNX's and
/// `onnx.checker` rejects unknown attributes on standard ops; the exponents, which ONNX has no field for, are in
/// `metadata_props["espdl.exponents"]` (JSON: name → list), and each initializer's layout in its doc string.
extension ESPDLFile {
    public static let deployDomain = "esp-dl"
    static let exponentsKey = "espdl.exponents"

    static let onnxTypes: [DataType: Onnx_TensorProto.DataType] = [
        .float: .float, .uint8: .uint8, .int8: .int8, .uint16: .uint16, .int16: .int16, .int32: .int32,
        .int64: .int64, .bool: .bool, .double: .double,
    ]

    public func deployONNX() throws -> Onnx_ModelProto {
        var g = Onnx_GraphProto()
        g.name = graphName
        var exponents: [String: [Int]] = [:]
        g.node = nodes.map { n in
            var p = Onnx_NodeProto()
            p.name = n.name; p.opType = n.opType; p.domain = Self.deployDomain; p.input = n.inputs; p.output = n.outputs
            p.attribute = ONNXAttributes.protos(n.attributes)
            return p
        }
        g.initializer = initializerOrder.compactMap { initializers[$0] }.map { t in
            var p = Onnx_TensorProto()
            p.name = t.name
            p.dims = t.dims.map { Int64($0) }
            p.dataType = Int32(Self.onnxTypes[t.dataType]!.rawValue)
            p.rawData = Data(Self.rawBytes(t))
            p.docString = t.doc
            exponents[t.name] = t.exponents
            return p
        }
        func info(_ v: ValueInfo) -> Onnx_ValueInfoProto {
            exponents[v.name] = [v.exponent]
            return ONNXAttributes.valueInfo(v.name, type: Self.onnxTypes[v.dataType ?? .float]!, shape: v.shape)
        }
        g.input = inputs.map(info)
        g.output = outputs.map(info)
        let io = Set((inputs + outputs).map(\.name))
        g.valueInfo = valueOrder.filter { !io.contains($0) }.map { info(valueInfo[$0]!) }

        var m = Onnx_ModelProto()
        m.irVersion = 8
        m.producerName = "automix"
        m.producerVersion = AutoMixVersion.string
        var onnxOpset = Onnx_OperatorSetIdProto(); onnxOpset.version = 13
        var espdl = Onnx_OperatorSetIdProto(); espdl.domain = Self.deployDomain; espdl.version = 1
        m.opsetImport = [onnxOpset, espdl]
        m.graph = g
        var entry = Onnx_StringStringEntryProto()
        entry.key = Self.exponentsKey
        entry.value = String(decoding: try JSONSerialization.data(withJSONObject: exponents, options: [.sortedKeys]), as: UTF8.self)
        m.metadataProps = [entry]
        return m
    }

    /// Reads a deploy ONNX back into the device graph (the inverse of `deployONNX()`).
    public static func read(deployONNX path: String) throws -> ESPDLFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw AutoMixError.fileNotFound(path: path) }
        let m: Onnx_ModelProto
        do { m = try Onnx_ModelProto(serializedBytes: data) } catch {
            throw AutoMixError.invalidModel(path: path, reason: "cannot parse the protobuf (\(error))")
        }
        guard let e = m.metadataProps.first(where: { $0.key == exponentsKey }),
              let exps = try? JSONSerialization.jsonObject(with: Data(e.value.utf8)) as? [String: [Int]] else {
            throw AutoMixError.invalidModel(path: path, reason: "not an AutoMix deploy model: metadata '\(exponentsKey)' is missing")
        }
        let fromONNX = Dictionary(uniqueKeysWithValues: onnxTypes.map { ($0.value.rawValue, $0.key) })
        func type(_ raw: Int32, _ name: String) throws -> DataType {
            guard let t = fromONNX[Int(raw)] else { throw AutoMixError.invalidModel(path: path, reason: "'\(name)' has unsupported type \(raw)") }
            return t
        }
        var initializers: [String: TensorData] = [:]
        for p in m.graph.initializer {
            let t = try type(p.dataType, p.name)
            let raw = [UInt8](p.rawData)
            let count = p.dims.reduce(1) { $0 * Int($1) }
            guard raw.count == count * t.byteSize else {
                throw AutoMixError.invalidModel(path: path, reason: "initializer '\(p.name)' holds \(raw.count) bytes for \(count) values")
            }
            let (ints, floats) = decode(raw[...], t, count: count)
            initializers[p.name] = TensorData(name: p.name, dataType: t, dims: p.dims.map { Int($0) }, exponents: exps[p.name] ?? [0],
                                              ints: ints, floats: floats, doc: p.docString)
        }
        func value(_ v: Onnx_ValueInfoProto) throws -> ValueInfo {
            ValueInfo(name: v.name, dataType: try type(v.type.tensorType.elemType, v.name),
                      shape: v.type.tensorType.shape.dim.map { Int($0.dimValue) }, exponent: exps[v.name]?.first ?? 0)
        }
        let nodes = try m.graph.node.map { p in
            var attributes: [String: Attribute] = [:]
            for a in p.attribute {
                guard let v = try ONNXAttributes.value(a, tensor: { try ONNXTensor.read($0, baseDirectory: nil, modelPath: path) }) else {
                    throw AutoMixError.invalidNode(node: p.name, op: p.opType, reason: "attribute '\(a.name)' of type \(a.type) is not supported")
                }
                attributes[a.name] = v
            }
            return Node(name: p.name, opType: p.opType, inputs: p.input, outputs: p.output, attributes: attributes)
        }
        let inputs = try m.graph.input.map(value), outputs = try m.graph.output.map(value)
        var valueInfo: [String: ValueInfo] = [:]
        for v in try m.graph.valueInfo.map(value) + inputs + outputs { valueInfo[v.name] = v }
        return ESPDLFile(path: path, irVersion: Int(m.irVersion), graphName: m.graph.name, metadata: [:], nodes: nodes,
                         initializers: initializers, initializerOrder: m.graph.initializer.map(\.name), inputs: inputs,
                         outputs: outputs, valueInfo: valueInfo, testInputs: [], testOutputs: [])
    }
}
