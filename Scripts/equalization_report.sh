#!/usr/bin/env bash
# Layerwise equalization on the ImageNet MobileNetV2 with the 62 bundled photos (agreement with the float model),
# for esp32p4 and esp32s3 int8: the graphwise error of the last layer with every layer int8, the all-int8 agreement,
# and the cost of the plan the search ends with, without and with equalization, and with ReLU6 read as Relu.
# Each `search --try-equalization` searches without and with equalization and keeps the cheaper final plan.
#   swift build -c release && bash Scripts/equalization_report.sh [max-drop, default 5]   (about 15 min)
set -euo pipefail
cd "$(dirname "$0")/.."
DROP=${1:-5}
OUT=${OUT:-/tmp/automix-equalization}
mkdir -p "$OUT"
IMAGES=(--model Datasets/models/mobilenetv2_imagenet.onnx --calib Datasets/imagenet_photos --data Datasets/imagenet_photos
        --labels numeric --resize none --mean 0.485 0.456 0.406 --std 0.229 0.224 0.225 --metric agreement --max-drop="$DROP")
for target in esp32p4 esp32s3; do
  for relu6 in "" "--relu6-as-relu"; do
    run="$OUT/$target${relu6:+-relu6}"
    .build/release/automix search "${IMAGES[@]}" --target "$target" --try-equalization $relu6 \
      --results "$run/results" --log-dir "$run/log" --tmp-dir "$run/tmp" --json > "$run.log" 2>&1 || true
    grep -E "equalization|ReLU6|graphwise noise" "$run/log/automix.log" | sed "s|^|  $target${relu6:+ relu6}: |" || true
  done
done
python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
print(f"\n{'target':8} {'ReLU6':6} {'variant':10} {'pairs':>5} {'last-layer graphwise':>20} {'all-int8 agr.':>13} {'final agr.':>10} {'final MAC cost':>14} {'weight bytes':>12}  kept")
for target in ("esp32p4", "esp32s3"):
    for relu6 in ("", "-relu6"):
        path = os.path.join(out, target + relu6 + ".log")
        last = open(path).read().strip().splitlines()[-1]
        r = json.loads(last)
        chosen = "equalized" if (r.get("preparation") or {}).get("equalization") else "plain"
        for v in r["variants"]:
            name = "equalized" if v["variant"] == "equalized" else "plain"
            fmt = lambda x, f: format(x, f) if isinstance(x, (int, float)) else "-"
            print(f"{target:8} {'relu' if relu6 else 'relu6':6} {name:10} {fmt(v.get('pairs_equalized'), 'd'):>5} "
                  f"{fmt(v['last_layer_graphwise'], '.4f'):>20} {fmt(v['int8_metric'], '.2f'):>13} {fmt(v['final_metric'], '.2f'):>10} "
                  f"{fmt(v['mac_cost'], '.4g'):>14} {fmt(v['weight_bytes'], 'd'):>12}  {'*' if name == chosen else ''}")
PY
