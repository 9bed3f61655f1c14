#!/usr/bin/env python3
"""Bigram counting throughput: zl against simple Python peers, in one run.

    python3 bench/peers/count_peers.py FILE [--peer-mib 64] [--repeats 5]

zl: `zl train --corpus FILE --epochs 1 --json` reports `count_seconds` (read, validate UTF-8 and
count, memory-mapped, in parallel). The file should already be in the page cache (the script
reads it once first). Peers, on the first --peer-mib MiB of the same file (they hold the text in
memory, so a 1 GiB file would need tens of GB):
- collections.Counter over zip(text, text[1:]) on the decoded str;
- numpy: the UTF-8 bytes as uint8, pair index a[:-1]*256 + a[1:], np.bincount (byte pairs, which
  equal character pairs only for ASCII text; it is the fastest simple numpy count).
Prints medians in MB/s (10^6 bytes per second) and the ratios.
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("--peer-mib", type=int, default=64)
ap.add_argument("--repeats", type=int, default=5)
ap.add_argument("--zl", default=os.path.join(os.path.dirname(__file__), "../../target/release/zl"))
args = ap.parse_args()

size = os.path.getsize(args.file)
with open(args.file, "rb") as f:  # into the page cache
    while f.read(1 << 24):
        pass

zl_s = []
for _ in range(args.repeats):
    out = subprocess.run([args.zl, "train", "--corpus", args.file, "--epochs", "1", "--json"],
                         capture_output=True, check=True, text=True).stdout
    zl_s.append(json.loads(out)["count_seconds"])

with open(args.file, "rb") as f:
    head = f.read(args.peer_mib << 20)
head = head[: len(head.decode("utf-8", errors="ignore").encode("utf-8"))]
text = head.decode("utf-8")

counter_s, numpy_s = [], []
for _ in range(args.repeats):
    t = time.perf_counter()
    collections.Counter(zip(text, text[1:]))
    counter_s.append(time.perf_counter() - t)
    t = time.perf_counter()
    a = np.frombuffer(head, dtype=np.uint8).astype(np.uint16)
    np.bincount(a[:-1] * 256 + a[1:], minlength=65536)
    numpy_s.append(time.perf_counter() - t)

rate = lambda n, s: n / statistics.median(s) / 1e6
zl_r, c_r, n_r = rate(size, zl_s), rate(len(head), counter_s), rate(len(head), numpy_s)
print(f"file: {args.file}, {size} bytes; peers on the first {len(head)} bytes; {args.repeats} runs each, medians")
print(f"{'counter':<36} {'MB/s':>9} {'zl is ×':>8}")
print(f"{'zl (mmap, parallel, UTF-8 checked)':<36} {zl_r:>9.0f} {1.0:>8.1f}")
print(f"{'numpy bincount of byte pairs':<36} {n_r:>9.0f} {zl_r / n_r:>8.1f}")
print(f"{'Python collections.Counter':<36} {c_r:>9.1f} {zl_r / c_r:>8.0f}")
print(f"zl count_seconds: {sorted(zl_s)}", file=sys.stderr)
