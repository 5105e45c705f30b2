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
        (["bench", "--model", model, "--threads", "0"], "--threads"),
        (["quantize", "--model", model, "--calib", calib, "--data", val, "--bits", "7"], "--bits"),
        (["export", "--model", model, "--calib", calib, "--equalization-level", "3"], "--equalization-level"),
        (["run", "x.espdl", "--batch", "0"], "--batch"),
        (["eval", "--model", model, "--data", val, "--batch", "100000"], "at most 4096"),
        (["eval", "--model", model, "--data", val, "--resize", "100000"], "--resize"),
        (["quantize", "--model", model, "--calib", calib, "--data", val, "--equalization-level", "2"], "only with --equalization"),
    ])
    func optionsValidated(_ args: [String], _ option: String) throws {
        try expectUsageError(args, mentions: option)
    }

    @Test("AUTOMIX_THREADS that is not a count 1…1024 is refused like --threads; --threads takes its place", arguments: ["abc", "0", "2000"])
    func threadsVariableValidated(_ value: String) throws {
        let refused = try runCLI(["bench", "--model", Self.model, "--runs", "1"], environment: ["AUTOMIX_THREADS": value])
        #expect(refused.status == 64 && refused.err.hasPrefix("Error: AUTOMIX_THREADS"), "\(refused.err)")
        let given = try runCLI(["bench", "--model", Self.model, "--runs", "1", "--threads", "1"], environment: ["AUTOMIX_THREADS": value])
        #expect(given.status == 0, "\(given.err)")
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

extension HardeningTests {
    /// A PNG whose header claims `width`×`height` (8-bit RGB), with almost no data.
    static func pngHeader(width: UInt32, height: UInt32) -> Data {
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let t = Array(type.utf8)
            var crc: UInt32 = 0xFFFF_FFFF
            for b in t + body { crc ^= UInt32(b); for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 } }
            return be(UInt32(body.count)) + t + body + be(~crc)
        }
        let ihdr = be(width) + be(height) + [8, 2, 0, 0, 0]
        let idat: [UInt8] = [0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", []))
    }

    @Test("a PNG or JPEG header claiming a huge size is refused before any pixel memory is allocated, also with --skip-bad-images")
    func hugeImageHeaders() throws {
        let root = Fixtures.temporaryDirectory(), cls = root.appendingPathComponent("0")
        try FileManager.default.createDirectory(at: cls, withIntermediateDirectories: true)
        try Self.pngHeader(width: 100_000, height: 100_000).write(to: cls.appendingPathComponent("huge.png"))
        var jpeg = [UInt8](try Data(contentsOf: Fixtures.root.appendingPathComponent("preprocess/rgb_q90_61x47.jpg")))
        let sof = (0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 }!
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0xEA, 0x60, 0xEA, 0x60])   // 60000 × 60000
        try Data(jpeg).write(to: cls.appendingPathComponent("huge.jpg"))
        for name in ["huge.png", "huge.jpg"] {
            #expect { _ = try ImageDecoder.decode(file: cls.appendingPathComponent(name).path) } throws: { "\($0)".contains("megapixels") }
        }
        try FileManager.default.copyItem(at: Fixtures.root.appendingPathComponent("preprocess/gray_28x28.png"), to: cls.appendingPathComponent("ok.png"))
        let r = try runCLI(["eval", "--model", Self.model, "--data", root.path, "--skip-bad-images", "--json"])
        #expect(r.status == 0 && r.out.contains("\"skipped\":2") && r.err.contains("huge.png"), "\(r.err)")
    }

    /// Seeded byte mutations of small `.espdl` goldens: every one is read and, when it reads, run on its test input and on a
    /// fixed input; each ends in a value or an AutoMix error, never a trap (a trap ends the test process).
    @Test("fuzz: 300 mutated .espdl files give errors, never traps")
    func fuzzESPDL() throws {
        let dir = Fixtures.root.appendingPathComponent("esp-dl-zoo")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("Gemm") || $0.contains("how_to_run_model") }.sorted()
        let sources = try files.map { try Data(contentsOf: dir.appendingPathComponent($0)) }
        #expect(sources.count >= 4)
        var rng = SplitMix64(seed: 16)
        var errors = 0
        for _ in 0..<300 {
            var bytes = [UInt8](sources[Int(rng.next() % UInt64(sources.count))])
            switch rng.next() % 4 {
            case 0: for _ in 0..<(1 + rng.next() % 8) { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(rng.next() & 255) }
            case 1:
                let p = Int(rng.next() % UInt64(bytes.count - 4)) & ~3
                let word: [UInt8] = [[255, 255, 255, 255], [0, 0, 0, 128], [255, 255, 255, 127], [0, 0, 1, 0]][Int(rng.next() % 4)]
                bytes.replaceSubrange(p..<(p + 4), with: word)
            case 2: bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
            default:
                let p = Int(rng.next() % UInt64(bytes.count))
                for i in p..<min(p + 64, bytes.count) { bytes[i] = 0 }
            }
            do {
                let file = try ESPDLFile.read(bytes: bytes, path: "fuzz.espdl")
                let model = try ESPDLModel.load(file: file)
                _ = try? model.checkTestValues()
                _ = try model.runOnFixedInput()
            } catch is AutoMixError {
                errors += 1
            }
        }
        #expect(errors > 0)
    }
}


extension HardeningTests {
    static func mutate(_ source: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = source
        switch rng.next() % 3 {
        case 0: for _ in 0..<(1 + rng.next() % 8) { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(rng.next() & 255) }
        case 1: bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
        default:
            let p = Int(rng.next() % UInt64(bytes.count - 4))
            bytes.replaceSubrange(p..<(p + 4), with: [[255, 255, 255, 127], [0, 0, 0, 128], [255, 255, 255, 255]][Int(rng.next() % 3)])
        }
        return bytes
    }

    @Test("fuzz: 100 mutated ONNX models and 300 mutated PNG/JPEG files give errors or results, never traps")
    func fuzzONNXAndImages() throws {
        var rng = SplitMix64(seed: 17)
        let onnx = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.model("fmnist_mbv2s"))))
        let dir = Fixtures.temporaryDirectory()
        let image = fixedInput([1, 1, 28, 28])
        for i in 0..<100 {
            let path = dir.appendingPathComponent("m\(i).onnx")
            try Data(Self.mutate(onnx, &rng)).write(to: path)
            do {
                let g = try Graph.prepared(onnx: path.path)
                _ = try FloatExecutor(graph: g).run(image)
            } catch is AutoMixError {}
            try FileManager.default.removeItem(at: path)
        }
        let images = try ["preprocess/gray_28x28.png", "preprocess/rgb_q90_61x47.jpg"].map {
            [UInt8](try Data(contentsOf: Fixtures.root.appendingPathComponent($0)))
        }
        for i in 0..<300 {
            let path = dir.appendingPathComponent(i % 2 == 0 ? "i.png" : "i.jpg")
            try Data(Self.mutate(images[i % 2], &rng)).write(to: path)
            do { _ = try ImageDecoder.decode(file: path.path) } catch is AutoMixError {}
        }
    }
}

extension HardeningTests {
    static let jsonCases: [([String], Int32)] = [
        (["eval", "--model", model, "--data", val, "--limit", "20", "--json"], 0),
        (["eval", "--model", model, "--data", val, "--limit", "0", "--json"], 64),
        (["eval", "--model", "/nowhere.onnx", "--data", val, "--json"], 1),
        (["quantize", "--model", model, "--calib", calib, "--calib-limit", "32", "--data", val, "--limit", "20", "--json"], 0),
        (["run", Fixtures.root.appendingPathComponent("esp-ppq/fmnist_cnn_esp32p4_int8.espdl").path, "--json"], 0),
        (["bench", "--model", model, "--runs", "1", "--batch", "2", "--json"], 0),
    ]

    @Test("--json: stdout is one JSON object for every command and exit path (success, error, usage error)", arguments: jsonCases)
    func jsonOnly(_ args: [String], _ status: Int32) throws {
        let r = try runCLI(args)
        #expect(r.status == status, "\(r.err)")
        let object = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        #expect(object?["automix_version"] as? String == AutoMixVersion.string, "stdout: \(r.out)")
        if status != 0 { #expect(object?["error"] is String && object?["exit_code"] as? Int == Int(status)) }
    }
}

extension HardeningTests {
    @Test("search with its bundled defaults works from another folder (the data found in the AutoMix folder, the files written here); a missing input leaves no folder behind")
    func searchDefaultsElsewhere() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func search(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Fixtures.cli)
            p.arguments = ["search"] + args
            p.currentDirectoryURL = dir
            let out = Pipe(), err = Pipe()
            p.standardError = err
            p.standardOutput = out
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        }
        let missing = try search(["--model", "Datasets/models/absent.onnx"])
        #expect(missing.status == 1)
        #expect(missing.err.contains("--model Datasets/models/absent.onnx") && missing.err.contains("Scripts/setup.sh"), "\(missing.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)

        // a budget all-int8 meets (one trial), on a few images
        let found = try search(["--limit", "100", "--calib-limit", "32", "--max-drop", "50", "--json"])
        #expect(found.status == 0, "\(found.err)")
        let object = try JSONSerialization.jsonObject(with: Data(found.out.utf8)) as? [String: Any]
        #expect(object?["budget_met"] as? Bool == true)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("Results/fmnist_mbv2s.espdl").path))
    }
}

extension HardeningTests {
    @Test("--resume against another model is refused before any image is decoded")
    func resumeOtherModelRefusedEarly() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = ["search", "--calib", Fixtures.fashion + "/calib", "--data", Fixtures.fashion + "/val", "--limit", "100",
                      "--calib-limit", "32", "--max-drop", "50", "--results", dir.path + "/R", "--log-dir", dir.path + "/L",
                      "--tmp-dir", dir.path + "/T"]
        let first = try runCLI(common + ["--model", Fixtures.model("fmnist_mbv2s")])
        #expect(first.status == 0, "\(first.err)")
        let other = try runCLI(common + ["--model", Fixtures.model("fmnist_cnn"), "--resume"])
        #expect(other.status == 1)
        #expect(other.err.contains("the journal was made for model"), "\(other.err)")
        #expect(!other.err.contains("decode"), "decoded images before refusing: \(other.err)")
    }
}
