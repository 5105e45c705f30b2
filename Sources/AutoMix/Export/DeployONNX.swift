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
            var p = Onnx_ValueInfoProto()
            p.name = v.name
            var tt = Onnx_TypeProto.Tensor()
            tt.elemType = Int32(Self.onnxTypes[v.dataType ?? .float]!.rawValue)
            var shape = Onnx_TensorShapeProto()
            shape.dim = v.shape.map { d in var dim = Onnx_TensorShapeProto.Dimension(); dim.dimValue = Int64(d); return dim }
            tt.shape = shape
            p.type.tensorType = tt
            exponents[v.name] = [v.exponent]
            return p
        }
        g.input = inputs.map(info)
        g.output = outputs.map(info)
        let io = Set((inputs + outputs).map(\.name))
        g.valueInfo = valueOrder.filter { !io.contains($0) }.map { info(valueInfo[$0]!) }

        var m = Onnx_ModelProto()
        m.irVersion = 8
        m.producerName = "automix"
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
            func le(_ i: Int, _ n: Int) -> UInt64 { (0..<n).reduce(UInt64(0)) { $0 | UInt64(raw[i * n + $1]) << (8 * UInt64($1)) } }
            guard raw.count == count * t.byteSize else {
                throw AutoMixError.invalidModel(path: path, reason: "initializer '\(p.name)' holds \(raw.count) bytes for \(count) values")
            }
            var ints: [Int64] = [], floats: [Float] = []
            switch t {
            case .float: floats = (0..<count).map { Float(bitPattern: UInt32(le($0, 4))) }
            case .double: floats = (0..<count).map { Float(Double(bitPattern: le($0, 8))) }
            case .int8: ints = (0..<count).map { Int64(Int8(bitPattern: UInt8(le($0, 1)))) }
            case .int16: ints = (0..<count).map { Int64(Int16(bitPattern: UInt16(le($0, 2)))) }
            case .int32: ints = (0..<count).map { Int64(Int32(bitPattern: UInt32(le($0, 4)))) }
            case .int64: ints = (0..<count).map { Int64(bitPattern: le($0, 8)) }
            case .uint8, .bool: ints = (0..<count).map { Int64(le($0, 1)) }
            case .uint16: ints = (0..<count).map { Int64(le($0, 2)) }
            }
            initializers[p.name] = TensorData(name: p.name, dataType: t, dims: p.dims.map { Int($0) }, exponents: exps[p.name] ?? [0],
                                              ints: ints, floats: floats, doc: p.docString)
        }
        func value(_ v: Onnx_ValueInfoProto) throws -> ValueInfo {
            ValueInfo(name: v.name, dataType: try type(v.type.tensorType.elemType, v.name),
                      shape: v.type.tensorType.shape.dim.map { Int($0.dimValue) }, exponent: exps[v.name]?.first ?? 0)
        }
        let nodes = m.graph.node.map { p in
            var attributes: [String: Attribute] = [:]
            for a in p.attribute {
                switch a.type {
                case .int: attributes[a.name] = .int(Int(a.i))
                case .float: attributes[a.name] = .float(a.f)
                case .ints: attributes[a.name] = .ints(a.ints.map { Int($0) })
                case .floats: attributes[a.name] = .floats(a.floats)
                case .string: attributes[a.name] = .string(String(decoding: a.s, as: UTF8.self))
                default: break
                }
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
