import Foundation
import ONNXProto
import Testing
@testable import AutoMix

/// Issue 16's catalogue, the points fixed so far: options refused before any work, naming the option; model and
/// config values taken on trust refused with the file and the thing named.
@Suite struct HardeningTests {
    static let model = Fixtures.model("fmnist_cnn")
    static let val = Fixtures.fashion + "/val", calib = Fixtures.fashion + "/calib"

    /// argument-parser's usage error: exit 64, the first line names the option.
    func expectUsageError(_ args: [String], mentions needle: String) throws {
        let r = try runCLI(args)
        #expect(r.status == 64, "\(args): exit \(r.status), \(r.err)")
        let first = r.err.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("Error:") && first.contains(needle), "\(args): \(r.err)")
    }

    @Test("zero, negative and non-finite option values are refused before any work, naming the option", arguments: [
        (["eval", "--model", model, "--data", val, "--limit", "0"], "--limit"),
        (["eval", "--model", model, "--data", val, "--batch", "0"], "--batch"),
        (["eval", "--model", model, "--data", val, "--mean", "nan"], "--mean"),
        (["search", "--limit", "-5"], "--limit"),
        (["search", "--calib-batch", "0"], "--calib-batch"),
        (["search", "--max-drop", "nan"], "--max-drop"),
        (["search", "--max-drop", "2", "--relative"], "--relative"),
        (["bench", "--model", model, "--runs", "0"], "--runs"),
        (["quantize", "--model", model, "--calib", calib, "--data", val, "--bits", "7"], "--bits"),
        (["export", "--model", model, "--calib", calib, "--equalization-level", "3"], "--equalization-level"),
        (["run", "x.espdl", "--batch", "0"], "--batch"),
    ])
    func optionsValidated(_ args: [String], _ option: String) throws {
        try expectUsageError(args, mentions: option)
    }

    @Test("--target, --bits or --layer beside --config are refused, not silently ignored")
    func configExcludesFlags() throws {
        let config = Fixtures.temporaryDirectory().appendingPathComponent("c.json")
        try SearchOutputs.finalConfig(QuantizationConfig(target: .esp32s3), extra: [:]).write(to: config)
        try expectUsageError(["quantize", "--model", Self.model, "--calib", Self.calib, "--data", Self.val, "--config", config.path,
                              "--target", "esp32p4", "--bits", "16"], mentions: "--target, --bits")
    }

    @Test("a config with bits 7 or 0 is refused naming the file, not run as int8", arguments: [7, 0])
    func configBits(_ bits: Int) throws {
        let config = Fixtures.temporaryDirectory().appendingPathComponent("c.json")
        try SearchOutputs.finalConfig(QuantizationConfig(target: .esp32p4), extra: [:]).write(to: config)
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        object["bits"] = bits
        try JSONSerialization.data(withJSONObject: object).write(to: config)
        #expect { _ = try SearchOutputs.readConfig(config.path) } throws: { "\($0)".contains(config.path) && "\($0)".contains("bits") }
    }

    /// fmnist_cnn with one initializer value replaced.
    func modelWith(_ change: (inout Onnx_ModelProto) -> Void) throws -> String {
        var m = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: Self.model)))
        change(&m)
        let path = Fixtures.temporaryDirectory().appendingPathComponent("m.onnx")
        try (m.serializedBytes() as Data).write(to: path)
        return path.path
    }

    @Test("a NaN or infinite weight is refused at load, naming the initializer", arguments: [Float.nan, .infinity])
    func nonFiniteWeight(_ value: Float) throws {
        var name = ""
        let path = try modelWith { m in
            let i = m.graph.initializer.firstIndex { $0.dims.count == 4 }!
            name = m.graph.initializer[i].name
            var t = try! ONNXTensor.read(m.graph.initializer[i], baseDirectory: nil, modelPath: "").floatTensor
            t.data[0] = value
            m.graph.initializer[i].rawData = t.data.withUnsafeBytes { Data($0) }
            m.graph.initializer[i].floatData = []
        }
        #expect { _ = try Graph.load(onnx: path) } throws: { "\($0)".contains("'\(name)'") && "\($0)".contains(path) }
    }

    @Test("an input of 100000×100000 is refused before anything is allocated; a directory is no model; a custom-domain Relu is named with its domain")
    func untrustedModels() throws {
        let huge = try modelWith { m in
            m.graph.input[0].type.tensorType.shape.dim[2].dimValue = 100_000
            m.graph.input[0].type.tensorType.shape.dim[3].dimValue = 100_000
        }
        #expect { _ = try Graph.load(onnx: huge) } throws: { "\($0)".contains("more than") }
        let dir = Fixtures.temporaryDirectory()
        #expect { _ = try Graph.load(onnx: dir.path) } throws: { "\($0)".contains("is a directory") }
        let custom = try modelWith { m in
            let i = m.graph.node.firstIndex { $0.opType == "Relu" }!
            m.graph.node[i].domain = "com.vendor"
        }
        #expect { _ = try Graph.load(onnx: custom) } throws: { "\($0)".contains("com.vendor.Relu") }
    }
}

extension HardeningTests {
    @Test("a second search in the same folders is refused naming the first one's pid; a lock left by a killed search is taken over")
    func searchLock() throws {
        let dir = Fixtures.temporaryDirectory()
        let results = dir.appendingPathComponent("Results").path
        let first = try SearchLock(folders: [results, dir.appendingPathComponent("log").path], command: "test")
        let r = try runCLI(SearchTests.arguments(dir, []).map { $0 == dir.appendingPathComponent("amct_log").path ? dir.appendingPathComponent("log").path : $0 })
        #expect(r.status == 1)
        #expect(r.err.contains("pid \(getpid())") && r.err.contains("in use"), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("tmp/\(SearchLock.fileName)").path), "no lock left behind")
        first.release()
        // a lock whose process is gone: a finished child's pid
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        try "\(child.processIdentifier) 2026-01-01T00:00:00Z search\n".write(toFile: results + "/" + SearchLock.fileName, atomically: true, encoding: .utf8)
        let second = try SearchLock(folders: [results], command: "test")
        #expect(try String(contentsOfFile: results + "/" + SearchLock.fileName, encoding: .utf8).hasPrefix("\(getpid()) "))
        second.release()
        #expect(!FileManager.default.fileExists(atPath: results + "/" + SearchLock.fileName))
    }

    @Test("a set of files fails as one: the previous set stays whole and no temporary is left")
    func fileSetIsOneUnit() throws {
        let dir = Fixtures.temporaryDirectory()
        let a = dir.appendingPathComponent("m.espdl"), b = dir.appendingPathComponent("m.info"), c = dir.appendingPathComponent("m.json")
        for (u, s) in [(a, "old espdl"), (b, "old info"), (c, "old json")] { try s.write(to: u, atomically: true, encoding: .utf8) }
        // the third file cannot be placed: its name is taken by a folder with something in it
        let blocked = dir.appendingPathComponent("m_deploy_model.onnx")
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent("inside"), withIntermediateDirectories: true)
        #expect(throws: AutoMixError.self) {
            try writeAllAtomically([(a, Data("new espdl".utf8)), (b, Data("new info".utf8)), (blocked, Data("new onnx".utf8)), (c, Data("new json".utf8))])
        }
        // the third file cannot be written at all: its folder does not exist
        let nowhere = dir.appendingPathComponent("missing/m_fake_quant_model.onnx")
        #expect(throws: AutoMixError.self) {
            try writeAllAtomically([(a, Data("new espdl".utf8)), (b, Data("new info".utf8)), (nowhere, Data("new onnx".utf8)), (c, Data("new json".utf8))])
        }
        for (u, s) in [(a, "old espdl"), (b, "old info"), (c, "old json")] { #expect(try String(contentsOf: u, encoding: .utf8) == s) }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(names.sorted() == ["m.espdl", "m.info", "m.json", "m_deploy_model.onnx"], "\(names)")
        try writeAllAtomically([(a, Data("new espdl".utf8)), (b, Data("new info".utf8))])
        #expect(try String(contentsOf: a, encoding: .utf8) == "new espdl")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).count == 4)
    }
}
