#!/usr/bin/env bash
# Checks AutoMix's written models against independent readers and runtimes, on the bundled models:
#  - fake-quant ONNX in onnxruntime vs AutoMix's integer simulation (top-1 agreement, logit steps);
#  - deploy ONNX through onnx.checker;
#  - .espdl through ESP-PPQ's own FlatBuffers reader (espdl_dump.py) and `automix run` (embedded test values);
#  - .espdl structure against ESP-PPQ 1.3.12's own exports, given ESP-PPQ's exponents (compare_espdl.py).
# Needs PyPI: makes .venv-check with onnx, onnxruntime, numpy, flatbuffers, cryptography, esp-ppq 1.3.12 (no deps).
set -euo pipefail
cd "$(dirname "$0")/.."
V=${CHECK_VENV:-.venv-check}
if [ ! -x $V/bin/python ]; then
  python3 -m venv $V
  $V/bin/pip install -q onnx onnxruntime numpy flatbuffers==25.12.19 cryptography
  $V/bin/pip install -q --no-deps esp-ppq==1.3.12
fi
swift build -c release --product automix >/dev/null
A=.build/release/automix
OUT=${OUT:-/tmp/automix-check}
rm -rf "$OUT"; mkdir -p "$OUT"
F=Tests/AutoMixTests/Fixtures/esp-ppq
FM="--model Datasets/models/fmnist_mbv2s.onnx --calib Datasets/fashion_mnist/calib"
MIXED="--layer /features/features.0/Conv=int16 --layer /features/features.3/conv/conv.3/Conv=int16 --layer /features/features.10/conv/conv.0/Conv=float"
check() {  # name, then export arguments
  local name=$1; shift
  $A export "$@" --format all --results "$OUT" --name "$name" --dump-io "$OUT/$name.io" >/dev/null 2>&1
  printf '%-22s fake-quant vs simulation: %s\n' "$name" "$($V/bin/python Scripts/check_fake_quant.py "$OUT/${name}_fake_quant_model.onnx" "$OUT/$name.io" "$OUT/${name}_deploy_model.onnx")"
  $V/bin/python Scripts/espdl_dump.py "$OUT/$name.espdl" >/dev/null && echo "$name.espdl: read by ESP-PPQ's reader"
  $A run "$OUT/$name.espdl" 2>&1 | grep "embedded test values"
}
check mbv2s_p4_int8  $FM --data Datasets/fashion_mnist/val --target esp32p4
check mbv2s_s3_int8  $FM --data Datasets/fashion_mnist/val --target esp32s3
check mbv2s_p4_mixed $FM --data Datasets/fashion_mnist/val --target esp32p4 $MIXED
check mbv2s_s3_mixed $FM --data Datasets/fashion_mnist/val --target esp32s3 $MIXED
check mbv2s_p4_int16 $FM --data Datasets/fashion_mnist/val --target esp32p4 --bits 16
check cnn_p4_int8 --model Datasets/models/fmnist_cnn.onnx --calib Datasets/fashion_mnist/calib --data Datasets/fashion_mnist/val
check mnv2_p4_int8 --model Datasets/models/mobilenetv2_imagenet.onnx --calib Datasets/imagenet_photos --data Datasets/imagenet_photos --labels numeric --resize none
check mnv2_s3_mixed --model Datasets/models/mobilenetv2_imagenet.onnx --calib Datasets/imagenet_photos --data Datasets/imagenet_photos --labels numeric --resize none --target esp32s3 --layer /features/features.0/features.0.0/Conv=int16 --layer /classifier/classifier.1/Gemm=float
echo "structure against ESP-PPQ's exports (ESP-PPQ's exponents imposed):"
for c in "esp32p4 8 fmnist_mbv2s_esp32p4_int8" "esp32s3 8 fmnist_mbv2s_esp32s3_int8" "esp32p4 16 fmnist_mbv2s_esp32p4_int16"; do
  set -- $c
  $A export $FM --target $1 --bits $2 --exponents-from $F/$3.espdl --results "$OUT/ppq" --name $3 >/dev/null 2>&1
  $V/bin/python Scripts/compare_espdl.py "$OUT/ppq/$3.espdl" $F/$3.espdl | tail -1
done
$A export $FM --layer /features/features.0/Conv=int16 --layer /features/features.3/conv/conv.3/Conv=int16 --layer /classifier/Gemm=int16 \
  --exponents-from $F/fmnist_mbv2s_esp32p4_mixed8_16.espdl --results "$OUT/ppq" --name mixed >/dev/null 2>&1
$V/bin/python Scripts/compare_espdl.py "$OUT/ppq/mixed.espdl" $F/fmnist_mbv2s_esp32p4_mixed8_16.espdl | tail -1
$A export --model Datasets/models/fmnist_cnn.onnx --calib Datasets/fashion_mnist/calib --exponents-from $F/fmnist_cnn_esp32p4_int8.espdl --results "$OUT/ppq" --name cnn >/dev/null 2>&1
$V/bin/python Scripts/compare_espdl.py "$OUT/ppq/cnn.espdl" $F/fmnist_cnn_esp32p4_int8.espdl | tail -1
$A export --model Datasets/models/mobilenetv2_imagenet.onnx --calib Datasets/imagenet_photos --resize none --exponents-from $F/mobilenetv2_imagenet_esp32p4_int8.espdl --results "$OUT/ppq" --name mnv2 >/dev/null 2>&1
$V/bin/python Scripts/compare_espdl.py "$OUT/ppq/mnv2.espdl" $F/mobilenetv2_imagenet_esp32p4_int8.espdl | tail -1
$V/bin/python Scripts/espdl_info.py "$OUT/ppq/mixed.espdl" | diff -q - "$OUT/ppq/mixed.info" && echo ".info equals ESP-PPQ's printable_graph of the same file"
