import Kernels

/// How an integer activation op runs on ESP-DL, and the table it runs through: the one place the executor, the
/// `.espdl` writer and the fake-quant writer take it from.
///
/// - int8: every code through a 256-entry table (ESP-PPQ's `AddLUTPattern`; ESP-DL's LUT module).
/// - int16 Relu/Clip keeping their format: a clamp of the codes (a Clip's file table samples every 256th code).
/// - other int16: ESP-PPQ 1.3.12's `EspdlLUTFusionPass` makes them a `LUT` op, a table of every 32nd code from
///   −32768 to 32768 (2049 entries), read at the nearest entry (`dl_base_lut.cpp`: ties to even on P4, up elsewhere).
public enum ActivationTable {
    public static let int16Step = 32

    /// Whether `n` at these formats runs as ESP-PPQ's int16 `LUT` op.
    public static func isInt16LUT(_ n: Node, input: QuantFormat, output: QuantFormat) -> Bool {
        n.op.rule.activation == .table && input.bits == 16 && output.bits == 16
    }

    /// The codes a table holds: f at every input code (int8), or at every `step`-th code from −32768 (int16).
    public static func codes(_ n: Node, input: QuantFormat, output: QuantFormat, step: Int, _ mode: RoundingMode) -> [Int64] {
        let fn = ElementwiseOps.function(of: n, [])
        let inputs: [Int] = input.bits == 8 ? Array(-128...127) : Array(stride(from: -32768, through: 32768, by: step))
        return inputs.map { q in output.quantize(Double(UnaryFunction.evaluate(fn, Float(Double(q) * input.scale))), mode) }
    }

    /// The table index of an int16 code: `(q + 32768) / step` rounded the chip's way.
    public static func index(_ q: Float, step: Int, entries: Int, _ mode: RoundingMode) -> Int {
        Int(min(max(mode.round((Double(q) + 32768) / Double(step)), 0), Double(entries - 1)))
    }
}
