#!/usr/bin/env python3
"""Runs AutoMix's fake-quant ONNX in onnxruntime on the inputs `automix export --dump-io DIR` wrote, and compares
with AutoMix's integer simulation of the same plan: top-1 agreement and the largest logit difference in steps of
the output exponent. Also runs onnx.checker on the deploy ONNX when given.
Use: python check_fake_quant.py FAKE_QUANT.onnx DUMP_DIR [DEPLOY.onnx]   (pip: onnx onnxruntime numpy)
"""
import json, sys, numpy as np, onnx, onnxruntime as ort
fq, d = sys.argv[1], sys.argv[2]
meta = json.load(open(f"{d}/io.json"))
x = np.fromfile(f"{d}/inputs.f32", dtype=np.float32).reshape(meta["input_shape"])
sim = np.fromfile(f"{d}/outputs.f32", dtype=np.float32).reshape(meta["output_shape"])
onnx.checker.check_model(onnx.load(fq))
opts = ort.SessionOptions(); opts.intra_op_num_threads = 2
# onnxruntime's default optimizations stay on: that is how users will run the file
if "--no-optimizations" in sys.argv: opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
s = ort.InferenceSession(fq, opts, providers=["CPUExecutionProvider"])
name = s.get_inputs()[0].name
out = np.concatenate([s.run(None, {name: x[i:i + 250]})[0] for i in range(0, len(x), 250)])
step = 2.0 ** meta["output_exponent"] if meta.get("output_exponent") is not None else 1e-4
agree = float((out.argmax(1) == sim.argmax(1)).mean() * 100)
steps = float(np.abs(out - sim).max() / step)
within = float((np.abs(out - sim) <= step * 1.0001).all(axis=1).mean() * 100)
res = {"images": len(x), "top1_agreement": agree, "max_diff_steps": steps, "images_within_one_step": within}
args = [a for a in sys.argv[1:] if not a.startswith("--")]
if len(args) > 2:
    onnx.checker.check_model(onnx.load(args[2])); res["deploy_checker"] = "passed"
print(json.dumps(res))
