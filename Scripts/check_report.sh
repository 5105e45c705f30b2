#!/usr/bin/env bash
# Opens a search's HTML report in a real headless browser (Debian's chromium), checks that the rendered page draws
# one point per journal trial and a layer per ranked layer, and saves a screenshot to look at.
#   bash Scripts/check_report.sh [RESULTS_DIR [LOG_DIR]]    (default: Results amct_log, from a search run here)
#   apt-get install chromium   (not needed by AutoMix itself)
set -euo pipefail
RESULTS="${1:-Results}" LOG="${2:-amct_log}"
REPORT="$RESULTS/accuracy_based_auto_calibration_report.html"
[ -f "$REPORT" ] || { echo "check_report.sh: $REPORT: no such file (run a search first)" >&2; exit 1; }
BROWSER=$(command -v chromium || command -v chromium-browser || true)
[ -n "$BROWSER" ] || { echo "check_report.sh: chromium not found (apt-get install chromium)" >&2; exit 1; }
OUT=$(mktemp -d)
ABS=$(cd "$(dirname "$REPORT")" && pwd)/$(basename "$REPORT")
# no network: the page must render from the file alone
"$BROWSER" --headless=new --no-sandbox --disable-gpu --proxy-server=127.0.0.1:9 --dump-dom "file://$ABS" > "$OUT/dom.html" 2>/dev/null
"$BROWSER" --headless=new --no-sandbox --disable-gpu --proxy-server=127.0.0.1:9 --window-size=1200,1600 \
  --screenshot="$OUT/report.png" "file://$ABS" >/dev/null 2>&1
python3 - "$OUT/dom.html" "$LOG/accuracy_based_auto_calibration_record.json" "$RESULTS/accuracy_based_auto_calibration_ranking_info.json" <<'PY'
import json, re, sys
dom = open(sys.argv[1]).read()
trials = json.load(open(sys.argv[2]))["trials"]
layers = json.load(open(sys.argv[3]))["layers"]
points = len(re.findall(r'<circle class="trial"', dom))
strip = len(re.findall(r'<rect class="layer"', dom))
external = re.findall(r'(?:src|href)="(?:https?:)?//', dom)
print(f"rendered: {points} trial points for {len(trials)} journal trials; {strip} layers in the plan strip for {len(layers)} ranked layers; {len(external)} external references")
sys.exit(0 if points == len(trials) and strip == len(layers) and not external else 1)
PY
cp "$OUT/report.png" "$RESULTS/accuracy_based_auto_calibration_report.png"
echo "screenshot: $RESULTS/accuracy_based_auto_calibration_report.png"
rm -rf "$OUT"
