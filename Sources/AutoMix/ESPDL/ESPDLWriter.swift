import Foundation

/// Serialises an `ESPDLFile` as ESP-PPQ does (shared/specs/espdl-format-and-quantization.md §1.1, §1.3–§1.4):
/// EDL2 header, one FlatBuffers payload padded to 16 bytes, every `raw_data` block 16-byte aligned.
extension ESPDLFile {
    /// The whole file: 16-byte EDL2 header (mode 0) and the payload.
    public func serialized() -> [UInt8] {
        let payload = flatBuffer()
        var out: [UInt8] = Array("EDL2".utf8)
        for word in [UInt32(0), UInt32(payload.count), 0] {
            for j in 0..<4 { out.append(UInt8(truncatingIfNeeded: word >> (8 * UInt32(j)))) }
        }
        out.append(contentsOf: payload)
        return out
    }

    /// Writes the file atomically.
    public func write(to path: String) throws {
        try writeAtomically(Data(serialized()), to: URL(fileURLWithPath: path))
    }

    /// Every value name in graph order: inputs, then each node's outputs (ESP-PPQ writes all of them).
    var valueOrder: [String] {
        var seen = Set<String>(), order: [String] = []
        for v in inputs.map(\.name) + nodes.flatMap(\.outputs) where seen.insert(v).inserted && valueInfo[v] != nil { order.append(v) }
        return order
    }

    func flatBuffer() -> [UInt8] {
        var b = FlatBufferBuilder(capacity: initializers.values.reduce(1 << 16) { $0 + $1.count * $1.dataType.byteSize + 64 })
        let nodeRefs = nodes.map { Self.write($0, &b) }
        let initRefs = initializerOrder.compactMap { initializers[$0] }.map { Self.write($0, &b) }
        let inputRefs = inputs.map { Self.write($0, &b) }
        let outputRefs = outputs.map { Self.write($0, &b) }
        let infoRefs = valueOrder.map { Self.write(valueInfo[$0]!, &b) }
        let testIn = testInputs.map { Self.write($0, &b) }
        let testOut = testOutputs.map { Self.write($0, &b) }
        let nodeVec = b.offsets(nodeRefs), initVec = b.offsets(initRefs), inVec = b.offsets(inputRefs)
        let outVec = b.offsets(outputRefs), infoVec = b.offsets(infoRefs)
        let testInVec = b.offsets(testIn), testOutVec = b.offsets(testOut)
        let name = b.string(graphName)
        b.startTable()
        b.add(slot: 4, nodeVec); b.add(slot: 6, name); b.add(slot: 8, initVec); b.add(slot: 12, inVec)
        b.add(slot: 14, outVec); b.add(slot: 16, infoVec); b.add(slot: 20, testInVec); b.add(slot: 22, testOutVec)
        let graph = b.endTable()

        let metaRefs = metadata.keys.sorted().map { key -> FlatBufferBuilder.Ref in
            let (k, v) = (b.string(key), b.string(metadata[key]!))
            b.startTable(); b.add(slot: 4, k); b.add(slot: 6, v)
            return b.endTable()
        }
        let metaVec = metaRefs.isEmpty ? nil : b.offsets(metaRefs)
        let opsets = b.offsets([])
        b.startTable()
        if irVersion != 0 { b.add(slot: 4, int32: Int32(irVersion)) }
        b.add(slot: 6, opsets)
        b.add(slot: 18, graph)
        if let metaVec { b.add(slot: 20, metaVec) }
        let model = b.endTable()
        return b.finish(root: model)
    }

    static func rawBytes(_ t: TensorData) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(t.count * t.dataType.byteSize)
        func put(_ v: UInt64, _ n: Int) { for j in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(j)))) } }
        switch t.dataType {
        case .float: for v in t.floats { put(UInt64(v.bitPattern), 4) }
        case .double: for v in t.floats { put(Double(v).bitPattern, 8) }
        default: for v in t.ints { put(UInt64(bitPattern: v), t.dataType.byteSize) }
        }
        return out
    }

    static func write(_ t: TensorData, _ b: inout FlatBufferBuilder) -> FlatBufferBuilder.Ref {
        let raw = b.alignedBytes(rawBytes(t))
        let dims = b.int64s(t.dims.map { Int64($0) })
        let exponents = b.int64s(t.exponents.map { Int64($0) })
        let name = b.string(t.name)
        let doc = t.doc.isEmpty ? nil : b.string(t.doc)
        b.startTable()
        b.add(slot: 4, dims)
        b.add(slot: 6, int32: t.dataType.rawValue)
        b.add(slot: 16, name)
        if let doc { b.add(slot: 18, doc) }
        b.add(slot: 20, raw)
        b.add(slot: 30, exponents)
        return b.endTable()
    }

    static func write(_ v: ValueInfo, _ b: inout FlatBufferBuilder) -> FlatBufferBuilder.Ref {
        let dims = v.shape.map { d -> FlatBufferBuilder.Ref in
            b.startTable(); b.add(slot: 4, uint8: 1); b.add(slot: 6, int64: Int64(d))
            let value = b.endTable()
            b.startTable(); b.add(slot: 4, value)
            return b.endTable()
        }
        let dimVec = b.offsets(dims)
        b.startTable(); b.add(slot: 4, dimVec)
        let shape = b.endTable()
        b.startTable(); b.add(slot: 4, int32: (v.dataType ?? .float).rawValue); b.add(slot: 6, shape)
        let tensorType = b.endTable()
        b.startTable(); b.add(slot: 4, uint8: 1); b.add(slot: 6, tensorType)
        let typeInfo = b.endTable()
        let name = b.string(v.name)
        let exponents = b.int64s([Int64(v.exponent)])
        b.startTable(); b.add(slot: 4, name); b.add(slot: 6, typeInfo); b.add(slot: 10, exponents)
        return b.endTable()
    }

    static func write(_ n: Node, _ b: inout FlatBufferBuilder) -> FlatBufferBuilder.Ref {
        let attributes = n.attributes.keys.sorted().map { key -> FlatBufferBuilder.Ref in
            let value = n.attributes[key]!
            var payload: FlatBufferBuilder.Ref?
            var type: Int32
            switch value {
            case .int: type = 2
            case .float: type = 1
            case let .string(s): type = 3; payload = b.bytes(Array(s.utf8))
            case let .ints(v): type = 7; payload = b.int64s(v.map { Int64($0) })
            case let .floats(v): type = 6; payload = b.floats(v)
            case let .tensor(c):
                type = 4
                let t: TensorData
                switch c {
                case let .float(x): t = TensorData(name: "", dataType: .float, dims: x.shape, exponents: [0], ints: [], floats: x.data)
                case let .int(shape, values): t = TensorData(name: "", dataType: .int64, dims: shape, exponents: [0], ints: values, floats: [])
                }
                payload = write(t, &b)
            }
            let name = b.string(key)
            b.startTable()
            b.add(slot: 4, name)
            b.add(slot: 10, int32: type)
            switch value {
            case let .int(v): b.add(slot: 14, int64: Int64(v))
            case let .float(v): b.add(slot: 12, float32: v)
            case .string: b.add(slot: 16, payload!)
            case .tensor: b.add(slot: 18, payload!)
            case .floats: b.add(slot: 24, payload!)
            case .ints: b.add(slot: 26, payload!)
            }
            return b.endTable()
        }
        let attrVec = b.offsets(attributes)
        let inputs = b.strings(n.inputs), outputs = b.strings(n.outputs)
        let name = b.string(n.name), op = b.string(n.opType)
        b.startTable()
        b.add(slot: 4, inputs); b.add(slot: 6, outputs); b.add(slot: 8, name); b.add(slot: 10, op); b.add(slot: 14, attrVec)
        return b.endTable()
    }
}
