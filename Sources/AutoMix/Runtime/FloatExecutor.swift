import COpenBLAS
import Kernels
import Foundation

/// Runs a (rewritten) graph in float32, batched, splitting the batch over the cores.
///
/// Each worker runs whole sub-batches through the graph with single-threaded OpenBLAS, which keeps both
/// cores busy without synchronisation between layers (shared/specs/swift-stack-recipes.md §2).
public final class FloatExecutor: BatchExecutor {
    public let graph: Graph
    /// The input's batch size when the model fixes it; sub-batches are then exactly this size.
    public let fixedBatch: Int?
    /// Whether images are independent all the way through (no op mixes the batch into other
    /// dimensions), so the batch may be split over the cores.
    public let batchSplittable: Bool
    /// Images per sub-batch (see `BatchSplit`).
    let chunkLimit: Int
    let program: Program
    /// The steps that run on all of a worker's images at once (see `BatchedTail`).
    let tail: BatchedTail?

    struct Step: Sendable {
        let node: Node
        let inputs: [Slot]
        let outputs: [Int]
        /// A Relu/Clip that only this Conv's output feeds, applied inside the Conv.
        let clamp: Clamp
        /// Value slots read for the last time by this step.
        let releases: [Int]
        /// The graph names of `outputs` (a fused activation's output replaces the Conv's).
        let outputNames: [String]
        /// A Conv's constant weights in the AVX-512 kernel's layout, when that kernel is used.
        let packed: PackedConvWeights?
    }

    struct Program: Sendable {
        let steps: [Step]
        let constants: [Tensor]
        let valueCount: Int
        let inputSlot: Int
        let outputSlots: [Int]
    }

    /// Who does Conv's matrix products (see `GemmBackend`).
    public let gemm: GemmBackend

    /// `fuseActivations: false` keeps every Conv output visible to `observe` (the analysis needs pre-activation values).
    public init(graph: Graph, fuseActivations: Bool = true, gemm: GemmBackend = .preferred) throws {
        guard graph.inputs.count == 1 else {
            throw AutoMixError.invalidArgument("model '\(graph.name)' has \(graph.inputs.count) inputs; AutoMix runs single-input classifiers")
        }
        if let n = graph.nodes.first(where: { $0.op.isFoldOnly }) {
            throw ShapeInference.fail(n, "shape arithmetic on runtime values cannot be executed")
        }
        self.graph = graph
        self.gemm = gemm.isAvailable ? gemm : .openBLAS
        Self.keepLargeAllocationsInHeap
        let b = graph.inputs[0].shape.first ?? -1
        fixedBatch = b > 0 ? b : nil
        batchSplittable = Self.keepsBatchLeading(graph)
        chunkLimit = BatchSplit.chunkLimit(graph)

        var table = SlotTable(input: graph.inputs[0].name)
        var steps: [(Node, [Slot], [Int], Clamp, [String])] = []
        let consumers = graph.consumers()
        let graphOutputs = Set(graph.outputs.map(\.name))
        var fusedActivation: [Int: Int] = [:]   // conv node index -> the Relu/Clip node it absorbs
        for (i, n) in graph.nodes.enumerated() where fuseActivations && n.op == .conv && !graphOutputs.contains(n.outputs[0]) {
            if let users = consumers[n.outputs[0]], users.count == 1, graph.nodes[users[0]].op.rule.activation == .clamp,
               graph.nodes[users[0]].inputs.count == 1 {
                fusedActivation[i] = users[0]
            }
        }
        let absorbed = Set(fusedActivation.values)
        for (i, n) in graph.nodes.enumerated() {
            if absorbed.contains(i) { continue }
            let activationIndex = fusedActivation[i]
            let clamp: Clamp = activationIndex.map { a -> Clamp in
                let f = graph.nodes[a]
                return f.op == .relu ? Clamp(lo: 0, hi: .infinity)
                    : Clamp(lo: f.float("min", default: -.infinity), hi: f.float("max", default: .infinity))
            } ?? .none
            let outputNames = activationIndex.map { graph.nodes[$0].outputs } ?? n.outputs
            let ins = table.inputs(of: n, step: steps.count, graph: graph)
            steps.append((n, ins, table.outputs(outputNames), clamp, outputNames))
        }
        let outputSlots = try table.outputSlots(of: graph)
        let keep = Set(outputSlots)
        let backend = self.gemm
        func packed(_ node: Node, _ inputs: [Slot]) -> PackedConvWeights? {
            guard node.op == .conv, inputs.count > 1, case let .constant(c) = inputs[1] else { return nil }
            return PackedConvWeights(conv: table.constants[c], group: node.int("group", default: 1), backend: backend)
        }
        program = Program(
            steps: steps.enumerated().map { i, s in
                Step(node: s.0, inputs: s.1, outputs: s.2, clamp: s.3, releases: table.releases(after: i, keeping: keep),
                     outputNames: s.4, packed: packed(s.0, s.1))
            },
            constants: table.constants, valueCount: table.slots.count, inputSlot: 0, outputSlots: outputSlots)
        tail = BatchedTail.of(graph, table: table, steps: program.steps.map { ($0.inputs, $0.outputs) }, outputSlots: outputSlots,
                              splittable: batchSplittable, fixedBatch: fixedBatch)
    }

    /// glibc serves large blocks with fresh mmap pages, so every activation tensor would pay page faults
    /// and zeroing by the kernel; keeping them in the heap lets freed activations be reused.
    static let keepLargeAllocationsInHeap: Void = {
        #if os(Linux)
        _ = glibcMallopt(-3, 1 << 30)   // M_MMAP_THRESHOLD (malloc.h, not exported by the Glibc module)
        _ = glibcMallopt(-1, 1 << 30)   // M_TRIM_THRESHOLD
        #endif
    }()

    /// Runs one batch (NCHW, batch first); returns the graph outputs in order.
    public func run(_ input: Tensor) throws -> [Tensor] {
        try BatchSplit.run(input, fixedBatch: fixedBatch, splittable: batchSplittable, modelName: graph.name, chunkLimit: workerChunkLimit) {
            try self.runChunk($0)
        }
    }

    /// Images per worker's piece: with a batched tail, as many as the batch gives each core (`runChunk` splits the head).
    var workerChunkLimit: Int { tail == nil ? chunkLimit : .max }

    /// True when every value's shape for batch 2 is its shape for batch 1 with a doubled leading dimension.
    static func keepsBatchLeading(_ graph: Graph) -> Bool {
        func shapes(batch: Int) -> [String: [Int]]? {
            var g = graph
            g.inputs[0].shape[0] = batch
            return (try? g.inferShapes()) != nil ? g.shapes : nil
        }
        guard graph.inputs[0].shape.first.map({ $0 <= 1 }) == true,
              let one = shapes(batch: 1), let two = shapes(batch: 2) else { return false }
        return one.allSatisfy { name, s in
            guard let t = two[name], !s.isEmpty, s.count == t.count else { return false }
            return s[0] == 1 && t[0] == 2 && s.dropFirst() == t.dropFirst()
        }
    }

    /// Runs a batch and hands every produced value (graph input included) to `observe`, possibly from
    /// several workers at once; the values a fused Conv absorbs are not seen.
    /// With `split: false` the whole batch runs as one piece, so `observe` sees each value once, in order.
    public func run(_ input: Tensor, split: Bool = true, observe: @escaping @Sendable (String, Tensor) -> Void) throws -> [Tensor] {
        try BatchSplit.run(input, fixedBatch: fixedBatch, splittable: split && batchSplittable, modelName: graph.name,
                           chunkLimit: chunkLimit) {
            observe(self.graph.inputs[0].name, $0)
            return try self.runChunk($0, observe: observe)
        }
    }

    /// Every value of one batch, none released: the starting point of `rerun`.
    public struct Trace: @unchecked Sendable {
        var values: [Tensor?]
        public let outputs: [Tensor]
    }

    /// Runs one batch on the calling thread and keeps every value.
    public func trace(_ input: Tensor) throws -> Trace {
        var values = [Tensor?](repeating: nil, count: program.valueCount)
        values[program.inputSlot] = input
        try runSteps(&values, from: 0, release: false)
        return Trace(values: values, outputs: program.outputSlots.map { values[$0]! })
    }

    /// The graph outputs when the step computing `node` is replaced: `replacement` gets that step's inputs
    /// (constants included) and its fused Relu/Clip, and returns its outputs; earlier values come from `trace`.
    public func rerun(_ trace: Trace, from node: String, replacement: ([Tensor?], Clamp) throws -> [Tensor]) throws -> [Tensor] {
        guard let i = program.steps.firstIndex(where: { $0.node.name == node }) else {
            throw AutoMixError.invalidArgument("layer '\(node)' is not a step of the float program")
        }
        var values = trace.values
        let step = program.steps[i]
        for (s, t) in zip(step.outputs, try replacement(inputs(of: step, values), step.clamp)) { values[s] = t }
        try runSteps(&values, from: i + 1, release: true)
        return program.outputSlots.map { values[$0]! }
    }

    /// `rerun` over several traces (one image or sub-batch each), the outputs of all of them as one batch: steps
    /// before the batched tail run trace by trace, the tail on all at once (see `BatchedTail`).
    public func rerun(_ traces: [Trace], from node: String, replacement: ([Tensor?], Clamp) throws -> [Tensor]) throws -> [Tensor] {
        guard let i = program.steps.firstIndex(where: { $0.node.name == node }) else {
            throw AutoMixError.invalidArgument("layer '\(node)' is not a step of the float program")
        }
        guard let tail, traces.count > 1 else {
            let each = try traces.map { try rerun($0, from: node, replacement: replacement) }
            return (0..<program.outputSlots.count).map { o in Tensor(concatenatingImages: each.map { $0[o] }) }
        }
        let step = program.steps[i]
        var values: [Tensor?]
        if i < tail.start {
            values = try tail.handOver(pieces: traces.count, count: program.valueCount) { p in
                var own = traces[p].values
                for (s, t) in zip(step.outputs, try replacement(inputs(of: step, own), step.clamp)) { own[s] = t }
                try runSteps(&own, from: i + 1, to: tail.start, release: true)
                return own
            }
            try runSteps(&values, from: tail.start, release: true)
        } else {
            // the values made before step i that it or a later step reads, every trace's images side by side
            values = [Tensor?](repeating: nil, count: program.valueCount)
            let later = program.steps[i...]
            let needed = Set(later.flatMap { $0.inputs.compactMap(\.valueSlot) })
                .union(program.outputSlots).subtracting(later.flatMap(\.outputs))
            for slot in needed { values[slot] = Tensor(concatenatingImages: traces.map { $0.values[slot]! }) }
            for (s, t) in zip(step.outputs, try replacement(inputs(of: step, values), step.clamp)) { values[s] = t }
            try runSteps(&values, from: i + 1, release: true)
        }
        return program.outputSlots.map { values[$0]! }
    }

    func inputs(of step: Step, _ values: [Tensor?]) -> [Tensor?] {
        step.inputs.map { slot in
            switch slot {
            case let .value(s): return values[s]
            case let .constant(c): return program.constants[c]
            case .absent: return nil
            }
        }
    }

    func runSteps(_ values: inout [Tensor?], from first: Int, to end: Int? = nil, release: Bool,
                  observe: ((String, Tensor) -> Void)? = nil, time: StepTimer? = nil) throws {
        let range = first..<(end ?? program.steps.count)
        for (index, step) in zip(range, program.steps[range]) {
            let start = time == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            defer { time?(index, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
            let outs = try FloatOps.evaluate(step.node, inputs(of: step, values), opset: graph.opset, clamp: step.clamp,
                                             packed: step.packed, backend: gemm)
            if release { for s in step.releases { values[s] = nil } }
            for (s, t) in zip(step.outputs, outs) { values[s] = t }
            if let observe { for (name, t) in zip(step.outputNames, outs) { observe(name, t) } }
        }
    }

    /// Time spent in each step when one batch runs on the calling thread (with single-threaded BLAS, as each worker
    /// runs), head and tail as a worker runs them: what `automix bench --profile` prints.
    public func profile(_ input: Tensor) throws -> [(node: Node, seconds: Double)] {
        openblas_set_num_threads(1)
        var seconds = [Double](repeating: 0, count: program.steps.count)
        _ = try runChunk(input, time: { seconds[$0] += $1 })
        return zip(program.steps, seconds).map { ($0.node, $1) }
    }

    /// Runs one sub-batch on the calling thread: with a batched tail, the head `chunkLimit` images at a time and
    /// the tail on all of them. Observed runs stay whole: observers (calibration, the analyses) expect each value
    /// once per call, for all its images.
    func runChunk(_ input: Tensor, observe: ((String, Tensor) -> Void)? = nil, time: StepTimer? = nil) throws -> [Tensor] {
        var values = [Tensor?](repeating: nil, count: program.valueCount)
        let images = input.shape.first ?? 1
        guard let tail, images > chunkLimit, observe == nil else {
            values[program.inputSlot] = input
            try runSteps(&values, from: 0, release: true, observe: observe, time: time)
            return program.outputSlots.map { values[$0]! }
        }
        values = try tail.handOver(images: images, chunk: chunkLimit, count: program.valueCount) { range in
            var head = [Tensor?](repeating: nil, count: program.valueCount)
            head[program.inputSlot] = input.images(range)
            try runSteps(&head, from: 0, to: tail.start, release: true, time: time)
            return head
        }
        try runSteps(&values, from: tail.start, release: true, time: time)
        return program.outputSlots.map { values[$0]! }
    }
}

#if os(Linux)
@_silgen_name("mallopt")
private func glibcMallopt(_ option: Int32, _ value: Int32) -> Int32
#endif
