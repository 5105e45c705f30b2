#!/usr/bin/env bash
# Every command with --json, on every exit path (success, budget missed, runtime error, usage error): stdout must be
# exactly one JSON object (json.load succeeds) carrying schema_version and automix_version, and the exit code must
# match its exit_code on error paths. One line per case. Run after `swift build -c release`, from the AutoMix folder.
set -uo pipefail
cd "$(dirname "$0")/.."
A=${AUTOMIX:-.build/release/automix}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
M=Datasets/models/fmnist_mbv2s.onnx
C=Datasets/fashion_mnist/calib
V=Datasets/fashion_mnist/val
S=(--results "$W/R" --log-dir "$W/L" --tmp-dir "$W/T" --limit 300 --calib-limit 64)
fails=0
check() {   # name, expected exit code, command...
  local name=$1 want=$2; shift 2
  "$@" --json >"$W/out" 2>"$W/err"
  local code=$?
  local verdict
  verdict=$(python3 - "$W/out" "$code" "$want" <<'PY'
import json, sys
path, code, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    obj = json.load(open(path))
except Exception as e:
    print(f"NOT JSON ({e})"); sys.exit()
problems = []
if not isinstance(obj, dict): problems.append("not an object")
else:
    for k in ("schema_version", "automix_version"):
        if k not in obj: problems.append(f"no {k}")
    if code != 0 and code != 2 and obj.get("exit_code") != code: problems.append(f"exit_code {obj.get('exit_code')} != {code}")
if code != want: problems.append(f"exit {code}, expected {want}")
print("ok" if not problems else "; ".join(problems), f"(exit {code}, {len(obj) if isinstance(obj, dict) else 0} keys)")
PY
)
  case $verdict in ok*) ;; *) fails=$((fails + 1));; esac
  printf '%-44s %s\n' "$name" "$verdict"
}
check "search: budget met" 0 $A search "${S[@]}" --max-drop 50
check "search: resumed" 0 $A search "${S[@]}" --max-drop 50 --resume
check "run: --config FINAL" 0 $A run --config "$W/R/accuracy_based_auto_calibration_final_config.json"
check "export: --config FINAL alone" 0 $A export --config "$W/R/accuracy_based_auto_calibration_final_config.json" --results "$W/X"
check "search: budget missed" 2 $A search "${S[@]}" --max-drop=-50
check "run: --config of a search that missed" 1 $A run --config "$W/R/accuracy_based_auto_calibration_final_config.json"
check "search: missing model" 1 $A search "${S[@]}" --model "$W/absent.onnx"
check "search: usage error" 64 $A search --max-drop nan
check "eval" 0 $A eval --model $M --data $V --limit 200
check "eval: not an ImageFolder" 1 $A eval --model $M --data "$W"
check "quantize" 0 $A quantize --model $M --calib $C --calib-limit 64 --data $V --limit 200
check "quantize: --config FINAL alone" 1 $A quantize --config "$W/R/absent.json"
check "analyse" 0 $A analyse --model $M --calib $C --calib-limit 64 --ranking "$W/rank.json"
check "export" 0 $A export --model $M --calib $C --calib-limit 64 --results "$W/E"
check "export: bad --format" 64 $A export --model $M --calib $C --format nonsense
check "run: .espdl" 0 $A run "$W/E/fmnist_mbv2s.espdl"
check "run: not an .espdl" 1 $A run $M
check "inspect: .espdl" 0 $A inspect "$W/E/fmnist_mbv2s.espdl"
check "inspect: ranking" 0 $A inspect "$W/rank.json"
check "inspect: journal" 0 $A inspect "$W/L/accuracy_based_auto_calibration_record.json"
check "inspect: missing file" 1 $A inspect "$W/absent.json"
check "bench" 0 $A bench --model $M --runs 2
check "usage: unknown command" 64 $A frobnicate
echo "$fails failed"
[ "$fails" -eq 0 ]
