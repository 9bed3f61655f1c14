#!/usr/bin/env python3
"""`zl.train()` on the seed run against `zl train --json`'s train_seconds, alternating, and
PyTorch eager (bench/peers/torch_eager.py, the notebook's loop) in the same run. Prints a
markdown table of medians.

    python python/bench.py --zl target/release/zl [--repeat 11] [--torch-repeat 3]

Run it with the Python that has the package (built with `pip install ./python`, which builds
with the release profile as `zl` is) and, for the PyTorch row, torch.
"""
import argparse
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

import zl

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zl", default=str(ROOT / "target" / "release" / "zl"))
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--torch-repeat", type=int, default=3)
    ap.add_argument("--torch-python", default=sys.executable)
    args = ap.parse_args()
    zl.train(epochs=10)  # the first call's one-time costs (thread pool, CPU detection)
    cli, cli_cpu, wall, inner, cpu = [], [], [], [], []

    def children_cpu():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    for _ in range(args.repeat):
        c0 = children_cpu()
        out = subprocess.run([args.zl, "train", "--json"], check=True, capture_output=True, text=True)
        cli_cpu.append(children_cpu() - c0)
        cli.append(json.loads(out.stdout)["train_seconds"])
        t0, p0 = time.perf_counter(), time.process_time()
        m = zl.train(progress=False)
        cpu.append(time.process_time() - p0)
        wall.append(time.perf_counter() - t0)
        inner.append(m.train_seconds)
    rows = [
        ("`zl train --json` (train_seconds)", statistics.median(cli)),
        ("`zl.train()` (wall time of the call)", statistics.median(wall)),
        ("`zl.train()` (its train_seconds)", statistics.median(inner)),
        ("CPU time: the whole `zl train --json` process", statistics.median(cli_cpu)),
        ("CPU time: the `zl.train()` call", statistics.median(cpu)),
    ]
    eager = None
    if args.torch_repeat:
        out = subprocess.run(
            [args.torch_python, str(ROOT / "bench" / "peers" / "torch_eager.py"), "--repeat", str(args.torch_repeat)],
            capture_output=True, text=True, cwd=ROOT / "bench" / "peers",
        )
        if out.returncode == 0:
            eager = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((f"PyTorch eager, the notebook's loop (torch {eager['torch']}, 1 thread)", eager["train_seconds"]))
        else:
            print(f"PyTorch eager not run: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
    print(f"seed run (10,000 epochs, d_model 16), {m.backend}, medians of {args.repeat} alternating runs"
          f" ({args.torch_repeat} for PyTorch); {os.cpu_count()} CPUs\n")
    print("| run | seconds | vs `zl train` |\n|---|---|---|")
    base = rows[0][1]
    for name, s in rows:
        print(f"| {name} | {s:.4f} | {s / base:.2f}× |")
    print(f"\n{m.checksum}")


if __name__ == "__main__":
    main()
