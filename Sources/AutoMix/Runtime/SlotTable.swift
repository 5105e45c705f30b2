/// Where a step finds an input: a runtime value slot, a constant, or nothing (an omitted optional input).
enum Slot: Sendable {
    case value(Int), constant(Int), absent

    /// The value slot, nil for a constant or an absent input.
    var valueSlot: Int? { if case let .value(v) = self { v } else { nil } }
}

/// The numbering both executors give a graph's values and constants while they lay out their steps, and the
/// step that reads each value last (so values can be released early).
struct SlotTable {
    private(set) var slots: [String: Int]
    private(set) var constants: [Tensor] = []
    private var constantIndex: [String: Int] = [:]
    private var lastUse: [Int: Int] = [:]

    init(input: String) { slots = [input: 0] }

    /// The slots of `node`'s inputs, as read by step number `step`.
    mutating func inputs(of node: Node, step: Int, graph: Graph) -> [Slot] {
        node.inputs.map { name in
            if name.isEmpty { return .absent }
            if let s = slots[name] { lastUse[s] = step; return .value(s) }
            if let c = constantIndex[name] { return .constant(c) }
            if let c = graph.constants[name] {
                constantIndex[name] = constants.count
                constants.append(c.floatTensor)
                return .constant(constants.count - 1)
            }
            return .absent
        }
    }

    /// New slots for values a step produces.
    mutating func outputs(_ names: [String]) -> [Int] {
        names.map { name in
            let s = slots.count
            slots[name] = s
            return s
        }
    }

    func outputSlots(of graph: Graph) throws -> [Int] {
        try graph.outputs.map { o in
            guard let s = slots[o.name] else { throw AutoMixError.invalidArgument("graph output '\(o.name)' is not computed") }
            return s
        }
    }

    /// Slots step `step` reads for the last time, graph outputs excepted.
    func releases(after step: Int, keeping keep: Set<Int>) -> [Int] {
        lastUse.filter { $0.value == step && !keep.contains($0.key) }.map(\.key)
    }
}
