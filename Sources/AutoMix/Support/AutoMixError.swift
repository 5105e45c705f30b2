/// Every user-facing failure: one line that names the file, node, layer or op at fault.
public enum AutoMixError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case invalidModel(path: String, reason: String)
    /// Each unsupported op type with one node that uses it, found before any work starts.
    case unsupportedOps(path: String, ops: [(op: String, node: String)])
    case invalidNode(node: String, op: String, reason: String)
    case invalidData(path: String, reason: String)
    case badImage(path: String, reason: String)
    case invalidArgument(String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .fileNotFound(path): return "\(path): no such file or directory"
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .invalidModel(path, reason): return "\(path): not a valid ONNX model: \(reason)"
        case let .unsupportedOps(path, ops):
            let list = ops.map { "\($0.op) (e.g. node '\($0.node)')" }.joined(separator: ", ")
            return "\(path): unsupported op\(ops.count == 1 ? "" : "s"): \(list)"
        case let .invalidNode(node, op, reason): return "node '\(node)' (\(op)): \(reason)"
        case let .invalidData(path, reason): return "\(path): \(reason)"
        case let .badImage(path, reason): return "\(path): corrupt or unreadable image: \(reason)"
        case let .invalidArgument(reason): return reason
        case let .writeFailed(path, reason): return "\(path): cannot write: \(reason)"
        }
    }

    public static func == (a: AutoMixError, b: AutoMixError) -> Bool { a.description == b.description }
}
