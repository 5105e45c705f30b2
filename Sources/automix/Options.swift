import ArgumentParser
import AutoMix
import Foundation

struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Float ONNX classifier (opset 11–22).")
    var model: String
}

struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "ImageFolder: root/<class>/*.{jpg,jpeg,png} (search's default: Datasets/fashion_mnist/val).")
    var data: String?

    @Option(name: .long, help: "Class indices: 'sorted' folder names (torchvision; the default), 'numeric' folder names, or a class-list file.")
    var labels: String?

    @Option(name: .long, help: "Short side before the crop: a size, 'none' (pre-cropped images), or 'auto' (the default: images at the model's size pass unchanged, others get round(crop/0.875), e.g. 256 for 224).")
    var resize: String?

    @Option(name: .long, help: "Center crop size (default: the model's input size).")
    var crop: Int?

    @Option(name: .long, parsing: .upToNextOption, help: "Per-channel mean after /255 (default 0).")
    var mean: [Float] = []

    @Option(name: .long, parsing: .upToNextOption, help: "Per-channel std after /255 (default 1).")
    var std: [Float] = []

    @Flag(name: .long, help: "Skip and count unreadable images instead of stopping.")
    var skipBadImages = false

    @Option(name: .long, help: "Use only the first N images.")
    var limit: Int?

    @Option(name: .long, help: "The model input's size N,C,H,W where the model leaves it open (e.g. [-1,3,?,?]); the batch stays dynamic.")
    var inputShape: String?

    /// `--input-shape` as numbers, else a square `--crop` for an input whose height and width are open.
    func fixedInputShape(channels: Int? = nil) throws -> [Int]? {
        if let inputShape {
            let dims = inputShape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !dims.isEmpty, dims.allSatisfy({ $0 != nil }) else {
                throw AutoMixError.invalidArgument("--input-shape must be comma-separated sizes like 1,3,48,192, not '\(inputShape)'")
            }
            return dims.map { $0! }
        }
        return nil
    }

    /// The model, its open input sizes fixed by `--input-shape` (else the size a config recorded, else a square
    /// `--crop`), rewritten.
    func preparedGraph(_ path: String, recorded: [Int]? = nil) throws -> Graph {
        if let shape = try fixedInputShape() ?? recorded { return try Graph.prepared(onnx: path, inputShape: shape) }
        do {
            return try Graph.prepared(onnx: path, inputShape: nil)
        } catch let e as AutoMixError {
            // an open height and width with a square --crop: the crop is the size
            guard let crop, case .invalidArgument = e else { throw e }
            let g = try Graph.load(onnx: path)
            guard let s = g.inputs.first?.shape, s.count == 4, s[1] > 0 else { throw e }
            return try Graph.prepared(onnx: path, inputShape: [1, s[1], crop, crop])
        }
    }

    var labelRule: LabelRule {
        switch labels ?? "sorted" {
        case "sorted": return .sorted
        case "numeric": return .numeric
        case let file: return .file(file)
        }
    }

    func preprocessing(for graph: Graph) throws -> Preprocessing {
        guard let input = graph.imageInput else {
            throw AutoMixError.invalidArgument("model input \(graph.inputs.first?.shape ?? []) is not an image [N,C,H,W]")
        }
        let resizeRule: Preprocessing.Resize
        switch resize ?? "auto" {
        case "none": resizeRule = .none
        case "auto": resizeRule = .auto
        default:
            guard let n = Int(resize ?? ""), n > 0 else { throw AutoMixError.invalidArgument("--resize must be a size, 'none' or 'auto', not '\(resize ?? "")'") }
            resizeRule = .shortSide(n)
        }
        func perChannel(_ v: [Float], _ name: String) throws -> [Float]? {
            if v.isEmpty { return nil }
            if v.count == 1 { return [Float](repeating: v[0], count: input.channels) }
            guard v.count == input.channels else {
                throw AutoMixError.invalidArgument("--\(name) has \(v.count) values; the model takes \(input.channels) channels")
            }
            return v
        }
        let crop = self.crop.map { (h: $0, w: $0) } ?? (h: input.height, w: input.width)
        guard crop.h == input.height, crop.w == input.width else {
            throw AutoMixError.invalidArgument("--crop \(crop.h) does not match the model input \(input.height)×\(input.width)")
        }
        return Preprocessing(resize: resizeRule, crop: crop, channels: input.channels,
                             mean: try perChannel(mean, "mean"), std: try perChannel(std, "std"))
    }

    func load(for graph: Graph, quiet: Bool) throws -> Dataset {
        guard let data else { throw AutoMixError.invalidArgument("--data is required") }
        return try load(data, for: graph, quiet: quiet)
    }

    /// Any ImageFolder (the evaluation or the calibration set) with these preprocessing options.
    func load(_ root: String, for graph: Graph, quiet: Bool, label: String = "decode") throws -> Dataset {
        let folder = try ImageFolder(root: root, labels: labelRule)
        let count = min(limit ?? Int.max, folder.samples.count)
        let set = try Dataset.load(folder, preprocessing: try preprocessing(for: graph), skipBadImages: skipBadImages,
                                   limit: limit, progress: Progress(label, total: count, enabled: !quiet))
        if !set.skipped.isEmpty {
            // the skipped are named, so that a user can see what a figure leaves out
            let shown = set.skipped.prefix(5).joined(separator: ", ")
            let more = set.skipped.count > 5 ? " and \(set.skipped.count - 5) more" : ""
            Console.shared.line("skipped \(set.skipped.count) unreadable images in \(root): \(shown)\(more)", level: .quiet)
        }
        return set
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON object on stdout and nothing else (human output goes to stderr).") var json = false
    @Flag(name: [.short, .long], help: "Only errors and warnings on stderr: no progress, no log lines.") var quiet = false
    @Flag(name: [.short, .long], help: "More detail: each trial's layers, per-phase timings, plain progress lines of every evaluation.") var verbose = false
    @Option(help: "Worker threads (default: the cores this process may use, or AUTOMIX_THREADS).") var threads: Int?

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
        if let threads, !(1...1024).contains(threads) { throw ValidationError("--threads must be 1…1024, not \(threads)") }
        // the variable stands in for --threads, so it is held to the same rule rather than silently ignored
        if threads == nil, let text = ProcessInfo.processInfo.environment["AUTOMIX_THREADS"],
           !(Int(text).map { (1...1024).contains($0) } ?? false) {
            throw ValidationError("AUTOMIX_THREADS must be a count 1…1024, not '\(text)' (or give --threads)")
        }
    }

    var verbosity: Verbosity { quiet ? .quiet : verbose ? .verbose : .normal }
}

/// Where human output goes: stdout, or stderr under `--json`, so that stdout then holds only the JSON object.
enum Output {
    nonisolated(unsafe) static var json = false
}

/// Human output (tables, summaries, notes).
func say(_ text: String) {
    // under --json the text would go to stderr, which --quiet keeps for errors and warnings
    if Output.json {
        if Console.shared.verbosity != .quiet { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    } else {
        print(text)
    }
}

/// Prints a file's own JSON object (`inspect --json`), with the schema and tool version every AutoMix JSON carries.
func printJSON(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: JSONFile.stamp(object), options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// Prints a command's typed result as its one JSON object (stamped like every AutoMix JSON file).
func printJSON(_ value: some Encodable) throws {
    print(String(decoding: try JSONFile.encode(value, pretty: false), as: UTF8.self))
}

/// Runs a command body, turning AutoMix errors into one line on stderr and exit code 1 (under `--json`, also an
/// object `{"error": …, "exit_code": 1}` on stdout).
func reportingErrors(_ output: OutputOptions? = nil, _ body: () throws -> Void) throws {
    let json = output?.json ?? false
    Output.json = json
    Console.shared.verbosity = output?.verbosity ?? .normal
    if let threads = output?.threads { Parallelism.workers = threads }
    do {
        try body()
    } catch let e as AutoMixError {
        Console.shared.line("automix: error: \(e.description)", level: .quiet)
        if json { try printJSON(ErrorReport(error: e.description, exitCode: 1)) }
        throw ExitCode.failure
    }
}

/// The data bundled with AutoMix (`Datasets/`), the defaults of `search`: relative to the working folder when it
/// holds them, else in the AutoMix folder this binary was built from, so `automix search` works from anywhere.
enum BundledData {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func isBundled(_ path: String) -> Bool {
        path.hasPrefix("Datasets/") || path.hasPrefix(packageRoot.appendingPathComponent("Datasets").path + "/")
    }

    static func resolve(_ path: String) -> String {
        guard path.hasPrefix("Datasets/"), !FileManager.default.fileExists(atPath: path) else { return path }
        let inPackage = packageRoot.appendingPathComponent(path).path
        return FileManager.default.fileExists(atPath: inPackage) ? inPackage : path
    }
}
