#!/usr/bin/env bash
# Runs a command as on an x86-64 CPU with AVX2 + FMA but no AVX-512, on an AVX-512 machine, so the AVX2 figures
# of `bench_vs_onnxruntime.py` can be measured where no AVX2-only machine is at hand:
#
#   sudo bash Scripts/avx2_only.sh python3 Scripts/bench_vs_onnxruntime.py
#
# - AutoMix reads its CPU features from /proc/cpuinfo: the command sees a copy without the avx512*, avx_vnni and
#   amx* flags (bind-mounted in a private mount namespace; needs root and util-linux's `unshare`).
# - onnxruntime chooses its kernels from CPUID and XCR0, which no flag hides (this kernel has no CPUID faulting).
#   A copy of the installed package is made whose `xgetbv` instructions read XCR0 as x87 + SSE + AVX state only
#   (`push 7; pop rax`), so MLAS sees no AVX-512 state and runs its AVX2/FMA3 kernels; PYTHONPATH points at the
#   copy. `perf` shows the copy's hot loops on ymm registers only (the original's on zmm).
# - OpenBLAS is held to its Zen (AVX2) kernels with OPENBLAS_CORETYPE.
#
# What it cannot change is the silicon: the cores are this machine's, so its 256-bit units, caches and clocks are
# not those of an AVX2-only CPU (a Zen 2 EPYC issues fewer vector integer multiplies per cycle, say). Read the
# ratios as "AVX2 kernels against AVX2 kernels on one core design".
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: sudo bash Scripts/avx2_only.sh COMMAND [ARGS...]" >&2; exit 64; }
[ "$(id -u)" -eq 0 ] || { echo "avx2_only.sh: needs root (a private mount namespace over /proc/cpuinfo)" >&2; exit 77; }
grep -qw avx2 /proc/cpuinfo || { echo "avx2_only.sh: this CPU has no AVX2" >&2; exit 1; }
work=${AVX2_ONLY_DIR:-/tmp/automix-avx2-only}
mkdir -p "$work"

# /proc/cpuinfo without the AVX-512 family, AVX-VNNI and AMX
awk '/^flags/ { out = ""; for (i = 1; i <= NF; i++) if ($i !~ /^(avx512|avx_vnni|amx)/) out = out (out == "" ? "" : " ") $i; print out; next } { print }' \
    /proc/cpuinfo > "$work/cpuinfo"

# onnxruntime, patched to see no AVX-512 state (once per installed version)
python3 - "$work" <<'PY'
import os, re, shutil, subprocess, sys
work = sys.argv[1]
try:
    import onnxruntime
except ImportError:
    print("avx2_only.sh: onnxruntime is not installed; only AutoMix is held to AVX2", file=sys.stderr)
    sys.exit(0)
src = os.path.dirname(onnxruntime.__file__)
stamp = os.path.join(work, "python", "onnxruntime.patched")
if os.path.exists(stamp) and open(stamp).read() == src + " " + onnxruntime.__version__:
    sys.exit(0)
dst = os.path.join(work, "python", "onnxruntime")
shutil.rmtree(dst, ignore_errors=True)
shutil.copytree(src, dst)
patched = 0
for root, _, files in os.walk(os.path.join(dst, "capi")):
    for name in files:
        if ".so" not in name:
            continue
        path = os.path.join(root, name)
        dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True, text=True).stdout
        sites = [int(m.group(1), 16) for m in re.finditer(r"^\s*([0-9a-f]+):\s+xgetbv\s*$", dis, re.M)]
        if not sites:
            continue
        # virtual address -> file offset through the executable LOAD segments
        segs = []
        for line in subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout.splitlines():
            f = line.split()
            if f and f[0] == "LOAD":
                segs.append((int(f[2], 16), int(f[1], 16), int(f[4], 16)))   # vaddr, offset, filesz
        data = bytearray(open(path, "rb").read())
        for va in sites:
            off = next(o + va - v for v, o, n in segs if v <= va < v + n)
            if data[off:off + 3] != b"\x0f\x01\xd0":
                sys.exit(f"avx2_only.sh: {path}: no xgetbv at {va:#x}")
            data[off:off + 3] = b"\x6a\x07\x58"   # push 7; pop rax: XCR0 = x87 | SSE | AVX
            patched += 1
        open(path, "wb").write(bytes(data))
if patched == 0:
    sys.exit(f"avx2_only.sh: found no xgetbv in {dst}/capi; cannot hold onnxruntime {onnxruntime.__version__} to AVX2")
open(stamp, "w").write(src + " " + onnxruntime.__version__)
print(f"avx2_only.sh: onnxruntime {onnxruntime.__version__} copied to {dst}, {patched} xgetbv patched", file=sys.stderr)
PY

export AVX2_ONLY_WORK="$work"
exec unshare -m bash -c '
    mount --bind "$AVX2_ONLY_WORK/cpuinfo" /proc/cpuinfo
    [ -d "$AVX2_ONLY_WORK/python/onnxruntime" ] && export PYTHONPATH="$AVX2_ONLY_WORK/python${PYTHONPATH:+:$PYTHONPATH}"
    export OPENBLAS_CORETYPE=Zen
    exec "$@"' avx2_only "$@"
