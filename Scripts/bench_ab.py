#!/usr/bin/env python3
"""Two automix builds, timed in alternation, medians side by side.

This machine kind's speed swings by up to 2x from one minute to the next (shared memory bandwidth), so one run of
the old build followed by one of the new can point either way; alternating them many times and comparing medians
does not. Times MobileNetV2 batch 32 (`automix bench --target`: float and exact integer images/s) and the analyses
(`automix analyse`: graphwise, layerwise, cosine seconds), and checks that both builds wrote the same ranking order.

    git worktree add /tmp/old <rev> && (cd /tmp/old && swift build -c release)
    python3 Scripts/bench_ab.py --before /tmp/old/.build/release/automix [--rounds 5] [--skip-analyse]
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGENET = ["--model", os.path.join(ROOT, "Datasets", "models", "mobilenetv2_imagenet.onnx"),
            "--calib", os.path.join(ROOT, "Datasets", "imagenet_photos"), "--resize", "none",
            "--mean", "0.485", "0.456", "0.406", "--std", "0.229", "0.224", "0.225"]


def bench(exe, target, bits):
    out = subprocess.run([exe, "bench", *IMAGENET, "--runs", "5", "--target", target, "--bits", str(bits), "--json"],
                         capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    return d["images_per_s"], d["quantized_images_per_s"], d["quantized_vs_float"]


def analyse(exe, ranking):
    run = subprocess.run([exe, "analyse", *IMAGENET, "--ranking", ranking], capture_output=True, text=True, check=True)
    m = re.search(r"graphwise ([0-9.]+) s, layerwise ([0-9.]+) s, cosine ([0-9.]+) s", run.stdout + run.stderr)
    if not m:
        sys.exit("bench_ab.py: `automix analyse` printed no timing line")
    g, l, c = map(float, m.groups())
    order = [layer["name"] for layer in json.load(open(ranking))["layers"]]
    return g, l, c, order


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, help="the other automix binary")
    ap.add_argument("--after", default=os.path.join(ROOT, ".build", "release", "automix"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--target", default="esp32p4")
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--skip-analyse", action="store_true")
    a = ap.parse_args()
    builds = {"before": a.before, "after": a.after}
    for name, exe in builds.items():
        if not os.access(exe, os.X_OK):
            sys.exit(f"bench_ab.py: --{name} {exe} is not an executable")
    speed = {k: [] for k in builds}
    times = {k: [] for k in builds}
    orders = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            for name, exe in builds.items():
                speed[name].append(bench(exe, a.target, a.bits))
                if not a.skip_analyse:
                    g, l, c, order = analyse(exe, os.path.join(tmp, f"{name}.json"))
                    times[name].append((g, l, c, g + l))
                    orders[name] = order
            print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    print(f"MobileNetV2 batch 32, {a.target} int{a.bits}, medians of {a.rounds} alternating rounds")
    print(f"{'build':8s} {'float img/s':>12s} {'int img/s':>10s} {'int/float':>10s}"
          + ("" if a.skip_analyse else f" {'graphwise s':>12s} {'layerwise s':>12s} {'cosine s':>9s} {'g+l s':>7s}"))
    for name in builds:
        row = f"{name:8s} {med(speed[name], 0):12.0f} {med(speed[name], 1):10.0f} {med(speed[name], 2):10.2f}"
        if not a.skip_analyse:
            row += "".join(f" {med(times[name], i):{w}.2f}" for i, w in zip(range(4), (12, 12, 9, 7)))
        print(row)
    if not a.skip_analyse:
        print("same layerwise ranking order:", orders["before"] == orders["after"])


if __name__ == "__main__":
    main()
