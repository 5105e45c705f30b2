#!/usr/bin/env bash
# Runs issue 16's bad-input catalogue end to end against the release binary and prints one Markdown row per case: what
# was tried, the exit code, the last line of stderr, and whether the outcome is the expected one (a clean error: exit
# 1 or 64, one line, no backtrace; or the stated exit). Needs `swift build -c release`; uses only bundled data.
#   bash Scripts/hostile.sh            # the whole catalogue, about a minute
set -uo pipefail
cd "$(dirname "$0")/.."
A=$PWD/.build/release/automix
M=$PWD/Datasets/models/fmnist_cnn.onnx
V=$PWD/Datasets/fashion_mnist/val
C=$PWD/Datasets/fashion_mnist/calib
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
pass=0; fail=0
printf '| case | exit | message (last stderr line) | ok |\n|---|---|---|---|\n'

# case NAME WANT CMD...: WANT is "error" (exit 1 or 64, no trap), "error_or_0", or an exit code
case_() {
  local name=$1 want=$2; shift 2
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  local last; last=$(printf '%s\n' "$err" | grep -v '^\s*$' | grep -v 'Usage:\|See .automix' | tail -1 | cut -c1-150)
  local ok=no
  if printf '%s' "$err" | grep -q 'Backtrac\|Fatal error\|runtime failure'; then ok=no
  elif [ "$want" = error ] && { [ $rc -eq 1 ] || [ $rc -eq 64 ]; }; then ok=yes
  elif [ "$want" = error_or_0 ] && { [ $rc -eq 0 ] || [ $rc -eq 1 ]; }; then ok=yes
  elif [ "$want" = "$rc" ]; then ok=yes; fi
  [ $ok = yes ] && pass=$((pass + 1)) || fail=$((fail + 1))
  printf '| %s | %d | %s | %s |\n' "$name" "$rc" "${last//|/\\|}" "$ok"
}

# --- models
head -c 1000 "$M" > "$W/cut.onnx"
echo "not a model" > "$W/text.onnx"
mkdir -p "$W/dir.onnx"
python3 - "$M" "$W" <<'PY'
import sys, onnx, numpy as np
from onnx import numpy_helper as nh
src, w = sys.argv[1:]
m = onnx.load(src)
t = [i for i in m.graph.initializer if len(i.dims) == 4][0]
a = nh.to_array(t).copy(); a.flat[0] = np.nan
t.CopyFrom(nh.from_array(a, t.name)); onnx.save(m, f"{w}/nan.onnx")
m = onnx.load(src)
d = m.graph.input[0].type.tensor_type.shape.dim; d[2].dim_value = 100000; d[3].dim_value = 100000
onnx.save(m, f"{w}/huge_input.onnx")
m = onnx.load(src)
[n for n in m.graph.node if n.op_type == "Relu"][0].domain = "com.vendor"
onnx.save(m, f"{w}/custom_relu.onnx")
m = onnx.load(src); m.opset_import[0].version = 9; onnx.save(m, f"{w}/opset9.onnx")
PY
case_ "truncated ONNX" error $A eval --model "$W/cut.onnx" --data "$V"
case_ "text file as ONNX" error $A eval --model "$W/text.onnx" --data "$V"
case_ "directory as the model" error $A eval --model "$W/dir.onnx" --data "$V"
case_ "NaN weight" error $A quantize --model "$W/nan.onnx" --calib "$C" --data "$V"
case_ "input 100000x100000" error $A eval --model "$W/huge_input.onnx" --data "$V"
case_ "custom-domain Relu" error $A eval --model "$W/custom_relu.onnx" --data "$V"
case_ "opset 9" error $A eval --model "$W/opset9.onnx" --data "$V"

# --- images
mkdir -p "$W/img/c" "$W/imgs/c"
python3 - "$W" <<'PY'
import sys, struct, zlib
w = sys.argv[1]
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
open(f"{w}/img/c/huge.png", "wb").write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 100000, 100000, 8, 2, 0, 0, 0))
                                       + chunk(b'IDAT', zlib.compress(b'\0' * 10)) + chunk(b'IEND', b''))
PY
cp "$W/img/c/huge.png" "$W/imgs/c/"; cp Tests/AutoMixTests/Fixtures/preprocess/gray_28x28.png "$W/imgs/c/ok.png"
head -c 100 Tests/AutoMixTests/Fixtures/preprocess/rgb_q90_61x47.jpg > "$W/imgs/c/broken.jpg"
case_ "PNG header claiming 100000x100000" error $A eval --model "$M" --data "$W/img"
case_ "huge PNG + broken JPEG with --skip-bad-images (named, exit 0)" 0 $A eval --model "$M" --data "$W/imgs" --skip-bad-images
mkdir -p "$W/allbad/c"; cp "$W/img/c/huge.png" "$W/allbad/c/"
case_ "all images unreadable with --skip-bad-images" error $A eval --model "$M" --data "$W/allbad" --skip-bad-images
case_ "missing data folder" error $A eval --model "$M" --data "$W/nowhere"

# --- options
case_ "--limit 0" error $A eval --model "$M" --data "$V" --limit 0
case_ "--limit -5" error $A search --limit -5
case_ "--batch 0" error $A eval --model "$M" --data "$V" --batch 0
case_ "--calib-batch 0" error $A search --calib-batch 0
case_ "bench --runs 0" error $A bench --model "$M" --runs 0
case_ "--max-drop nan" error $A search --max-drop nan
case_ "--max-drop 2 --relative" error $A search --max-drop 2 --relative
case_ "--mean nan" error $A eval --model "$M" --data "$V" --mean nan
case_ "--batch 100000" error $A eval --model "$M" --data "$V" --batch 100000
case_ "--resize 100000" error $A eval --model "$M" --data "$V" --resize 100000
case_ "--input-shape 1,1,60000,60000" error $A eval --model "$M" --data "$V" --input-shape 1,1,60000,60000
case_ "--bits 7" error $A quantize --model "$M" --calib "$C" --data "$V" --bits 7
case_ "--equalization-level without --equalization" error $A quantize --model "$M" --calib "$C" --data "$V" --equalization-level 2
cat > "$W/bits7.json" <<'JSON'
{"target": "esp32p4", "bits": 7, "layers": {}, "activation_observer8": "kl", "activation_observer16": "minmax", "observer_overrides": {}}
JSON
case_ "config with bits 7" error $A quantize --model "$M" --calib "$C" --data "$V" --config "$W/bits7.json"
case_ "--target beside --config" error $A quantize --model "$M" --calib "$C" --data "$V" --config "$W/bits7.json" --target esp32s3

# --- .espdl files
E=Tests/AutoMixTests/Fixtures/esp-ppq/fmnist_cnn_esp32p4_int8.espdl
head -c 3000 "$E" > "$W/cut.espdl"
python3 - "$E" "$W" <<'PY'
import sys, random
src, w = sys.argv[1:]
b = bytearray(open(src, 'rb').read()); random.seed(7)
for k in range(3):
    c = bytearray(b)
    for _ in range(8): c[random.randrange(len(c))] = random.randrange(256)
    open(f"{w}/mut{k}.espdl", "wb").write(c)
PY
case_ "truncated .espdl" error $A run "$W/cut.espdl"
for k in 0 1 2; do case_ "mutated .espdl #$k (exit 0 when it still reads and matches)" error_or_0 $A run "$W/mut$k.espdl"; done

# --- outputs and concurrency
mkdir -p "$W/locked/Results"
sleep 300 & holder=$!
echo "$holder 2026-12-02T00:00:00Z search" > "$W/locked/Results/.automix-search.lock"
case_ "second search in a folder in use" error $A search --results "$W/locked/Results" --log-dir "$W/locked/log" --tmp-dir "$W/locked/tmp"
kill $holder 2>/dev/null
echo "plain file" > "$W/file"
case_ "results folder under a plain file" error $A search --results "$W/file/Results" --log-dir "$W/l" --tmp-dir "$W/t" --limit 50 --calib-limit 32
case_ "export into a folder under a plain file" error $A export --model "$M" --calib "$C" --calib-limit 32 --results "$W/file/out"
mkdir -p "$W/imp/Results"; echo '{}' > "$W/imp/Results/accuracy_based_auto_calibration_final_config.json"
case_ "impossible budget (exit 2)" 2 $A search --model "$M" --calib "$C" --data "$V" --limit 200 --calib-limit 64 --metric agreement \
  --max-drop=-1 --results "$W/imp/Results" --log-dir "$W/imp/log" --tmp-dir "$W/imp/tmp"
[ -e "$W/imp/Results/accuracy_based_auto_calibration_final_config.json" ] && stale=yes || stale=no
printf '| earlier final config left beside the failed search | - | %s | %s |\n' "$stale" "$([ $stale = no ] && echo yes || echo no)"
[ $stale = no ] && pass=$((pass + 1)) || fail=$((fail + 1))

echo
echo "$pass cases as expected, $fail not"
[ $fail -eq 0 ]
