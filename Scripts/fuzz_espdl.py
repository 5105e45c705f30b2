#!/usr/bin/env python3
"""Mutates small .espdl goldens (seeded byte flips, 32-bit words, truncations, zeroed runs) and runs each through the
release binary's `run` or `inspect`; prints every case that ends in a signal (a trap) and keeps the file as
/tmp/fuzz/trapN.espdl. Needs `swift build -c release`.
  python3 Scripts/fuzz_espdl.py SEED CASES      # e.g. 1 300
"""
import random, subprocess, sys, os, glob
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
files = sorted(glob.glob('Tests/AutoMixTests/Fixtures/esp-dl-zoo/*.espdl'))[:6] + sorted(glob.glob('Tests/AutoMixTests/Fixtures/esp-ppq-coverage/*int8.espdl'))[:3]
bin = '.build/release/automix'
traps = 0; n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
for i in range(n):
    src = random.choice(files)
    data = bytearray(open(src, 'rb').read())
    kind = random.choice(['flip', 'int', 'trunc', 'zero'])
    if kind == 'flip':
        for _ in range(random.randint(1, 8)):
            p = random.randrange(len(data)); data[p] = random.randrange(256)
    elif kind == 'int':
        p = random.randrange(0, len(data) - 4) & ~3
        data[p:p+4] = random.choice([b'\xff\xff\xff\xff', b'\x00\x00\x00\x80', b'\xff\xff\xff\x7f', b'\x00\x00\x01\x00'])
    elif kind == 'trunc':
        data = data[:random.randrange(len(data))]
    else:
        p = random.randrange(len(data)); data[p:p+64] = bytes(min(64, len(data) - p))
    os.makedirs('/tmp/fuzz', exist_ok=True)
    path = f'/tmp/fuzz/case.espdl'
    open(path, 'wb').write(data)
    try:
        r = subprocess.run([bin, random.choice(['run', 'inspect']), path], capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        print('TIMEOUT', src, kind); continue
    if r.returncode < 0 or r.returncode >= 128 or r.returncode not in (0, 1):
        traps += 1
        os.rename(path, f'/tmp/fuzz/trap{traps}.espdl')
        err = r.stderr.decode(errors='replace').strip().splitlines()
        print('TRAP', r.returncode, src.split('/')[-1], kind, (err[-1] if err else '')[:200])
print('cases', n, 'traps', traps)
