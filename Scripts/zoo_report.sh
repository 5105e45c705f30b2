#!/usr/bin/env bash
# Runs `automix run` on every .espdl under the given folders (default: ../shared/fixtures/esp-dl-zoo) and prints one
# table row per file: ops, nodes, target and where it came from, embedded test result (or a fixed-input run), time.
# Needs `swift build -c release` first.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/automix
dirs=("$@"); [ ${#dirs[@]} -gt 0 ] || dirs=(../shared/fixtures/esp-dl-zoo)
printf '| file | ops | target | result | time (s) |\n|---|---|---|---|---|\n'
for f in $(find "${dirs[@]}" -name '*.espdl' | sort); do
  start=$(date +%s.%N)
  out=$($bin run "$f" 2>&1); rc=$?
  t=$(echo "$(date +%s.%N) - $start" | bc)
  ops=$($bin inspect "$f" 2>/dev/null | sed -n '/) {/,$p' | grep -oE '= [A-Za-z]+\[' | sed 's/= //; s/\[//' | sort -u | tr '\n' ' ')
  target=$(echo "$out" | head -1 | grep -oE 'target [a-z0-9]+ \(from [^)]*\)' | sed 's/target //')
  if echo "$out" | grep -q 'embedded test values:'; then
    res=$(echo "$out" | grep 'embedded test values:' | sed -E 's/embedded test values: ([A-Z]+|[a-z]+) \(max \|diff\| ([0-9]+) steps.*/\1, max |diff| \2/')
  elif echo "$out" | grep -q 'fixed normal input'; then res="no test values; every node ran on a fixed input"
  else res="ERROR: $(echo "$out" | tail -1 | cut -c1-160)"; fi
  printf '| %s | %s | %s | %s (exit %d) | %.2f |\n' "$(basename "$f" .espdl)" "$ops" "$target" "$res" "$rc" "$t"
done
