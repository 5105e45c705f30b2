#!/usr/bin/env python3
"""Structural comparison of two .espdl files, read by ESP-PPQ's own FlatBuffers reader (espdl_dump.py).

Checks: same node op types in the same order, same attributes (LUT names aside), and for every node input
that is an initializer the same dtype, dims, exponents and bytes; same graph input/output dtypes, shapes,
exponents. Names may differ. Exit 1 with the differences listed.
Use: python compare_espdl.py OURS.espdl THEIRS.espdl  (needs esp-ppq 1.3.12 installed, see espdl_dump.py)
"""
import json, subprocess, sys, os
here = os.path.dirname(os.path.abspath(__file__))
def dump(p):
    out = subprocess.run([sys.executable, os.path.join(here, "espdl_dump.py"), "--values", p], capture_output=True, text=True)
    if out.returncode: sys.exit(f"{p}: {out.stderr.strip()}")
    return json.loads(out.stdout)
a, b = dump(sys.argv[1]), dump(sys.argv[2])
problems = []
def io(d): return [(v["elem_type"], v["dims"], v["exponents"]) for v in d["inputs"] + d["outputs"]]
if io(a) != io(b): problems.append(f"graph inputs/outputs: {io(a)} vs {io(b)}")
ia = {t["name"]: t for t in a["initializers"]}; ib = {t["name"]: t for t in b["initializers"]}
if len(a["nodes"]) != len(b["nodes"]):
    problems.append(f"{len(a['nodes'])} nodes vs {len(b['nodes'])}")
for k, (x, y) in enumerate(zip(a["nodes"], b["nodes"])):
    if x["op_type"] != y["op_type"]:
        problems.append(f"node {k}: {x['op_type']} ({x['name']}) vs {y['op_type']} ({y['name']})"); break
    ax = {k2: v for k2, v in x["attributes"].items() if k2 != "lut"}; ay = {k2: v for k2, v in y["attributes"].items() if k2 != "lut"}
    if ax != ay: problems.append(f"node {k} {x['name']}: attributes {ax} vs {ay}")
    if ("lut" in x["attributes"]) != ("lut" in y["attributes"]): problems.append(f"node {k} {x['name']}: lut presence differs")
    elif "lut" in x["attributes"]:
        lx, ly = ia[x["attributes"]["lut"]["value"]], ib[y["attributes"]["lut"]["value"]]
        for f in ("dtype", "dims", "exponents", "raw_sha256"):
            if lx[f] != ly[f]: problems.append(f"node {k} {x['name']}: lut {f} {str(lx[f])[:80]} vs {str(ly[f])[:80]}")
    if len(x["inputs"]) != len(y["inputs"]): problems.append(f"node {k} {x['name']}: {len(x['inputs'])} inputs vs {len(y['inputs'])}")
    for i, (u, v) in enumerate(zip(x["inputs"], y["inputs"])):
        if (u in ia) != (v in ib): problems.append(f"node {k} {x['name']} input {i}: initializer in one file only"); continue
        if u in ia:
            for f in ("dtype", "dims", "exponents", "doc", "raw_sha256"):
                if ia[u][f] != ib[v][f]: problems.append(f"node {k} {x['name']} input {i} ({u} vs {v}): {f} {str(ia[u][f])[:80]} vs {str(ib[v][f])[:80]}")
# embedded test values: the same input must give the same outputs (int8 exactly; ESP-PPQ's float32 int16 simulation
# may differ from the chip's exact sums by a few steps, reported, not counted)
for kind in ("test_inputs", "test_outputs"):
    for x, y in zip(a.get(kind, []), b.get(kind, [])):
        if "values" not in x or "values" not in y: continue
        d = max((abs(p - q) for p, q in zip(x["values"], y["values"])), default=0)
        if kind == "test_inputs" and d != 0: problems.append(f"{kind} {x['name']}: differ by {d}")
        elif kind == "test_outputs":
            print(f"{kind} {x['name']} ({x['dtype']}): max |diff| {d} steps")
            if x["dtype"] == "FLOAT":
                scale = max((abs(q) for q in y["values"]), default=1)
                if d > 1e-5 * max(scale, 1): problems.append(f"{kind} {x['name']}: differ by {d}")
            elif d != 0 and x["dtype"] != "INT16": problems.append(f"{kind} {x['name']}: differ by {d} steps")
for line in problems[:40]: print(line)
print(f"{sys.argv[1]} vs {sys.argv[2]}: {len(a['nodes'])} nodes, {len(problems)} differences")
sys.exit(1 if problems else 0)
