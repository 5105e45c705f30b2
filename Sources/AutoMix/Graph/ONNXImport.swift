import Foundation
import ONNXProto
import SwiftProtobuf

extension Graph {
    /// Loads an ONNX model (raw or external data, opsets 11–22) without running any pass.
    /// Every unsupported op is reported at once, with one node of each, before any other work.
    /// The largest input AutoMix runs: 64 Mi values per image (a 4096×4096 RGB image is 48 Mi).
    static let maxInputElements = 1 << 26

    public static func load(onnx path: String) throws -> Graph {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw AutoMixError.fileNotFound(path: path) }
        guard !isDirectory.boolValue else { throw AutoMixError.invalidModel(path: path, reason: "is a directory, not an ONNX file") }
        let bytes: Data
        do { bytes = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw AutoMixError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: bytes) } catch {
            throw AutoMixError.invalidModel(path: path, reason: "protobuf decoding failed (\(error)); truncated or not an ONNX file?")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else {
            throw AutoMixError.invalidModel(path: path, reason: "the file holds no graph")
        }
        return try Graph(model, path: path, baseDirectory: url.deletingLastPathComponent())
    }

    init(_ model: Onnx_ModelProto, path: String, baseDirectory: URL?) throws {
        let g = model.graph
        let opset = model.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }.map { Int($0.version) } ?? 0
        guard (11...22).contains(opset) else {
            throw AutoMixError.invalidModel(path: path, reason: "opset \(opset) is not supported (11–22 are)")
        }

        var unsupported: [(op: String, node: String)] = []
        for (i, n) in g.node.enumerated() {
            let known = OpKind(rawValue: n.opType).map { !$0.isQuantOnly } == true && (n.domain.isEmpty || n.domain == "ai.onnx")
            // an op of another domain is named with it: a custom `Relu` is not ONNX's
            let op = n.domain.isEmpty || n.domain == "ai.onnx" ? n.opType : "\(n.domain).\(n.opType)"
            if !known, !unsupported.contains(where: { $0.op == op }) {
                unsupported.append((op, n.name.isEmpty ? "#\(i)" : n.name))
            }
        }
        if !unsupported.isEmpty { throw AutoMixError.unsupportedOps(path: path, ops: unsupported) }

        var constants: [String: ConstantValue] = [:]
        for t in g.initializer {
            let value = try ONNXTensor.read(t, baseDirectory: baseDirectory, modelPath: path)
            if case let .float(x) = value, let bad = x.data.first(where: { !$0.isFinite }) {
                throw AutoMixError.invalidModel(path: path, reason: "initializer '\(t.name)' holds \(bad); a weight must be a finite number")
            }
            constants[t.name] = value
        }

        var nodes: [Node] = []
        var usedNames = Set<String>()
        for (i, n) in g.node.enumerated() {
            var name = n.name.isEmpty ? "\(n.opType)_\(i)" : n.name
            if usedNames.contains(name) { name += "_\(i)" }
            usedNames.insert(name)
            var attributes: [String: Attribute] = [:]
            for a in n.attribute {
                guard let v = try ONNXAttributes.value(a, tensor: { try ONNXTensor.read($0, baseDirectory: baseDirectory, modelPath: path) }) else {
                    throw AutoMixError.invalidNode(node: name, op: n.opType, reason: "attribute '\(a.name)' of type \(a.type) is not supported")
                }
                attributes[a.name] = v
            }
            nodes.append(Node(name: name, op: OpKind(rawValue: n.opType)!, inputs: n.input, outputs: n.output, attributes: attributes))
        }

        func info(_ v: Onnx_ValueInfoProto) -> ValueInfo {
            let dims = v.type.tensorType.shape.dim.map { d -> Int in
                if case let .dimValue(x)? = d.value, x > 0 { return Int(x) }
                return -1
            }
            return ValueInfo(name: v.name, shape: dims)
        }
        // Older exporters list initializers among the inputs too; those are constants, not inputs.
        let inputs = g.input.filter { constants[$0.name] == nil }.map(info)
        guard !inputs.isEmpty else { throw AutoMixError.invalidModel(path: path, reason: "the graph has no input") }
        for i in inputs {
            // sizes from the file are checked before anything is allocated for them
            guard Tensor.elementCount(i.shape.filter { $0 > 0 }, atMost: Self.maxInputElements) != nil else {
                throw AutoMixError.invalidModel(path: path, reason: "input '\(i.name)' \(i.shape) holds more than \(Self.maxInputElements) values per image")
            }
        }
        self.init(name: g.name, nodes: nodes, inputs: inputs, outputs: g.output.map(info), constants: constants, opset: opset)
        try checkTopologicalOrder(path: path)
    }

    private func checkTopologicalOrder(path: String) throws {
        var available = Set(inputs.map(\.name)).union(constants.keys)
        available.insert("")
        for n in nodes {
            if let missing = n.inputs.first(where: { !available.contains($0) }) {
                throw AutoMixError.invalidNode(node: n.name, op: n.op.rawValue,
                                               reason: "input '\(missing)' is produced by no earlier node (graph not topologically sorted?)")
            }
            available.formUnion(n.outputs)
        }
        for o in outputs where !available.contains(o.name) {
            throw AutoMixError.invalidModel(path: path, reason: "graph output '\(o.name)' is produced by no node")
        }
    }
}
