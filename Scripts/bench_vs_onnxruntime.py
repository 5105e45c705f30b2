#!/usr/bin/env python3
"""AutoMix's float speed beside onnxruntime's (2 threads), same model, batch and machine, in one run; then the
exact int8 and int16 executors against AutoMix's own float (timed in turns inside one `automix bench`), and the
graphwise + layerwise analysis time.

  swift build -c release
  python3 Scripts/bench_vs_onnxruntime.py [--model Datasets/models/mobilenetv2_imagenet.onnx] [--batch 32] [--runs 7]
      [--calib Datasets/imagenet_photos] [--target esp32p4]

Needs onnxruntime and numpy from PyPI (a peer for comparison only; AutoMix never imports Python).
Prints the medians in images/s and the ratio to onnxruntime of each Conv GEMM this CPU runs: AutoMix's own
AVX-512 kernel (its default where the CPU has it), its own 256-bit AVX2 + FMA kernel (the default on AVX2-only
CPUs; on an AVX-512 CPU it shows what such a machine gets from it), and OpenBLAS. Also the CPU features found.
"""
import argparse, json, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


IMAGENET = ["--resize", "none", "--mean", "0.485", "0.456", "0.406", "--std", "0.229", "0.224", "0.225"]


def automix(model, batch, runs, gemm=None, extra=()):
    exe = os.path.join(ROOT, ".build", "release", "automix")
    args = [exe, "bench", "--model", model, "--batch", str(batch), "--runs", str(runs), "--json", *extra]
    out = subprocess.run(args + (["--gemm", gemm] if gemm else []), check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def integer_rows(a, kernels, calib_args):
    """Exact int8 and int16 against own float, per kernel; the analysis time once (default kernel)."""
    for bits in (8, 16):
        for k in kernels:
            ratios, rates = [], []
            for _ in range(a.rounds):
                r = automix(a.model, a.batch, a.runs, gemm=k, extra=["--target", a.target, "--bits", str(bits), *calib_args])
                ratios.append(r["quantized_vs_float"])
                rates.append(r["quantized_images_per_s"])
            vnni = "avx512_vnni" in FLAGS
            if bits == 8:
                pairs = "int16 pairs, bytes where the input is 0..127"
                int_kernel = {"avx512": "vnni bytes" if vnni else pairs, "avx2": pairs, "openblas": "float-held sums"}[k]
            else:
                int_kernel = {"avx512": "vnni int16 pairs" if vnni else "int16 pairs", "avx2": "int16 pairs",
                              "openblas": "double sums"}[k] + ("" if k == "openblas" else ", weights split in bytes")
            print(f"exact int{bits:<2d} {a.target}, {k:8s} {statistics.median(rates):8.1f} images/s  "
                  f"{statistics.median(ratios):.2f}x own float   (Conv: {int_kernel}; rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
    if calib_args:
        times = []
        for _ in range(a.rounds):
            r = automix(a.model, 8, 1, extra=["--target", a.target, "--analyse", *calib_args])
            times.append((r["graphwise_seconds"], r["layerwise_seconds"]))
        g = statistics.median(t[0] for t in times)
        l = statistics.median(t[1] for t in times)
        print(f"analysis, {r['analysed_layers']} layers: graphwise {g:.2f} s + layerwise {l:.2f} s = {g + l:.2f} s "
              f"(medians of {a.rounds}; `automix analyse` adds the cosine measure)")


FLAGS = open("/proc/cpuinfo").read().split("flags", 1)[1].split("\n", 1)[0].split() if os.path.exists("/proc/cpuinfo") else []


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
    ap.add_argument("--target", default="esp32p4")
    ap.add_argument("--calib", default=os.path.join(ROOT, "Datasets", "imagenet_photos"),
                    help="calibration images for the integer rows and the analysis (ImageNet preprocessing); '' for none")
    a = ap.parse_args()
    flags = FLAGS
    kernels = [k for k, need in (("avx512", "avx512f"), ("avx2", "avx2"), ("openblas", None)) if need is None or need in flags]
    rates, rt = {k: [] for k in kernels}, []
    for _ in range(a.rounds):
        for k in kernels:
            r = automix(a.model, a.batch, a.runs, gemm=k)
            rates[k].append(r["images_per_s"])
            core = r.get("openblas_core", "?")
        rt.append(onnxruntime(a.model, a.batch, a.runs))
    m_rt = statistics.median(rt)
    rounds = lambda vs: ", ".join(f"{v:.1f}" for v in vs)
    print(f"model {os.path.basename(a.model)}  batch {a.batch}  (OpenBLAS core {core}; CPU has "
          + ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni") if f in flags) + ")")
    if os.environ.get("AVX2_ONLY_WORK"):
        import onnxruntime as ort
        print(f"held to AVX2 by Scripts/avx2_only.sh: /proc/cpuinfo masked, onnxruntime {ort.__version__} from "
              f"{os.path.dirname(ort.__file__)} (its XCR0 reads patched), OpenBLAS core forced")
    for k in kernels:
        m = statistics.median(rates[k])
        print(f"AutoMix float, {k:8s} Conv GEMM {m:8.1f} images/s  {m / m_rt:.2f}x onnxruntime   (rounds: {rounds(rates[k])})")
    print(f"onnxruntime 2 threads             {m_rt:8.1f} images/s                     (rounds: {rounds(rt)})")
    calib_args = ["--calib", a.calib, *IMAGENET] if a.calib and os.path.isdir(a.calib) else []
    integer_rows(a, kernels, calib_args)


if __name__ == "__main__":
    sys.exit(main())
