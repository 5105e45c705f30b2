#!/usr/bin/env python3
"""Makes the small op-coverage classifiers of Tests/AutoMixTests/Fixtures/coverage (run once; outputs committed).

  apt-get install dataset-fashion-mnist && pip install onnx onnxruntime numpy && python3 Scripts/make_coverage_models.py

Each model takes Fashion-MNIST's [N,1,28,28] input (pixel/255) and ends in 10 logits. The convolutions are seeded
He-normal draws (random features); the classifier, the last Gemm, is fitted by ridge regression on the features of
Fashion-MNIST's 60,000 training images, so the models classify (about 75-85 % top-1) and quantization error shows in
accuracy. Beside each model, `<name>.out.bin` holds onnxruntime's float32 output on the tests' fixed input (the same
hash as make_golden.py) for a batch of 2.
"""
import os
import numpy as np
from fixed_input import fixed_input
import onnx
from onnx import helper as oh, TensorProto as TP, numpy_helper as nh
import onnxruntime as ort
import gzip

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "AutoMixTests", "Fixtures", "coverage")




class Builder:
    def __init__(self, seed):
        self.r = np.random.RandomState(seed)
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, base, value):
        n = self.name(base)
        self.inits.append(nh.from_array(np.asarray(value, dtype=np.float32), n))
        return n

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(oh.make_node(op, inputs, [out], name="/" + out, **attrs))
        return out

    def conv(self, x, cin, cout, k=3, stride=1, group=1, bias=True):
        w = self.r.randn(cout, cin // group, k, k) * np.sqrt(2.0 / (cin // group * k * k))
        ins = [x, self.const("w", w)] + ([self.const("b", self.r.randn(cout) * 0.1)] if bias else [])
        return self.node("Conv", ins, kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4, group=group)

    def conv_transpose(self, x, cin, cout, k, stride, pad, output_padding=0, group=1):
        w = self.r.randn(cin, cout // group, k, k) * np.sqrt(2.0 / (cin // group * k * k / stride ** 2))
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, group=group)
        if output_padding: attrs["output_padding"] = [output_padding] * 2
        return self.node("ConvTranspose", [x, self.const("w", w), self.const("b", self.r.randn(cout) * 0.1)], **attrs)

    def gemm(self, x, cin, cout):
        w = self.r.randn(cout, cin) * np.sqrt(1.0 / cin)
        return self.node("Gemm", [x, self.const("w", w), self.const("b", self.r.randn(cout) * 0.1)], transB=1)

    def head(self, x, c):
        return self.gemm(self.node("Flatten", [self.node("GlobalAveragePool", [x])]), c, 10)

    def classifier(self, features, d):
        """The last Gemm, its weights fitted by `fit` once the features are known."""
        self.features, self.width = features, d
        return self.gemm(features, d, 10)

    def model(self, name, outputs, opset):
        size = ["H", "W"] if getattr(self, "open_size", False) else [28, 28]
        graph = oh.make_graph(self.nodes, name, [oh.make_tensor_value_info("input", TP.FLOAT, ["N", 1] + size)],
                              [oh.make_tensor_value_info(o, TP.FLOAT, None) for o in outputs], self.inits)
        return oh.make_model(graph, opset_imports=[oh.make_opsetid("", opset)], producer_name="make_coverage_models.py")

    def fit(self, name, opset):
        """Ridge regression of one-hot labels on the classifier's input features over the 60k training images."""
        x, y = train_set()
        s = ort.InferenceSession(self.model(name, [self.features], opset).SerializeToString(), providers=["CPUExecutionProvider"])
        f = np.concatenate([s.run(None, {"input": x[i:i + 2000]})[0].reshape(-1, self.width) for i in range(0, len(x), 2000)])
        f = np.concatenate([f, np.ones((len(f), 1), np.float32)], 1).astype(np.float64)
        t = np.eye(10)[y] - 0.1
        g = f.T @ f
        w = np.linalg.solve(g + 1e-4 * np.trace(g) / len(g) * np.eye(len(g)), f.T @ t)
        gemm = [n for n in self.nodes if n.op_type == "Gemm" and n.input[0] == self.features][0]
        for init in self.inits:
            if init.name == gemm.input[1]: init.CopyFrom(nh.from_array(w[:-1].T.astype(np.float32), init.name))
            if init.name == gemm.input[2]: init.CopyFrom(nh.from_array(w[-1].astype(np.float32), init.name))

    def save(self, name, out, opset=13):
        if getattr(self, "features", None): self.fit(name, opset)
        model = self.model(name, [out], opset)
        model.graph.output[0].CopyFrom(oh.make_tensor_value_info(out, TP.FLOAT, ["N", 10]))
        onnx.checker.check_model(model, full_check=True)
        path = os.path.join(OUT, name + ".onnx")
        onnx.save(model, path)
        s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        s.run(None, {"input": fixed_input([2, 1, 28, 28])})[0].astype("<f4").tofile(os.path.join(OUT, name + ".out.bin"))
        print(path)


_TRAIN = None


def train_set():
    """Fashion-MNIST's training split from Debian's dataset-fashion-mnist, as [N,1,28,28] pixel/255."""
    global _TRAIN
    if _TRAIN is None:
        root = "/usr/share/datasets/fashion-mnist"
        with gzip.open(f"{root}/train-images-idx3-ubyte.gz") as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
        with gzip.open(f"{root}/train-labels-idx1-ubyte.gz") as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)
        _TRAIN = (x, y)
    return _TRAIN


def fire_resnet():
    """ResNet-style residual block, MaxPool and a SqueezeNet fire module (1x1 and 3x3 expand, Concat on channels)."""
    b = Builder(1)
    x = b.node("Relu", [b.conv("input", 1, 16, stride=2)])
    r = b.node("Relu", [b.conv(x, 16, 16)])
    x = b.node("Relu", [b.node("Add", [b.conv(r, 16, 16), x])])
    x = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    s = b.node("Relu", [b.conv(x, 16, 8, k=1)])
    x = b.node("Concat", [b.node("Relu", [b.conv(s, 8, 16, k=1)]), b.node("Relu", [b.conv(s, 8, 16)])], axis=1)
    t = b.conv(x, 32, 32)
    x = b.node("Mul", [t, b.node("Sigmoid", [t])])   # Swish as torch exports SiLU
    b.save("fire_resnet", b.classifier(b.node("Flatten", [x]), 32 * 7 * 7))


def mbv3_se():
    """MobileNetV3-small-style: HardSwish, depthwise, squeeze-excitation (GAP, 1x1, Relu, 1x1, HardSigmoid, Mul),
    inverted residual, HardSwish in the head."""
    b = Builder(2)
    x = b.node("HardSwish", [b.conv("input", 1, 16, stride=2)])
    d = b.node("Relu", [b.conv(x, 16, 16, group=16)])
    e = b.node("Relu", [b.conv(b.node("GlobalAveragePool", [d]), 16, 8, k=1)])
    g = b.node("HardSigmoid", [b.conv(e, 8, 16, k=1)], alpha=1.0 / 6, beta=0.5)
    x = b.node("Add", [b.conv(b.node("Mul", [d, g]), 16, 16, k=1), x])
    x = b.node("HardSwish", [b.conv(x, 16, 48, k=1)])
    x = b.node("HardSwish", [b.conv(x, 48, 48, stride=2, group=48)])
    x = b.node("HardSwish", [b.conv(x, 48, 32, k=1)])
    b.save("mbv3_se", b.classifier(b.node("Flatten", [x]), 32 * 7 * 7), opset=14)


def bn_norm():
    """In-graph input normalisation (Sub/Div by scalars), BatchNorm after a Relu (not foldable into the Conv before
    it), BatchNorm1d after a Gemm, and a Softmax output."""
    b = Builder(3)
    x = b.node("Div", [b.node("Sub", ["input", b.const("mean", 0.2860)]), b.const("std", 0.3530)])
    x = b.node("Relu", [b.conv(x, 1, 16, stride=2)])
    bn = lambda x, c: b.node("BatchNormalization", [x, b.const("g", 1 + 0.2 * b.r.randn(c)), b.const("be", 0.1 * b.r.randn(c)),
                                                    b.const("m", 0.5 + 0.1 * b.r.randn(c)), b.const("v", 0.5 + np.abs(b.r.randn(c)))])
    x = b.node("MaxPool", [bn(x, 16)], kernel_shape=[2, 2], strides=[2, 2])
    x = b.node("Relu", [b.conv(x, 16, 32)])
    f = b.node("Relu", [bn(b.gemm(b.node("Flatten", [x]), 32 * 7 * 7, 512), 512)])
    b.save("bn_norm", b.node("Softmax", [b.classifier(f, 512)], axis=1))


def open_size_cls():
    """PaddleOCR's text-direction classifier in miniature: input [N,1,?,?] (sizes left open, as paddle2onnx writes
    them), input scaling by constants in the graph (Mul then Add), HardSwish, squeeze-excitation, a global pool head
    and a Softmax."""
    b = Builder(4)
    b.open_size = True
    x = b.node("Add", [b.node("Mul", ["input", b.const("scale", 2.0)]), b.const("shift", -1.0)])
    x = b.node("HardSwish", [b.conv(x, 1, 24, stride=2)])
    d = b.node("HardSwish", [b.conv(x, 24, 24, group=24)])
    e = b.node("Relu", [b.conv(b.node("GlobalAveragePool", [d]), 24, 8, k=1)])
    x = b.node("Mul", [d, b.node("HardSigmoid", [b.conv(e, 8, 24, k=1)], alpha=1.0 / 6, beta=0.5)])
    x = b.node("HardSwish", [b.conv(x, 24, 96, k=1, stride=2)])
    f = b.node("Flatten", [b.node("GlobalAveragePool", [x])])
    b.save("open_size_cls", b.node("Softmax", [b.classifier(f, 96)], axis=1), opset=14)


def shuffle_block():
    """ShuffleNet v2's unit: the channels split in two (Slice), one half through a branch, Concat, then the channel
    shuffle as 5-D Reshape, Transpose, Reshape: values that leave and re-enter the device layout."""
    b = Builder(5)
    x = b.node("Relu", [b.conv("input", 1, 16, stride=2)])
    starts, ends, axes = b.const("starts", [0]), b.const("ends", [8]), b.const("axes", [1])
    for init in b.inits[-3:]:
        init.CopyFrom(nh.from_array(nh.to_array(init).astype(np.int64), init.name))
    half1 = b.node("Slice", [x, starts, ends, axes])
    s2, e2 = b.const("starts2", [8]), b.const("ends2", [16])
    for init in b.inits[-2:]:
        init.CopyFrom(nh.from_array(nh.to_array(init).astype(np.int64), init.name))
    half2 = b.node("Slice", [x, s2, e2, axes])
    branch = b.node("Relu", [b.conv(b.conv(half2, 8, 8, group=8), 8, 8, k=1)])
    x = b.node("Concat", [half1, branch], axis=1)
    shape5, shape4 = b.const("shape5", [0, 2, 8, 14, 14]), b.const("shape4", [0, 16, 14, 14])
    for init in b.inits[-2:]:
        init.CopyFrom(nh.from_array(nh.to_array(init).astype(np.int64), init.name))
    x = b.node("Reshape", [b.node("Transpose", [b.node("Reshape", [x, shape5])], perm=[0, 2, 1, 3, 4]), shape4])
    x = b.node("Relu", [b.conv(x, 16, 32, stride=2)])
    b.save("shuffle_block", b.classifier(b.node("Flatten", [x]), 32 * 7 * 7))


def subpixel():
    """Sub-pixel blocks: SpaceToDepth on the one-channel input (where ESP-DL's channel order is ONNX's), DepthToSpace
    in CRD mode (torch's pixel_shuffle) and in DCR mode with as many output channels as the block size (where
    ESP-DL's DCR kernel is ONNX's)."""
    b = Builder(6)
    x = b.node("SpaceToDepth", ["input"], blocksize=2)                     # [N,4,14,14]
    x = b.node("Relu", [b.conv(x, 4, 32)])
    x = b.node("DepthToSpace", [b.conv(x, 32, 16, k=1)], blocksize=2, mode="CRD")   # [N,4,28,28]
    x = b.node("Relu", [b.conv(x, 4, 16, stride=2)])                     # [N,16,14,14]
    x = b.node("DepthToSpace", [b.conv(x, 16, 8, k=1)], blocksize=2, mode="DCR")    # [N,2,28,28]
    x = b.node("MaxPool", [b.node("Relu", [b.conv(x, 2, 16, stride=2)])], kernel_shape=[2, 2], strides=[2, 2])
    x = b.node("Relu", [b.conv(x, 16, 32)])
    b.save("subpixel", b.classifier(b.node("Flatten", [x]), 32 * 7 * 7))


def deconv():
    """An encoder-decoder classifier: ConvTranspose with stride 2 and output_padding, a stride-1 one (no InsertZeros) and
    a depthwise one (group = channels), each lowered to InsertZeros + Conv as ESP-PPQ does."""
    b = Builder(7)
    x = b.node("Relu", [b.conv("input", 1, 16, stride=2)])                       # 14x14
    x = b.node("Relu", [b.conv(x, 16, 32, stride=2)])                            # 7x7
    x = b.node("Relu", [b.conv_transpose(x, 32, 16, k=3, stride=2, pad=1, output_padding=1)])   # 14x14
    x = b.node("Relu", [b.conv_transpose(x, 16, 16, k=3, stride=1, pad=1)])      # 14x14
    x = b.node("Relu", [b.conv_transpose(x, 16, 16, k=2, stride=2, pad=0, group=16)])           # 28x28
    x = b.node("MaxPool", [b.node("Relu", [b.conv(x, 16, 16, stride=2)])], kernel_shape=[2, 2], strides=[2, 2])
    x = b.node("Relu", [b.conv(x, 16, 32)])
    b.save("deconv", b.classifier(b.node("Flatten", [x]), 32 * 7 * 7))


def upsample():
    """A U-Net-style decoder: bilinear Resize (torch's pytorch_half_pixel, and align_corners), a nearest one (asymmetric,
    floor, as torch exports it), a skip connection added after the upsampling."""
    b = Builder(8)
    skip = b.node("Relu", [b.conv("input", 1, 16, stride=2)])                        # 14x14
    x = b.node("Relu", [b.conv(skip, 16, 16, stride=2)])                              # 7x7
    two = b.const("scales", [1, 1, 2, 2])
    x = b.node("Resize", [x, "", two], mode="linear", coordinate_transformation_mode="pytorch_half_pixel")   # 14x14
    x = b.node("Relu", [b.conv(b.node("Add", [x, skip]), 16, 16)])
    x = b.node("Resize", [x, "", two], mode="linear", coordinate_transformation_mode="align_corners")        # 28x28
    x = b.node("Relu", [b.conv(x, 16, 16, stride=2)])                                 # 14x14
    x = b.node("Resize", [b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2]), "", two], mode="nearest",
               coordinate_transformation_mode="asymmetric", nearest_mode="floor")                             # 14x14
    x = b.node("MaxPool", [b.node("Relu", [b.conv(x, 16, 32)])], kernel_shape=[2, 2], strides=[2, 2])
    b.save("upsample", b.classifier(b.node("Flatten", [x]), 32 * 7 * 7))


if __name__ == "__main__":
    import sys
    os.makedirs(OUT, exist_ok=True)
    makers = [fire_resnet, mbv3_se, bn_norm, open_size_cls, shuffle_block, subpixel, deconv, upsample]
    for make in makers:
        if len(sys.argv) < 2 or make.__name__ in sys.argv[1:]: make()
