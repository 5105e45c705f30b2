#!/usr/bin/env python3
"""Where the exact integer executor loses or wins against float, layer by layer, on one core.

Runs `automix bench --profile` (one core, batch 16) on MobileNetV2 `--rounds` times and prints, per layer, the median
float and integer milliseconds of the same runs, largest integer excess first. A fused step (`A + B`, an expand Conv
and its depthwise Conv) is split evenly between its two layers. With `--before OLD_AUTOMIX` the two builds alternate
and a third column gives the other build's integer time, matched by layer (the machine's speed swings from minute to
minute, so only alternating runs compare builds).

    python3 Scripts/profile_layers.py [--bits 8|16] [--rounds 3] [--rows 25] [--before /tmp/old/.build/release/automix]
"""
import argparse, collections, os, re, statistics, subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGENET = ["--model", os.path.join(ROOT, "Datasets", "models", "mobilenetv2_imagenet.onnx"),
            "--calib", os.path.join(ROOT, "Datasets", "imagenet_photos"), "--resize", "none",
            "--mean", "0.485", "0.456", "0.406", "--std", "0.229", "0.224", "0.225"]
ROW = re.compile(r"^  (/\S+(?: \+ /\S+)?) \w+\s+([\d.]+) ms", re.M)


def profile(exe, bits):
    """{'float'|'int': ({layer: ms}, total ms)} of one profiled bench run."""
    env = dict(os.environ, AUTOMIX_PROFILE_ROWS="1000")
    out = subprocess.run([exe, "bench", *IMAGENET, "--target", "esp32p4", "--bits", str(bits), "--profile",
                          "--batch", "16", "--threads", "1", "--runs", "5"], env=env, capture_output=True, text=True,
                         check=True).stdout
    float_part, int_part = out.split(f"exact int{bits} profile")
    result = {}
    for side, text in (("float", float_part.split("float profile")[1]), ("int", int_part)):
        layers = collections.defaultdict(float)
        for name, ms in ROW.findall(text):
            parts = name.split(" + ")
            for p in parts:
                layers[p] += float(ms) / len(parts)
        total = float(re.search(r"batch 16: ([\d.]+) ms", text).group(1))
        result[side] = (layers, total)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bits", type=int, default=16, choices=[8, 16])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", type=int, default=25, help="layers to print")
    ap.add_argument("--before", help="another automix binary, timed in alternation")
    ap.add_argument("--after", default=os.path.join(ROOT, ".build", "release", "automix"))
    a = ap.parse_args()
    runs = collections.defaultdict(list)
    for r in range(a.rounds):
        for name, exe in [("after", a.after)] + ([("before", a.before)] if a.before else []):
            runs[name].append(profile(exe, a.bits))
        print(f"round {r + 1}/{a.rounds} done", flush=True)

    def median_of(name, side, layer):
        values = [run[side][0].get(layer) for run in runs[name]]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else float("nan")

    after = runs["after"]
    layers = set().union(*(run["float"][0].keys() for run in after))
    rows = sorted(((l, median_of("after", "float", l), median_of("after", "int", l)) for l in layers),
                  key=lambda t: -(t[2] - t[1]))
    fl = statistics.median(run["float"][1] for run in after)
    it = statistics.median(run["int"][1] for run in after)
    print(f"MobileNetV2, one core, batch 16, medians of {a.rounds}: float {fl:.1f} ms, int{a.bits} {it:.1f} ms "
          f"({fl / it:.2f}x float)")
    head = f"{'layer':58s} {'float':>6s} {'int' + str(a.bits):>6s} {'excess':>7s}"
    print(head + (f" {'before':>7s}" if a.before else ""))
    for layer, f, i in rows[:a.rows]:
        line = f"{layer[:58]:58s} {f:6.2f} {i:6.2f} {i - f:+7.2f}"
        if a.before:
            line += f" {median_of('before', 'int', layer):7.2f}"
        print(line)
    if a.before:
        b = statistics.median(run["int"][1] for run in runs["before"])
        bf = statistics.median(run["float"][1] for run in runs["before"])
        print(f"before: float {bf:.1f} ms, int{a.bits} {b:.1f} ms ({bf / b:.2f}x float)")


if __name__ == "__main__":
    main()
