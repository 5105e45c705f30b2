#!/usr/bin/env python3
"""numpy's repr of float32 and integer arrays, the reference for NumpyRepr (AutoMix's .info tensors):
Tests/AutoMixTests/Fixtures/numpy/repr.json. Values are stored as float32 bit patterns, so they are exact.
   python3 Scripts/make_numpy_repr_fixture.py"""
import json, os, sys
import numpy as np

np.set_printoptions(threshold=sys.maxsize)
rng = np.random.default_rng(7)
floats = [
    [1e-05, 0.5, 3.25], [1e-05, 0.0001], [123456789.0, 0.5], [0.5, 0.25, -0.125, 3.0], [-0.0, 0.0, 1.0],
    [float("nan"), 1.5, float("-inf")], [float("inf")], [float("nan"), float("nan")], [0.001, 5.0],
    [0.00012207031, 0.5], [2.0 ** -14], [1e8, 1.0], [3.4028235e38, -3.4028235e38], [0.0, 0.0, 0.0, 0.0],
    [1.0, 2.0, 300.0], [0.1, 0.2, 0.3], [-1.5, 1000.0], [0.33333334, 1.0], [0.00012207031, 0.1], [1e-4, 0.05],
    [0.000123456789, 0.1, -0.0999999], [99999999.0, 100000.0], [5e-324 * 0 + 1e-40, 1.0],
    list(rng.normal(0, 0.05, 40)), list(rng.normal(0, 3, 100)), list(rng.normal(0, 1e-3, 30)),
    list(rng.uniform(-2, 2, 64) * 2.0 ** -7),
]
integers = [([-128, 127, 0, 5, -3] * 20, "int8"), ([-32768, 32767, 12, -7] * 30, "int16"), ([1, 2, 3], "int32"),
            ([100000, -5], "int64"), (list(rng.integers(-128, 128, 200)), "int8")]
cases = []
for v in floats:
    a = np.array(v, dtype=np.float32)
    cases.append({"dtype": "float32", "bits": [int(b) for b in a.view(np.uint32)], "repr": repr(a)})
for v, dt in integers:
    a = np.array(v, dtype=dt)
    cases.append({"dtype": dt, "ints": [int(x) for x in a], "repr": repr(a)})
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "AutoMixTests", "Fixtures", "numpy", "repr.json")
with open(out, "w") as f:
    json.dump({"numpy": np.__version__, "cases": cases}, f, indent=1)
print(f"{len(cases)} cases, numpy {np.__version__} -> {os.path.normpath(out)}")
