/// AutoMix's version: printed by `automix --version` and written as the producer version of the ONNX files it writes.
public enum AutoMixVersion {
    public static let string = "0.3.0"
}
