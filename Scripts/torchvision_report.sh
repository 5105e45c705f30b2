#!/usr/bin/env bash
# Classifiers AutoMix was not built on: torchvision's mobilenet_v3_small, resnet18, squeezenet1_0, efficientnet_b0 and
# shufflenet_v2_x0_5 (untrained, seeded, 10 classes, 64x64 input, BatchNorm statistics randomised), exported by torch
# at opset 13 and 17. For each, both chips, int8 and int16: quantize, export (which reads its .espdl back and emulates
# it), and `run` of the written file on the 62 photos must give quantize's top-1. Accuracy is meaningless (untrained);
# the columns check that the whole pipeline runs and agrees with itself.
# Needs `swift build -c release` and pip's torch, torchvision, onnx.
set -uo pipefail
cd "$(dirname "$0")/.."
A=.build/release/automix
OUT=${OUT:-/tmp/automix-torchvision}
mkdir -p "$OUT"
python3 - "$OUT" <<'PY'
import sys, warnings, torch, torchvision.models as M
warnings.filterwarnings("ignore")
torch.manual_seed(0)
for name in ["mobilenet_v3_small", "resnet18", "squeezenet1_0", "efficientnet_b0", "shufflenet_v2_x0_5"]:
    m = getattr(M, name)(num_classes=10).eval()
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1); mod.running_var.uniform_(0.5, 1.5)
    for opset in (13, 17):
        torch.onnx.export(m, torch.randn(1, 3, 64, 64), f"{sys.argv[1]}/{name}_op{opset}.onnx", opset_version=opset,
                          input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "N"}}, dynamo=False)
PY
D="--calib Datasets/imagenet_photos --data Datasets/imagenet_photos --labels numeric"
printf '| model | chip | bits | quantize top-1 | export | run top-1, test diff |\n|---|---|---|---|---|---|\n'
for f in "$OUT"/*.onnx; do
  n=$(basename "$f" .onnx)
  for t in esp32p4 esp32s3; do for b in 8 16; do
    q=$($A quantize --model "$f" $D --target $t --bits $b --json 2>/dev/null | tail -1 | python3 -c "import json,sys; print(json.load(sys.stdin)['top1'])" 2>/dev/null)
    rm -rf "$OUT/x"
    e=$($A export --model "$f" --calib Datasets/imagenet_photos --target $t --bits $b --format espdl --results "$OUT/x" 2>&1 | grep error | cut -c1-120)
    r=$($A run "$OUT/x/$n.espdl" --data Datasets/imagenet_photos --labels numeric --json 2>/dev/null | tail -1 \
        | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['top1'], d['test_max_abs_diff'])" 2>/dev/null)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$n" "$t" "$b" "${q:-error}" "${e:-ok}" "${r:-error}"
  done; done
done
