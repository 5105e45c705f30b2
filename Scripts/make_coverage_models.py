#!/usr/bin/env python3
"""Makes the small op-coverage classifiers of Tests/AutoMixTests/Fixtures/coverage (run once; outputs committed).

  pip install onnx onnxruntime numpy && python3 Scripts/make_coverage_models.py

Each model takes Fashion-MNIST's [N,1,28,28] input (pixel/255) and ends in 10 logits. Weights are seeded He-normal
draws, not trained: these models check that every op goes through import, quantization, the executor and the
writers exactly, not accuracy. Beside each model, `<name>.out.bin` holds onnxruntime's float32 output on the
tests' fixed input (the same hash as make_golden.py) for a batch of 2.
"""
import os
import numpy as np
import onnx
from onnx import helper as oh, TensorProto as TP, numpy_helper as nh
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "AutoMixTests", "Fixtures", "coverage")


def fixed_input(shape):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.uint64)
    v = (i * np.uint64(2654435761) + np.uint64(12345)) % np.uint64(2**32)
    f = (v >> np.uint64(8)).astype(np.float32) / np.float32(2**24)
    return (f * np.float32(2) - np.float32(1)).astype(np.float32).reshape(shape)


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

    def gemm(self, x, cin, cout):
        w = self.r.randn(cout, cin) * np.sqrt(1.0 / cin)
        return self.node("Gemm", [x, self.const("w", w), self.const("b", self.r.randn(cout) * 0.1)], transB=1)

    def head(self, x, c):
        return self.gemm(self.node("Flatten", [self.node("GlobalAveragePool", [x])]), c, 10)

    def save(self, name, out):
        graph = oh.make_graph(self.nodes, name, [oh.make_tensor_value_info("input", TP.FLOAT, ["N", 1, 28, 28])],
                              [oh.make_tensor_value_info(out, TP.FLOAT, ["N", 10])], self.inits)
        model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 13)], producer_name="make_coverage_models.py")
        onnx.checker.check_model(model, full_check=True)
        path = os.path.join(OUT, name + ".onnx")
        onnx.save(model, path)
        s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        s.run(None, {"input": fixed_input([2, 1, 28, 28])})[0].astype("<f4").tofile(os.path.join(OUT, name + ".out.bin"))
        print(path)


def fire_resnet():
    """ResNet-style residual block, MaxPool and a SqueezeNet fire module (1x1 and 3x3 expand, Concat on channels)."""
    b = Builder(1)
    x = b.node("Relu", [b.conv("input", 1, 16, stride=2)])
    r = b.node("Relu", [b.conv(x, 16, 16)])
    x = b.node("Relu", [b.node("Add", [b.conv(r, 16, 16), x])])
    x = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    s = b.node("Relu", [b.conv(x, 16, 8, k=1)])
    x = b.node("Concat", [b.node("Relu", [b.conv(s, 8, 16, k=1)]), b.node("Relu", [b.conv(s, 8, 16)])], axis=1)
    b.save("fire_resnet", b.head(x, 32))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    fire_resnet()
