#!/usr/bin/env bash
# The search's cost side by side: full evaluations (images evaluated over all trials ÷ images in the set), trials,
# wall time and the final plan (its cost under today's cost model), for this build and, with --before, another
# automix binary (an older build, e.g. `git worktree add /tmp/old <rev> && swift build -c release` there).
#   bash Scripts/bench_search.sh [--before /path/to/old/automix] [--cases bundled,imagenet-p4,imagenet-s3,fmnist-bn,fmnist-cnn]
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE="" CASES="bundled,imagenet-p4,imagenet-s3,fmnist-bn,fmnist-cnn"
while [ $# -gt 0 ]; do
  case "$1" in
    --before) BEFORE="$2"; shift 2 ;;
    --cases) CASES="$2"; shift 2 ;;
    *) echo "bench_search.sh: unknown option $1" >&2; exit 64 ;;
  esac
done
swift build -c release >/dev/null
NEW=.build/release/automix
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
IMAGENET=(--model Datasets/models/mobilenetv2_imagenet.onnx --calib Datasets/imagenet_photos --data Datasets/imagenet_photos
          --labels numeric --resize none --mean 0.485 0.456 0.406 --std 0.229 0.224 0.225 --metric agreement --max-drop 5)
args_of() {
  case "$1" in
    bundled) echo "" ;;
    imagenet-p4) echo "${IMAGENET[*]} --target esp32p4" ;;
    imagenet-s3) echo "${IMAGENET[*]} --target esp32s3" ;;
    fmnist-bn) echo "--model Datasets/models/fmnist_mbv2s_bn.onnx" ;;
    fmnist-cnn) echo "--model Datasets/models/fmnist_cnn.onnx --max-drop 0.05" ;;
    *) echo "bench_search.sh: unknown case $1" >&2; exit 64 ;;
  esac
}
run_side() {  # side binary case
  local dir="$OUT/$1/$3"
  mkdir -p "$dir"
  # shellcheck disable=SC2046
  /usr/bin/time -f "%e" -o "$dir/wall" "$2" search $(args_of "$3") --results "$dir/Results" --log-dir "$dir/amct_log" \
    --tmp-dir "$dir/tmp" --json >"$dir/out.json" 2>"$dir/err.txt" || true
}
IFS=, read -r -a LIST <<< "$CASES"
for c in "${LIST[@]}"; do
  [ -n "$BEFORE" ] && { echo "running $c (before)" >&2; run_side before "$BEFORE" "$c"; }
  echo "running $c (this build)" >&2
  run_side after "$NEW" "$c"
done
python3 - "$OUT" "$NEW" "${LIST[@]}" <<'PY'
import json, os, subprocess, sys
out, new, cases = sys.argv[1], sys.argv[2], sys.argv[3:]
def side(name, case):
    d = os.path.join(out, name, case)
    if not os.path.exists(os.path.join(d, "out.json")): return None
    r = json.load(open(os.path.join(d, "out.json")))
    r["wall"] = float(open(os.path.join(d, "wall")).read().split()[-1])
    fc = os.path.join(d, "Results", "accuracy_based_auto_calibration_final_config.json")
    # the final plan's cost under this build's cost model, whichever build chose it
    r["cost_now"] = None
    if os.path.exists(fc):
        c = subprocess.run([new, "quantize", "--config", fc, "--json", "-q"], capture_output=True, text=True)
        if c.returncode == 0: r["cost_now"] = json.loads(c.stdout)["cost"]["chip_cost"]
    if r.get("full_evaluations") is None: r["full_evaluations"] = float(r["trials"])   # before early stopping: every trial in full
    return r
print("%-12s %-7s %6s %9s %8s %9s %6s %6s %12s" % ("case", "build", "trials", "full evals", "wall s", "final", "int16", "float", "final cost"))
for case in cases:
    for name in ("before", "after"):
        r = side(name, case)
        if r is None: continue
        fm = r.get("final_metric")
        print("%-12s %-7s %6d %9.2f %8.1f %9s %6d %6d %12s" % (case, name if name == "before" else "this", r["trials"], r["full_evaluations"],
              r["wall"], "%.2f" % fm if fm is not None else "missed", len(r["int16_layers"]), len(r["float_layers"]),
              "%.4g" % r["cost_now"] if r["cost_now"] else "-"))
PY
