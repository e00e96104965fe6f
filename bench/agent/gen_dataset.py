#!/usr/bin/python3
"""Generates the agent benchmark dataset (deterministic): a node_modules-like
tree of tens of thousands of small files plus a few large files (logs,
semi-compressible binary, random data). Usage: gen_dataset.py DIR TOTAL_MIB"""
import os
import random
import sys

dest, total_mib = sys.argv[1], int(sys.argv[2])
rng = random.Random(1234)
words = [b"module", b"exports", b"require", b"function", b"return", b"const", b"=>", b"{", b"}", b"\n",
         b"import", b"default", b"async", b"await", b"this", b"null", b"undefined", b"0", b"1", b";"]
vocab = [rng.choice(words) + b" " for _ in range(4096)]


def text(size):
    parts, n = [], 0
    while n < size:
        chunk = b"".join(rng.choices(vocab, k=64))
        parts.append(chunk)
        n += len(chunk)
    return b"".join(parts)[:size]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


budget = total_mib << 20
small_budget = budget * 30 // 100
# node_modules: packages with nested dirs and many small files (median ~4 KiB).
n, used, pkg = 0, 0, 0
while used < small_budget:
    base = os.path.join(dest, "app", "node_modules", "pkg%05d" % pkg)
    for j in range(rng.randint(5, 40)):
        size = min(int(rng.lognormvariate(8.2, 1.1)), 256 << 10)
        sub = rng.choice(["", "lib", "dist", "src/util", "test"])
        write(os.path.join(base, sub, "f%03d.js" % j), text(size))
        used += size
        n += 1
    write(os.path.join(base, "package.json"), b'{"name": "pkg%05d", "version": "1.0.0"}\n' % pkg)
    pkg += 1

rest = budget - used
# Logs (very compressible), semi-compressible binary, random (incompressible).
for i, share in enumerate([0.30, 0.15]):
    path = os.path.join(dest, "logs", "app%d.log" % i)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = int(rest * share)
        while left > 0:
            line = b"2024-05-%02dT12:%02d:%02dZ level=info req=%d path=/api/v1/items/%d took_ms=%d msg=\"handled\"\n" % (
                rng.randint(1, 28), rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 1 << 30),
                rng.randint(0, 99999), rng.randint(0, 999))
            block = line * 1 + text(60) + b"\n"
            f.write(block[:left])
            left -= len(block)
with open(os.path.join(dest, "data.sqlite"), "wb") as f:
    left = int(rest * 0.25)
    while left > 0:
        block = (os.urandom(2048) + bytes(2048) + text(4096))[: min(left, 8192)]
        f.write(block)
        left -= len(block)
with open(os.path.join(dest, "model.bin"), "wb") as f:
    left = int(rest * 0.30)
    while left > 0:
        block = os.urandom(min(left, 1 << 20))
        f.write(block)
        left -= len(block)
print("generated %d small files" % n)
