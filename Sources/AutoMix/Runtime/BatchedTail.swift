/// Where a network's values become small: from `start` on, every value of one image holds at most `limit`
/// floats (MobileNetV2 at 224: the 7×7 layers and the classifier). The executors run the head image by image, so
/// its large values stay in cache (`BatchSplit.chunkLimit`), and the tail on all of a worker's images at once, so
/// each weight is read once for all of them: image by image, a 7×7 layer reads its weights for 49 columns and the
/// classifier its 5 MB for one row, and the tail took 2.6 of MobileNetV2's 6.6 ms per image.
struct BatchedTail: Sendable {
    /// The tail's first step.
    let start: Int
    /// The values the head hands the tail: made before `start` (the graph input included) and read from `start`
    /// on, or graph outputs.
    let live: [Int]

    /// nil when the first step's values are already small (the whole network runs batched) or no step's are.
    /// `steps`: each step's value slots read and written; `perImage`: a slot's floats per image, nil if unknown.
    init?(steps: [(reads: [Int], writes: [Int])], inputSlot: Int, outputSlots: [Int], perImage: (Int) -> Int?,
          limit: Int = 1 << 16) {
        func small(_ slot: Int) -> Bool { perImage(slot).map { $0 <= limit } ?? false }
        var start = steps.count
        while start > 0, (steps[start - 1].reads + steps[start - 1].writes).allSatisfy(small) { start -= 1 }
        guard start > 0, start < steps.count else { return nil }
        self.start = start
        var madeInHead: Set<Int> = [inputSlot]
        for step in steps[..<start] { madeInHead.formUnion(step.writes) }
        let readInTail = Set(steps[start...].flatMap(\.reads)).union(outputSlots)
        live = madeInHead.intersection(readInTail).sorted()
    }

    /// An executor's tail: nil unless images are independent and the batch is open (`BatchSplit`'s conditions),
    /// sizes from the graph's inferred shapes of the slots `table` numbered.
    static func of(_ graph: Graph, table: SlotTable, steps: [(inputs: [Slot], outputs: [Int])], outputSlots: [Int],
                   splittable: Bool, fixedBatch: Int?) -> BatchedTail? {
        guard splittable, fixedBatch == nil else { return nil }
        let names = Dictionary(table.slots.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        return BatchedTail(steps: steps.map { ($0.inputs.compactMap(\.valueSlot), $0.outputs) }, inputSlot: 0,
                           outputSlots: outputSlots, perImage: { graph.perImageCount(names[$0] ?? "") })
    }

    /// The tail's first values: `head(p)` runs the head on piece `p` and returns its values; the live ones of every
    /// piece, side by side in piece order, in a value array of `count` slots.
    func handOver(pieces: Int, count: Int, _ head: (Int) throws -> [Tensor?]) rethrows -> [Tensor?] {
        var handed: [[Tensor]] = []
        for p in 0..<pieces {
            let values = try head(p)
            handed.append(live.map { values[$0]! })
        }
        var values = [Tensor?](repeating: nil, count: count)
        for (i, slot) in live.enumerated() { values[slot] = Tensor(concatenatingImages: handed.map { $0[i] }) }
        return values
    }
}

extension BatchedTail {
    /// `handOver` for a batch of `images` whose head runs `chunk` images at a time: `head(range)` runs those images.
    func handOver(images: Int, chunk: Int, count: Int, _ head: (Range<Int>) throws -> [Tensor?]) rethrows -> [Tensor?] {
        let firsts = Array(stride(from: 0, to: images, by: chunk))
        return try handOver(pieces: firsts.count, count: count) { p in try head(firsts[p]..<min(firsts[p] + chunk, images)) }
    }
}

extension Graph {
    /// Floats per image of a value (its inferred shape past the batch), nil when unknown.
    func perImageCount(_ name: String) -> Int? {
        guard let s = shapes[name], s.count > 1, s.dropFirst().allSatisfy({ $0 > 0 }) else { return nil }
        return s.dropFirst().reduce(1, *)
    }
}

/// Seconds spent in step `index`, reported by the executors' `runSteps` for `profile` (which sums a chunk's head pieces).
typealias StepTimer = (_ index: Int, _ seconds: Double) -> Void
