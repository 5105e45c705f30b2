#!/usr/bin/env python3
"""AutoMix's float speed beside onnxruntime's (2 threads), same model, batch and machine, in one run.

  swift build -c release
  python3 Scripts/bench_vs_onnxruntime.py [--model Datasets/models/mobilenetv2_imagenet.onnx] [--batch 32] [--runs 7]

Needs onnxruntime and numpy from PyPI (a peer for comparison only; AutoMix never imports Python).
Prints the medians in images/s and the ratio to onnxruntime of each Conv GEMM this CPU runs: AutoMix's own
AVX-512 kernel (its default where the CPU has it), its own 256-bit AVX2 + FMA kernel (the default on AVX2-only
CPUs; on an AVX-512 CPU it shows what such a machine gets from it), and OpenBLAS. Also the CPU features found.
"""
import argparse, json, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def automix(model, batch, runs, gemm=None):
    exe = os.path.join(ROOT, ".build", "release", "automix")
    args = [exe, "bench", "--model", model, "--batch", str(batch), "--runs", str(runs), "--json"]
    out = subprocess.run(args + (["--gemm", gemm] if gemm else []), check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result["images_per_s"], result.get("gemm", "?"), result.get("openblas_core", "?")


def onnxruntime(model, batch, runs):
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    inp = s.get_inputs()[0]
    shape = [batch] + [d if isinstance(d, int) else 1 for d in inp.shape[1:]]
    x = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)
    s.run(None, {inp.name: x})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        s.run(None, {inp.name: x})
        times.append(time.perf_counter() - t0)
    return batch / statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "Datasets", "models", "mobilenetv2_imagenet.onnx"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3, help="alternate the two engines this many times; report medians")
    a = ap.parse_args()
    flags = open("/proc/cpuinfo").read().split("flags", 1)[1].split("\n", 1)[0].split() if os.path.exists("/proc/cpuinfo") else []
    kernels = [k for k, need in (("avx512", "avx512f"), ("avx2", "avx2"), ("openblas", None)) if need is None or need in flags]
    rates, rt = {k: [] for k in kernels}, []
    for _ in range(a.rounds):
        for k in kernels:
            rate, gemm, core = automix(a.model, a.batch, a.runs, gemm=k)
            rates[k].append(rate)
        rt.append(onnxruntime(a.model, a.batch, a.runs))
    m_rt = statistics.median(rt)
    rounds = lambda vs: ", ".join(f"{v:.1f}" for v in vs)
    print(f"model {os.path.basename(a.model)}  batch {a.batch}  (OpenBLAS core {core}; CPU has "
          + ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni") if f in flags) + ")")
    for k in kernels:
        m = statistics.median(rates[k])
        print(f"AutoMix float, {k:8s} Conv GEMM {m:8.1f} images/s  {m / m_rt:.2f}x onnxruntime   (rounds: {rounds(rates[k])})")
    print(f"onnxruntime 2 threads             {m_rt:8.1f} images/s                     (rounds: {rounds(rt)})")


if __name__ == "__main__":
    sys.exit(main())
