import Foundation

extension ESPDLExporter {
    /// Reads the device graph back from its serialized bytes, emulates the graph as written and compares it with
    /// the plan's own outputs (the embedded test values). A writer bug that the plan cannot show (a wrong axis, a
    /// mis-packed filter, a lost attribute) is then an error naming the first node whose value differs, before any
    /// file is written.
    func verifyReadBack(_ file: ESPDLFile) throws {
        let label = "\(name).espdl"
        func fail(_ reason: String) -> AutoMixError {
            .invalidArgument("export self-check: the written \(label) \(reason); nothing was written")
        }
        let written: ESPDLModel
        let check: ESPDLModel.TestCheck
        do {
            written = try ESPDLModel.load(file: try ESPDLFile.read(bytes: file.serialized(), path: label), target: model.target)
            check = try written.checkTestValues(arithmetic: .exact)
        } catch let e as AutoMixError {
            throw fail("does not run as written (\(e.description))")
        }
        guard check.maxAbsDiff != 0 else { return }
        let node = try firstDifferingNode(written.model, input: written.testInputs[0].codes)
        throw fail("computes other values than the plan (max |diff| \(check.maxAbsDiff) steps), first at node '\(node)'")
    }

    /// The first node of the plan, in graph order, whose output differs between the plan and the written graph.
    func firstDifferingNode(_ written: QuantizedModel, input: Tensor) throws -> String {
        func everyValue(_ m: QuantizedModel, _ names: [String]) throws -> [String: Tensor] {
            var m = m
            m.graph.outputs = names.map { ValueInfo(name: $0, shape: m.graph.shapes[$0] ?? []) }
            return Dictionary(uniqueKeysWithValues: zip(names, try QuantExecutor(model: m).runCodes(input)))
        }
        let values = model.graph.nodes.flatMap(\.outputs).filter { written.graph.shapes[$0] != nil }
        let planned = try everyValue(model, values), emulated = try everyValue(written, values)
        for n in model.graph.nodes {
            for o in n.outputs where planned[o] != nil && planned[o] != emulated[o] { return n.name }
        }
        return written.graph.nodes.last?.name ?? "?"
    }
}
