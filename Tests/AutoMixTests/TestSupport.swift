import Foundation
import Testing
@testable import AutoMix

enum Fixtures {
    static let root: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func dataset(_ rel: String) -> String { packageRoot.appendingPathComponent("Datasets/" + rel).path }
    static func model(_ name: String) -> String { dataset("models/\(name).onnx") }

    static func floats(_ url: URL) throws -> [Float] {
        let d = try Data(contentsOf: url)
        return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// The Fashion-MNIST ImageFolder: the one Scripts/setup.sh unpacked, else unpacked once per test run.
    static let fashion: String = {
        let unpacked = dataset("fashion_mnist")
        if FileManager.default.fileExists(atPath: unpacked + "/val") { return unpacked }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("automix-tests-fashion-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/tar")
        p.arguments = ["xzf", dataset("fashion_mnist_imagefolder.tar.gz"), "-C", dir.path]
        try! p.run()
        p.waitUntilExit()
        return dir.appendingPathComponent("fashion_mnist").path
    }()

    /// The automix executable built beside the tests.
    static var cli: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("automix").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return packageRoot.appendingPathComponent(".build/debug/automix").path
    }

    static func temporaryDirectory() -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("automix-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// The deterministic input of Scripts/make_golden.py `fixed_input`, bit for bit.
func fixedInput(_ shape: [Int]) -> Tensor {
    let n = shape.reduce(1, *)
    let data = (0..<n).map { i -> Float in
        let v = (UInt64(i) &* 2654435761 &+ 12345) % (1 << 32)
        return Float(v >> 8) / Float(1 << 24) * 2 - 1
    }
    return Tensor(shape: shape, data: data)
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// Runs the CLI; returns exit status, stdout and stderr.
func runCLI(_ args: [String], environment extra: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Fixtures.cli)
    p.arguments = args
    if !extra.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 } }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
