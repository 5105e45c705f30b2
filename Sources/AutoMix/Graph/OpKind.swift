/// The one op vocabulary of AutoMix. An ONNX op type outside it is refused at import, all at once.
public enum OpKind: String, CaseIterable, Sendable, Codable {
    // compute
    case conv = "Conv", gemm = "Gemm", matMul = "MatMul"
    /// Rewritten into InsertZeros + Conv at import, as ESP-PPQ does; never reaches quantization.
    case convTranspose = "ConvTranspose"
    // element-wise
    case add = "Add", sub = "Sub", mul = "Mul", div = "Div"
    case relu = "Relu", clip = "Clip", leakyRelu = "LeakyRelu", pRelu = "PRelu", sigmoid = "Sigmoid"
    case hardSigmoid = "HardSigmoid", hardSwish = "HardSwish", tanh = "Tanh", softmax = "Softmax"
    case round = "Round", floor = "Floor"
    case sqrt = "Sqrt", swish = "Swish", gelu = "Gelu", elu = "Elu", exp = "Exp", erf = "Erf"
    /// ESP-PPQ's fused activation: only a lookup table, no formula.
    case lut = "LUT"
    case reduceMean = "ReduceMean"
    case batchNormalization = "BatchNormalization"
    // pooling
    case maxPool = "MaxPool", averagePool = "AveragePool", globalAveragePool = "GlobalAveragePool"
    // layout
    case flatten = "Flatten", reshape = "Reshape", transpose = "Transpose", concat = "Concat", pad = "Pad"
    case squeeze = "Squeeze", unsqueeze = "Unsqueeze", identity = "Identity", resize = "Resize"
    case dropout = "Dropout", split = "Split", slice = "Slice"
    case depthToSpace = "DepthToSpace", spaceToDepth = "SpaceToDepth"
    /// ESP-PPQ's half of a ConvTranspose: `stride − 1` zeros between pixels (then a Conv with the flipped filter).
    case insertZeros = "InsertZeros"
    // shape arithmetic: only ever evaluated by constant folding
    case shape = "Shape", gather = "Gather", cast = "Cast", constant = "Constant"
    case constantOfShape = "ConstantOfShape"
    // format changes of the quantized deploy graph: only the integer executor runs them
    case quantizeLinear = "QuantizeLinear", dequantizeLinear = "DequantizeLinear", requantizeLinear = "RequantizeLinear"

    /// Ops that constant folding must remove; the executor does not run them.
    public var isFoldOnly: Bool {
        switch self {
        case .shape, .gather, .cast, .constant, .constantOfShape: return true
        default: return false
        }
    }

    /// Ops that exist only in a quantized model; a float ONNX model holding them is refused at import.
    public var isQuantOnly: Bool { [.quantizeLinear, .dequantizeLinear, .requantizeLinear].contains(self) }
}
