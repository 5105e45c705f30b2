#!/usr/bin/env bash
# End to end on the op-coverage classifiers (Scripts/make_coverage_models.py), both chips: float top-1, all-int8
# drop, the search's final plan (--max-drop 0.5 on the 10,000 Fashion-MNIST test images), `run` of the .espdl the
# search wrote (must equal the search's figure), and the fake-quant ONNX in onnxruntime against AutoMix's simulation.
# Needs `swift build -c release` and pip's onnx, onnxruntime, numpy. Prints a Markdown table.
set -uo pipefail
cd "$(dirname "$0")/.."
A=.build/release/automix
OUT=${OUT:-/tmp/automix-coverage}
DATA="--calib Datasets/fashion_mnist/calib --data Datasets/fashion_mnist/val"
printf '| model | chip | float top-1 | int8 top-1 (drop) | search: final top-1, int16 layers, trials, s | run on the .espdl | fake-quant vs simulation |\n|---|---|---|---|---|---|---|\n'
for m in ${MODELS:-fire_resnet mbv3_se bn_norm torch_mixed shuffle_block}; do
  M=Tests/AutoMixTests/Fixtures/coverage/$m.onnx
  for t in esp32p4 esp32s3; do
    d=$OUT/$m-$t; rm -rf "$d"; mkdir -p "$d"
    q=$($A quantize --model $M $DATA --target $t --json 2>/dev/null | tail -1)
    s=$($A search --model $M $DATA --target $t --max-drop 0.5 --results $d --log-dir $d/log --tmp-dir $d/tmp --json 2>/dev/null | tail -1)
    r=$($A run $d/$m.espdl --data Datasets/fashion_mnist/val --json 2>/dev/null | tail -1)
    $A export --model $M --calib Datasets/fashion_mnist/calib --config $d/accuracy_based_auto_calibration_final_config.json \
      --format all --results $d/x --data Datasets/fashion_mnist/val --limit 2000 --dump-io $d/io >/dev/null 2>&1
    f=$(python3 Scripts/check_fake_quant.py $d/x/${m}_fake_quant_model.onnx $d/io 2>&1 | tail -1)
    python3 - "$m" "$t" "$q" "$s" "$r" "$f" <<'PY'
import json, sys
m, t, q, s, r, f = sys.argv[1:]
def load(x):
    try: return json.loads(x)
    except Exception: return {}
q, s, r, f = map(load, (q, s, r, f))
fl = q.get("float_top1"); i8 = q.get("top1")
final = s.get("final_metric"); n16 = len(s.get("int16_layers", []) or [])
run = r.get("top1"); same = "= search" if run is not None and final is not None and abs(run - final) < 1e-9 else "DIFFERS"
fq = f"{f.get('top1_agreement', '?')} % top-1, max {f.get('max_diff_steps', '?')} steps" if f else "not checked"
print(f"| {m} | {t} | {fl:.2f} | {i8:.2f} ({fl - i8:.2f}) | {final:.2f}, {n16}, {s.get('trials')}, {s.get('seconds', 0):.0f} | {run:.2f} {same} | {fq} |")
PY
  done
done
