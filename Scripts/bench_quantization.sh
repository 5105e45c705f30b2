#!/usr/bin/env bash
# AutoMix's quantized speed, analysis time and search time on the ImageNet MobileNetV2 with the 62 bundled photos,
# beside ESP-PPQ 1.3.12's figures measured on this machine kind (Tests/AutoMixTests/Fixtures/esp-ppq/ESP-PPQ-README.md;
# ESP-PPQ needs torch and a 6 GB venv, so its side is quoted, not re-run).
#   bash Scripts/bench_quantization.sh [--max-drop 5]
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_DROP=5
[ "${1:-}" = "--max-drop" ] && MAX_DROP="$2"
swift build -c release >/dev/null
AM=.build/release/automix
MODEL=Datasets/models/mobilenetv2_imagenet.onnx
IMAGES=(--resize none --mean 0.485 0.456 0.406 --std 0.229 0.224 0.225)
OUT=$(mktemp -d)
cat > "$OUT/summary.py" <<'PY'
import json, sys
lines = sys.stdin.read().splitlines()
r = json.loads([l for l in lines if l.startswith("{")][-1])
s = r["seconds"]
part = lambda k: "%.1f s (%.0f %%)" % (r[k], 100 * r[k] / s)
print("   %.1f s: calibration %s, ranking %s, evaluation %s over %d trials"
      % (s, part("calibration_seconds"), part("ranking_seconds"), part("evaluation_seconds"), r["trials"]))
print("   agreement: int8 %.2f %%, final %.2f %% with %d int16 and %d float layers"
      % (r["int8_metric"], r["final_metric"], len(r["int16_layers"]), len(r["float_layers"])))
print("   " + [l for l in lines if l.strip().startswith("wall")][-1].strip())
PY

echo "== inference, batch 32 (median of 7), and analyse (graphwise + layerwise, all layers, 62 photos)"
$AM bench --model $MODEL --batch 32 --runs 7 --target esp32p4 --calib Datasets/imagenet_photos --calib-batch 8 "${IMAGES[@]}" --analyse
echo "   ESP-PPQ: quantized simulation 17 images/s (batch 1), 9 (batch 32); graphwise 5-6 s + layerwise 100-122 s"

for TARGET in esp32p4 esp32s3; do
  echo "== search, $TARGET, --metric agreement --max-drop $MAX_DROP, 62 photos"
  /usr/bin/time -f "   wall %e s" $AM search --model $MODEL --calib Datasets/imagenet_photos --data Datasets/imagenet_photos \
    --labels numeric "${IMAGES[@]}" --calib-batch 8 --metric agreement --max-drop "$MAX_DROP" --target $TARGET \
    --results "$OUT/$TARGET/Results" --log-dir "$OUT/$TARGET/amct_log" --tmp-dir "$OUT/$TARGET/tmp" --json 2>&1 \
    | python3 "$OUT/summary.py"
done
echo "   ESP-PPQ: one fixed-config espdl_quantize_onnx on the same model and data takes 141-169 s"
rm -rf "$OUT"
