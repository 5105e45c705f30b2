#!/usr/bin/env python3
"""ESP-PPQ 1.3.12 exports of one-op-at-a-time models, the independent reference for AutoMix's integer kernels of the
ops ESP-DL's zoo uses: each model is Conv (so the op sees a quantized NHWC feature map) -> the op -> Conv, exported with
embedded test values for esp32p4 int8, esp32s3 int8 and esp32p4 int16. `automix run` must reproduce them.

  pip install torch onnx ...; pip install --no-deps esp-ppq==1.3.12 (see make_ppq_coverage.py)
  python3 Scripts/make_ppq_ops.py OUT_DIR
"""
import os, sys, warnings
import numpy as np, onnx, torch, torch.nn as nn
from esp_ppq.api import espdl_quantize_onnx
warnings.filterwarnings("ignore")
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ppq-ops"
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)


class Wrap(nn.Module):
    def __init__(s, op, cin=8, cout=8):
        super().__init__()
        s.a, s.op, s.b = nn.Conv2d(3, cin, 3, 1, 1), op, nn.Conv2d(cout, 8, 1)
    def forward(s, x):
        return s.b(s.op(s.a(x)))


class Fn(nn.Module):
    def __init__(s, f):
        super().__init__(); s.f = f
    def forward(s, x):
        return s.f(x)


class Attention(nn.Module):   # MatMul of two activations, as in yolo's attention
    def forward(s, x):
        n, c, h, w = x.shape
        q = x.reshape(n, c, h * w)
        a = torch.softmax(torch.matmul(q.transpose(1, 2), q) * 0.25, -1)
        return torch.matmul(q, a).reshape(n, c, h, w)


cases = {
    "prelu": Wrap(nn.PReLU(8)),
    "reducemean": Wrap(Fn(lambda x: x * x.mean(dim=(2, 3), keepdim=True))),
    "split": Wrap(Fn(lambda x: torch.cat([torch.relu(p) * (i + 1) for i, p in enumerate(torch.split(x, [3, 5], 1))], 1))),
    "resize": Wrap(Fn(lambda x: nn.functional.interpolate(nn.functional.max_pool2d(x, 2), scale_factor=2, mode="nearest"))),
    "sigmoid_mul": Wrap(Fn(lambda x: x * torch.sigmoid(x))),
    "gelu": Wrap(nn.GELU()),
    "matmul": Wrap(Attention()),
    "div_sqrt": Wrap(Fn(lambda x: x / torch.sqrt(x * x + 1.0))),
    "avgpool": Wrap(nn.AvgPool2d(3, 1, 1)),
    "leaky_tanh": Wrap(Fn(lambda x: torch.tanh(nn.functional.leaky_relu(x, 0.1)))),
    "div_const": Wrap(Fn(lambda x: x / 1.4142135)),
    "erf": Wrap(Fn(lambda x: torch.erf(x))),
    "add_const": Wrap(Fn(lambda x: torch.relu(x) + 1.0)),
    "mul_act": Wrap(Fn(lambda x: x * torch.relu(x))),
}
only = os.environ.get("ONLY", "").split(",")
cases = {k: v for k, v in cases.items() if only == [""] or k in only}
calib = [torch.randn(8, 3, 8, 8) for _ in range(4)]
for name, model in cases.items():
    model.eval()
    path = f"{out}/{name}.onnx"
    torch.onnx.export(model, torch.randn(1, 3, 8, 8), path, opset_version=13, input_names=["input"], output_names=["y"], dynamo=False)
    m = onnx.load(path); m.ir_version = 8; onnx.save(m, path)
    for target, bits in [("esp32p4", 8), ("esp32s3", 8), ("esp32p4", 16)]:
        try:
            espdl_quantize_onnx(onnx_import_file=path, espdl_export_file=f"{out}/{name}_{target}_int{bits}.espdl",
                                calib_dataloader=calib, calib_steps=4, input_shape=[1, 3, 8, 8], inputs=[torch.randn(1, 3, 8, 8)],
                                target=target, num_of_bits=bits, device="cpu", error_report=False, export_test_values=True, verbose=0)
            print("ok", name, target, bits)
        except Exception as e:
            print("ESP-PPQ failed", name, target, bits, str(e)[:120])
