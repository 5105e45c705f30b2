#!/usr/bin/env python3
"""AutoMix's float speed beside onnxruntime's (2 threads), same model, batch and machine, in one run.

  swift build -c release
  python3 Scripts/bench_vs_onnxruntime.py [--model Datasets/models/mobilenetv2_imagenet.onnx] [--batch 32] [--runs 7]

Needs onnxruntime and numpy from PyPI (a peer for comparison only; AutoMix never imports Python).
Prints both medians in images/s and their ratio (AutoMix / onnxruntime). AutoMix runs with its own AVX-512
Conv kernel (its default where the CPU has it) and, for reference, with OpenBLAS doing the Conv products.
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
    am, blas, rt = [], [], []
    for _ in range(a.rounds):
        rate, gemm, core = automix(a.model, a.batch, a.runs)
        am.append(rate)
        if gemm != "openblas":
            blas.append(automix(a.model, a.batch, a.runs, gemm="openblas")[0])
        rt.append(onnxruntime(a.model, a.batch, a.runs))
    m_am, m_rt = statistics.median(am), statistics.median(rt)
    rounds = lambda vs: ", ".join(f"{v:.1f}" for v in vs)
    print(f"model {os.path.basename(a.model)}  batch {a.batch}  (OpenBLAS core {core})")
    print(f"AutoMix float, {gemm} Conv GEMM {m_am:8.1f} images/s   (rounds: {rounds(am)})")
    if blas:
        print(f"AutoMix float, OpenBLAS Conv GEMM {statistics.median(blas):6.1f} images/s   (rounds: {rounds(blas)})")
    print(f"onnxruntime 2 threads          {m_rt:8.1f} images/s   (rounds: {rounds(rt)})")
    print(f"ratio AutoMix/onnxruntime  {m_am / m_rt:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
