import Testing
@testable import AutoMix

@Suite("RebuildCache: what a search's trials share")
struct RebuildCacheTests {
    @Test("a value is handed out again only for equal inputs")
    func checksInputs() throws {
        let cache = RebuildCache()
        var made = 0
        func value(_ key: String, _ inputs: [Int]) -> Int { cache.value(key, inputs: inputs) { made += 1; return inputs.reduce(0, +) } }
        #expect(value("a", [1, 2]) == 3 && made == 1)
        #expect(value("a", [1, 2]) == 3 && made == 1)
        #expect(value("a", [1, 3]) == 4 && made == 2)   // same key, other inputs: made again
        #expect(value("b", [1, 3]) == 4 && made == 3)
        #expect(cache.hits == 1 && cache.misses == 3)
    }

    @Test("trials built through the cache quantize and run exactly as fresh builds (int8, int16, back to int8)")
    func trialsMatchFreshBuilds() throws {
        let graph = try BatchedTailTests.graph()
        let images = BatchedTailTests.images(2)
        let base = QuantizationConfig(target: .esp32p4, bits: 8)
        let calibration = try Calibration.run(try FloatExecutor(graph: try Quantizer.weightQuantizedGraph(graph, config: base)),
                                              batches: [images])
        let cache = RebuildCache()
        let layers = Quantizer.layers(of: graph).map(\.name)
        let plans: [[String: Precision]] = [[:], [layers[1]: .int16, layers[3]: .int16], [layers[1]: .int16], [:]]
        for plan in plans {
            var config = base
            config.layers = plan
            let fresh = try Quantizer(graph: graph, config: config, calibration: calibration).build()
            let cached = try Quantizer(graph: graph, config: config, calibration: calibration, cache: cache).build()
            #expect(cached.parameters == fresh.parameters && cached.formats == fresh.formats && cached.precisions == fresh.precisions)
            #expect(cached.graph.constants.keys.sorted() == fresh.graph.constants.keys.sorted())
            for (name, c) in fresh.graph.constants { #expect(cached.graph.constant(name)?.floatTensor == c.floatTensor, "\(name)") }
            let a = try QuantExecutor(model: fresh).run(images), b = try QuantExecutor(model: cached, cache: cache).run(images)
            #expect(a.map(\.data) == b.map(\.data), "plan \(plan)")
        }
        // the last plan repeats the first: every layer, weight and dequantized weight comes from the cache
        #expect(cache.hits >= 3 * layers.count)
    }
}
