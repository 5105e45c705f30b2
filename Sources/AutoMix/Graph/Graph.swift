/// An attribute value of a node, as ONNX stores it.
public enum Attribute: Sendable, Equatable {
    case int(Int)
    case float(Float)
    case ints([Int])
    case floats([Float])
    case string(String)
    case tensor(ConstantValue)
}

public struct Node: Sendable, Equatable {
    public var name: String
    public var op: OpKind
    /// Value names; "" marks an omitted optional input.
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: Attribute]

    public init(name: String, op: OpKind, inputs: [String], outputs: [String], attributes: [String: Attribute] = [:]) {
        self.name = name; self.op = op; self.inputs = inputs; self.outputs = outputs; self.attributes = attributes
    }

    public func int(_ key: String, default d: Int) -> Int {
        if case let .int(v)? = attributes[key] { return v }
        return d
    }
    public func float(_ key: String, default d: Float) -> Float {
        if case let .float(v)? = attributes[key] { return v }
        return d
    }
    public func ints(_ key: String) -> [Int]? {
        if case let .ints(v)? = attributes[key] { return v }
        return nil
    }
    public func string(_ key: String, default d: String) -> String {
        if case let .string(v)? = attributes[key] { return v }
        return d
    }
}

/// A graph input or output with its shape; -1 marks a dynamic dimension (the batch).
public struct ValueInfo: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public init(name: String, shape: [Int]) { self.name = name; self.shape = shape }
}

/// The model after import: nodes in topological order, constants by name, and inferred shapes of every value.
public struct Graph: Sendable {
    public var name: String
    public var nodes: [Node]
    public var inputs: [ValueInfo]
    public var outputs: [ValueInfo]
    public var constants: [String: ConstantValue]
    /// Shape of every non-constant value, batch dimension -1; filled by `inferShapes()`.
    public var shapes: [String: [Int]] = [:]
    public var opset: Int

    public init(name: String, nodes: [Node], inputs: [ValueInfo], outputs: [ValueInfo],
                constants: [String: ConstantValue], opset: Int) {
        self.name = name; self.nodes = nodes; self.inputs = inputs; self.outputs = outputs
        self.constants = constants; self.opset = opset
    }

    /// Nodes that read each value.
    public func consumers() -> [String: [Int]] {
        var map: [String: [Int]] = [:]
        for (i, n) in nodes.enumerated() { for v in n.inputs where !v.isEmpty { map[v, default: []].append(i) } }
        return map
    }

    public func producerIndex() -> [String: Int] {
        var map: [String: Int] = [:]
        for (i, n) in nodes.enumerated() { for v in n.outputs { map[v] = i } }
        return map
    }

    public func constant(_ name: String) -> ConstantValue? { name.isEmpty ? nil : constants[name] }

    /// Drops constants that no node or output reads any more.
    public mutating func pruneConstants() {
        var used = Set(outputs.map(\.name))
        for n in nodes { used.formUnion(n.inputs) }
        constants = constants.filter { used.contains($0.key) }
    }

    /// Renames value `old` to `new` in every node input and graph output.
    public mutating func replaceUses(of old: String, with new: String) {
        for i in nodes.indices { nodes[i].inputs = nodes[i].inputs.map { $0 == old ? new : $0 } }
        for i in outputs.indices where outputs[i].name == old {
            // keep the graph's output name stable: rename the producer's output instead
            if let p = producerIndex()[new] {
                nodes[p].outputs = nodes[p].outputs.map { $0 == new ? old : $0 }
                for j in nodes.indices { nodes[j].inputs = nodes[j].inputs.map { $0 == new ? old : $0 } }
            }
        }
    }
}
