#!/usr/bin/env python3
"""Print an .espdl the way ESP-PPQ writes its .info (helper.printable_graph), without importing torch.
Use: python espdl_info.py model.espdl   (needs esp-ppq 1.3.12 --no-deps, flatbuffers, numpy, onnx, cryptography)"""
import importlib.util, os, sys
spec = importlib.util.find_spec("esp_ppq")
base = os.path.join(list(spec.submodule_search_locations)[0], "parser", "espdl")
sys.path.insert(0, base)
h = importlib.util.spec_from_file_location("espdl_helper", os.path.join(base, "helper.py"))
helper = importlib.util.module_from_spec(h); h.loader.exec_module(helper)
d = open(sys.argv[1], "rb").read(); n = int.from_bytes(d[8:12], "little")
print(helper.printable_graph(d[16:16 + n], print_initializer_value=True, print_value_info=True, print_test_value=True))
