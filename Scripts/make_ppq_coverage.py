#!/usr/bin/env python3
"""ESP-PPQ 1.3.12's own exports of the op-coverage classifiers (Tests/AutoMixTests/Fixtures/coverage), the golden
references for the ops AutoMix added to its writer: Swish (fused from x*Sigmoid(x)), HardSwish, HardSigmoid, the SE
Mul, the isolated BatchNorm as a depthwise Conv, constants in Sub/Div/Mul/Add, Softmax, Concat.

  pip install torch onnx onnxruntime pillow numpy flatbuffers cryptography toml onnxscript onnxsim==0.7.3
  pip install --no-deps esp-ppq==1.3.12
  python3 Scripts/make_ppq_coverage.py

Calibration: the 1,000 Fashion-MNIST calib PNGs in sorted order, pixel/255, batch 32, 32 steps; the embedded test input
is the first of them. Default `espdl_setting`-free call (ESP-PPQ's defaults). Writes
Tests/AutoMixTests/Fixtures/esp-ppq-coverage/<model>_<target>_int<bits>.espdl (+ .info, .json).
"""
import glob, os, sys
import numpy as np
import onnx
import torch
from PIL import Image
from esp_ppq.api import espdl_quantize_onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "Tests", "AutoMixTests", "Fixtures", "coverage")
OUT = os.path.join(ROOT, "Tests", "AutoMixTests", "Fixtures", "esp-ppq-coverage")

files = sorted(glob.glob(os.path.join(ROOT, "Datasets", "fashion_mnist", "calib", "*", "*.png")))
images = np.stack([np.asarray(Image.open(f).convert("L"), dtype=np.float32)[None] / 255 for f in files])
calib = [torch.from_numpy(images[i:i + 32]) for i in range(0, len(images), 32)]
os.makedirs(OUT, exist_ok=True)
for name in sys.argv[1:] or ["fire_resnet", "mbv3_se", "bn_norm"]:
    # onnxsim 0.7.3 (ESP-PPQ's simplifier) reads IR version 13 at most; the graph is the same
    model = onnx.load(os.path.join(MODELS, name + ".onnx"))
    model.ir_version = 8
    source = f"/tmp/{name}_ir8.onnx"
    onnx.save(model, source)
    for target, bits in [("esp32p4", 8), ("esp32s3", 8), ("esp32p4", 16)]:
        stem = os.path.join(OUT, f"{name}_{target}_int{bits}")
        espdl_quantize_onnx(onnx_import_file=source, espdl_export_file=stem + ".espdl",
                            calib_dataloader=calib, calib_steps=32, input_shape=[1, 1, 28, 28],
                            inputs=[torch.from_numpy(images[:1])], target=target, num_of_bits=bits, device="cpu",
                            error_report=False, export_test_values=True, verbose=0)
        print(stem + ".espdl")
