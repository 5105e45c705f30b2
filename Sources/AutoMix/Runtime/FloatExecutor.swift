import COpenBLAS
import Foundation

/// Runs a (rewritten) graph in float32, batched, splitting the batch over the cores.
///
/// Each worker runs whole sub-batches through the graph with single-threaded OpenBLAS, which keeps both
/// cores busy without synchronisation between layers (shared/specs/swift-stack-recipes.md §2).
public final class FloatExecutor: Sendable {
    public let graph: Graph
    /// The input's batch size when the model fixes it; sub-batches are then exactly this size.
    public let fixedBatch: Int?
    let program: Program

    struct Step: Sendable {
        let node: Node
        let inputs: [Slot]
        let outputs: [Int]
        /// Value slots read for the last time by this step.
        let releases: [Int]
    }

    enum Slot: Sendable { case value(Int), constant(Int), absent }

    struct Program: Sendable {
        let steps: [Step]
        let constants: [Tensor]
        let valueCount: Int
        let inputSlot: Int
        let outputSlots: [Int]
    }

    public init(graph: Graph) throws {
        guard graph.inputs.count == 1 else {
            throw AutoMixError.invalidArgument("model '\(graph.name)' has \(graph.inputs.count) inputs; AutoMix runs single-input classifiers")
        }
        if let n = graph.nodes.first(where: { $0.op.isFoldOnly }) {
            throw ShapeInference.fail(n, "shape arithmetic on runtime values cannot be executed")
        }
        self.graph = graph
        let b = graph.inputs[0].shape.first ?? -1
        fixedBatch = b > 0 ? b : nil

        var slots: [String: Int] = [graph.inputs[0].name: 0]
        var constantIndex: [String: Int] = [:]
        var constants: [Tensor] = []
        var lastUse: [Int: Int] = [:]
        var steps: [(Node, [Slot], [Int])] = []
        for (i, n) in graph.nodes.enumerated() {
            let ins: [Slot] = n.inputs.map { name in
                if name.isEmpty { return .absent }
                if let s = slots[name] { lastUse[s] = i; return .value(s) }
                if let c = constantIndex[name] { return .constant(c) }
                if let c = graph.constants[name] {
                    constantIndex[name] = constants.count
                    constants.append(c.floatTensor)
                    return .constant(constants.count - 1)
                }
                return .absent
            }
            let outs = n.outputs.map { name -> Int in
                let s = slots.count
                slots[name] = s
                return s
            }
            steps.append((n, ins, outs))
        }
        let outputSlots = try graph.outputs.map { o -> Int in
            guard let s = slots[o.name] else { throw AutoMixError.invalidArgument("graph output '\(o.name)' is not computed") }
            return s
        }
        let keep = Set(outputSlots)
        program = Program(
            steps: steps.enumerated().map { i, s in
                Step(node: s.0, inputs: s.1, outputs: s.2,
                     releases: lastUse.filter { $0.value == i && !keep.contains($0.key) }.map(\.key))
            },
            constants: constants, valueCount: slots.count, inputSlot: 0, outputSlots: outputSlots)
    }

    /// Runs one batch (NCHW, batch first); returns the graph outputs in order.
    public func run(_ input: Tensor) throws -> [Tensor] {
        let batch = input.shape[0]
        let perImage = input.count / max(batch, 1)
        let chunks: [Range<Int>]
        if let fixed = fixedBatch {
            guard batch % fixed == 0 else {
                throw AutoMixError.invalidArgument("model '\(graph.name)' has a fixed batch of \(fixed); got \(batch) images")
            }
            chunks = stride(from: 0, to: batch, by: fixed).map { $0..<($0 + fixed) }
        } else {
            let workers = min(batch, ProcessInfo.processInfo.activeProcessorCount)
            chunks = (0..<workers).map { w in (batch * w / workers)..<(batch * (w + 1) / workers) }
        }
        if chunks.count <= 1 {
            openblas_set_num_threads(Int32(ProcessInfo.processInfo.activeProcessorCount))
            return try runChunk(input)
        }
        openblas_set_num_threads(1)
        let results = ResultBox(count: chunks.count)
        DispatchQueue.concurrentPerform(iterations: chunks.count) { c in
            let r = chunks[c]
            let part = Tensor(shape: [r.count] + input.shape.dropFirst(),
                              data: Array(input.data[(r.lowerBound * perImage)..<(r.upperBound * perImage)]))
            results.set(c, Result { try runChunk(part) })
        }
        let parts = try results.values.map { try $0!.get() }
        return (0..<program.outputSlots.count).map { o in
            let first = parts[0][o]
            var data: [Float] = []
            data.reserveCapacity(first.count * chunks.count)
            for p in parts { data.append(contentsOf: p[o].data) }
            return Tensor(shape: [batch] + first.shape.dropFirst(), data: data)
        }
    }

    /// Runs one sub-batch on the calling thread.
    func runChunk(_ input: Tensor) throws -> [Tensor] {
        var values = [Tensor?](repeating: nil, count: program.valueCount)
        values[program.inputSlot] = input
        for step in program.steps {
            let ins: [Tensor?] = step.inputs.map { slot in
                switch slot {
                case let .value(s): return values[s]
                case let .constant(c): return program.constants[c]
                case .absent: return nil
                }
            }
            let outs = try FloatOps.evaluate(step.node, ins, opset: graph.opset)
            for s in step.releases { values[s] = nil }
            for (s, t) in zip(step.outputs, outs) { values[s] = t }
        }
        return program.outputSlots.map { values[$0]! }
    }
}

/// Collects per-chunk results written from concurrent workers.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<[Tensor], Error>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[Tensor], Error>) { lock.lock(); values[i] = r; lock.unlock() }
}
