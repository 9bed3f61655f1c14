#!/usr/bin/env python3
"""zl against its peers in one go: `zl train` (its own train_seconds: the loop alone, monotonic
clock), the notebook's PyTorch eager loop, and JAX with the whole loop jit-compiled. Every
implementation runs the seed notebook's 10,000 epochs from the same torch-initialised weights,
on one thread. Prints the machine, the load, and a markdown table of medians and ratios.

The machine this was written for is shared and noisy, so the implementations take turns: each
round runs zl, JAX and PyTorch once (zl and JAX several timed runs each), and the medians are
taken over all rounds. Not run in CI.

    cargo build --release -p zl-cli
    python3 bench/peers/run_all.py [--rounds 5] [--zl-per-round 5] [--jax-per-round 3]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def loadavg():
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def run_json(cmd, env):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"run_all: {' '.join(map(str, cmd))} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--zl-per-round", type=int, default=5)
    ap.add_argument("--jax-per-round", type=int, default=3)
    ap.add_argument("--zl", default=str(ROOT / "target" / "release" / "zl"))
    args = ap.parse_args()

    env = dict(os.environ, **common.ONE_THREAD_ENV)
    zl, jax, torch = [], [], []
    finals = {}
    load_before = loadavg()
    for r in range(args.rounds):
        for _ in range(args.zl_per_round):
            o = run_json([args.zl, "train", "--json"], env)
            zl.append(o["train_seconds"])
            finals["zl"] = (o["final_loss"], o["checksum"])
        o = run_json([sys.executable, HERE / "jax_jit.py", "--repeat", str(args.jax_per_round)], env)
        jax.extend(o["all_seconds"])
        finals["jax"] = (o["final_loss"], f"jax {o['jax']}")
        o = run_json([sys.executable, HERE / "torch_eager.py"], env)
        torch.extend(o["all_seconds"])
        finals["torch"] = (o["final_loss"], f"torch {o['torch']}")
        print(f"round {r + 1}/{args.rounds}: zl {statistics.median(zl) * 1e3:.1f} ms, "
              f"jax {statistics.median(jax) * 1e3:.1f} ms, torch {statistics.median(torch):.2f} s "
              f"(medians so far; load {loadavg()})", file=sys.stderr)
    load_after = loadavg()

    z = statistics.median(zl)
    rows = [
        ("zl (`zl train`, AVX-512 loop)", zl, finals["zl"]),
        ("JAX, whole loop jit-compiled (lax.fori_loop), bigram loss", jax, finals["jax"]),
        ("PyTorch eager, the notebook's loop", torch, finals["torch"]),
    ]
    print(f"date: {datetime.date.today().isoformat()}")
    print(f"cpu: {cpu_model()}, {os.cpu_count()} logical CPUs")
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}")
    print(f"command: python3 bench/peers/run_all.py --rounds {args.rounds} "
          f"--zl-per-round {args.zl_per_round} --jax-per-round {args.jax_per_round}")
    print()
    print("| implementation | median, 10k epochs | µs/epoch | min … max | runs | zl is faster by | final loss |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, xs, (final, note) in rows:
        m = statistics.median(xs)
        print(f"| {name} | {m * 1e3:.1f} ms | {m * 1e2:.2f} | {min(xs) * 1e3:.1f} … {max(xs) * 1e3:.1f} ms "
              f"| {len(xs)} | {m / z:.1f}× | {final:.7f} ({note}) |")


if __name__ == "__main__":
    main()
