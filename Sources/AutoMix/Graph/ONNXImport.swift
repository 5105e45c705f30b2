import Foundation
import ONNXProto
import SwiftProtobuf

extension Graph {
    /// Loads an ONNX model (raw or external data, opsets 11–18) without running any pass.
    /// Every unsupported op is reported at once, with one node of each, before any other work.
    public static func load(onnx path: String) throws -> Graph {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: path) else { throw AutoMixError.fileNotFound(path: path) }
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
        guard (7...22).contains(opset) else {
            throw AutoMixError.invalidModel(path: path, reason: "opset \(opset) is not supported (11–18 are)")
        }

        var unsupported: [(op: String, node: String)] = []
        for (i, n) in g.node.enumerated() {
            let known = OpKind(rawValue: n.opType).map { !$0.isQuantOnly } == true && (n.domain.isEmpty || n.domain == "ai.onnx")
            if !known, !unsupported.contains(where: { $0.op == n.opType }) {
                unsupported.append((n.opType, n.name.isEmpty ? "#\(i)" : n.name))
            }
        }
        if !unsupported.isEmpty { throw AutoMixError.unsupportedOps(path: path, ops: unsupported) }

        var constants: [String: ConstantValue] = [:]
        for t in g.initializer { constants[t.name] = try ONNXTensor.read(t, baseDirectory: baseDirectory, modelPath: path) }

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
