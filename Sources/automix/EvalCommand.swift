import ArgumentParser
import AutoMix
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Float top-1/top-5 accuracy and speed of a model on an ImageFolder.")

    @OptionGroup var model: ModelOptions
    @OptionGroup(title: "Images and preprocessing") var data: DataOptions
    @Option(help: "Images per inference batch.") var batch = 32
    @Option(help: "Write one CSV row per image: file,top1,label,top5.") var predictions: String?
    @OptionGroup(title: "Output") var output: OutputOptions

    func validate() throws {
        try Check.batch(batch, "--batch")
    }

    func run() throws {
        try reportingErrors(output) {
            let graph = try data.preparedGraph(model.model)
            let executor = try FloatExecutor(graph: graph)
            let dataset = try data.load(for: graph, quiet: false)
            let result = try Evaluation.run(executor, on: dataset, batchSize: batch,
                                            progress: Progress("eval", total: dataset.count))
            if let predictions {
                try writeAtomically(Data(result.predictionsCSV(paths: dataset.paths, labels: dataset.labels).utf8),
                                    to: URL(fileURLWithPath: predictions))
            }
            say(String(format: "top-1 %.2f %%  top-5 %.2f %%  images %d  %.1f images/s", result.top1, result.top5,
                         result.images, result.imagesPerSecond))
            if output.json {
                try printJSON(EvalReport(model: model.model, top1: result.top1, top5: result.top5, images: result.images,
                                         imagesPerS: result.imagesPerSecond, skipped: dataset.skipped.count, predictions: predictions))
            }
        }
    }
}
