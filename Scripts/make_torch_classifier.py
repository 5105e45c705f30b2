#!/usr/bin/env python3
"""A small classifier trained with torch on Fashion-MNIST, exported the way torch exports (opset 13: HardSwish
spelled x*HardSigmoid(x), GELU as the Erf formula, SiLU as x*Sigmoid(x), BatchNorm2d after LeakyReLU's producer,
BatchNorm1d after a Linear, PReLU per channel, ELU, AvgPool, Concat, Slice, Dropout, Tanh, Softmax). Written to
Tests/AutoMixTests/Fixtures/coverage/torch_mixed.onnx with `.out.bin` (onnxruntime's output on the tests' fixed
input, batch 2), as make_coverage_models.py does.

  apt-get install dataset-fashion-mnist && pip install torch onnx onnxruntime numpy && python3 Scripts/make_torch_classifier.py
"""
import gzip, os
import numpy as np
from fixed_input import fixed_input
import onnxruntime as ort
import torch, torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "AutoMixTests", "Fixtures", "coverage")
torch.manual_seed(0)
torch.set_num_threads(2)


class Net(nn.Module):
    def __init__(s):
        super().__init__()
        s.c1 = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.LeakyReLU(0.1))
        s.c2 = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1, groups=16), nn.PReLU(16))
        s.c3 = nn.Sequential(nn.Conv2d(16, 32, 1), nn.ELU(), nn.AvgPool2d(2))
        s.c4 = nn.Sequential(nn.Conv2d(32, 32, 3, 1, 1), nn.GELU(), nn.Conv2d(32, 32, 1), nn.SiLU(), nn.Hardswish())
        s.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(48, 64), nn.BatchNorm1d(64),
                               nn.Tanh(), nn.Linear(64, 10))

    def forward(s, x):
        x = s.c1(x)
        x = x + s.c2(x)
        x = s.c3(x)
        x = torch.cat([x, s.c4(x)], 1)[:, :48]
        return torch.softmax(s.head(x), 1)




root = "/usr/share/datasets/fashion-mnist"
with gzip.open(f"{root}/train-images-idx3-ubyte.gz") as f:
    x = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255)
with gzip.open(f"{root}/train-labels-idx1-ubyte.gz") as f:
    y = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64))
m = Net()
opt = torch.optim.Adam(m.parameters(), 3e-3)
for epoch in range(2):
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 128):
        idx = perm[i:i + 128]
        loss = nn.functional.nll_loss(torch.log(m(x[idx]) + 1e-9), y[idx])
        opt.zero_grad(); loss.backward(); opt.step()
    print("epoch", epoch, float(loss))
m.eval()
path = os.path.join(OUT, "torch_mixed.onnx")
torch.onnx.export(m, torch.zeros(2, 1, 28, 28), path, opset_version=13, input_names=["input"], output_names=["probs"],
                  dynamic_axes={"input": {0: "N"}, "probs": {0: "N"}}, dynamo=False)
s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
s.run(None, {"input": fixed_input([2, 1, 28, 28])})[0].astype("<f4").tofile(os.path.join(OUT, "torch_mixed.out.bin"))
print(path)
