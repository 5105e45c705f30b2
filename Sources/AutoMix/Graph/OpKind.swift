/// The one op vocabulary of AutoMix. An ONNX op type outside it is refused at import, all at once.
public enum OpKind: String, CaseIterable, Sendable, Codable {
    // compute
    case conv = "Conv", gemm = "Gemm", matMul = "MatMul"
    // element-wise
    case add = "Add", sub = "Sub", mul = "Mul", div = "Div"
    case relu = "Relu", clip = "Clip", leakyRelu = "LeakyRelu", pRelu = "PRelu", sigmoid = "Sigmoid"
    case hardSigmoid = "HardSigmoid", hardSwish = "HardSwish", tanh = "Tanh", softmax = "Softmax"
    case round = "Round", floor = "Floor"
    case batchNormalization = "BatchNormalization"
    // pooling
    case maxPool = "MaxPool", averagePool = "AveragePool", globalAveragePool = "GlobalAveragePool"
    // layout
    case flatten = "Flatten", reshape = "Reshape", transpose = "Transpose", concat = "Concat", pad = "Pad"
    case squeeze = "Squeeze", unsqueeze = "Unsqueeze", identity = "Identity", resize = "Resize"
    case dropout = "Dropout"
    // shape arithmetic: only ever evaluated by constant folding
    case shape = "Shape", gather = "Gather", cast = "Cast", constant = "Constant", slice = "Slice"
    case constantOfShape = "ConstantOfShape"
    // format changes of the quantized deploy graph: only the integer executor runs them
    case quantizeLinear = "QuantizeLinear", dequantizeLinear = "DequantizeLinear", requantizeLinear = "RequantizeLinear"

    /// Ops that constant folding must remove; the executor does not run them.
    public var isFoldOnly: Bool {
        switch self {
        case .shape, .gather, .cast, .constant, .slice, .constantOfShape: return true
        default: return false
        }
    }

    /// Ops that exist only in a quantized model; a float ONNX model holding them is refused at import.
    public var isQuantOnly: Bool { [.quantizeLinear, .dequantizeLinear, .requantizeLinear].contains(self) }
}
