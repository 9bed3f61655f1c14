#!/usr/bin/env python3
"""zl against its peers in one go: `zl train --backend cpu-…` for every instruction set this CPU
runs (its own train_seconds: the loop alone, monotonic clock), the notebook's PyTorch eager
loop, and JAX with the whole loop jit-compiled. Every implementation runs the seed notebook's
10,000 epochs from the same torch-initialised weights, on one thread. Prints the machine, the
load, and a markdown table of medians and ratios against JAX from the same run.

The machine this was written for is shared and noisy, so the implementations take turns: each
round runs every zl backend, JAX and PyTorch once (zl and JAX several timed runs each), and the
medians are taken over all rounds. Not run in CI.

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


# zl's CPU paths, fastest first; those this CPU or build cannot run are left out (zl says why).
ZL_BACKENDS = ["cpu-avx512", "cpu-avx2", "cpu-neon", "cpu-simd128", "cpu-portable"]
ZL_WHAT = {
    "cpu-avx512": "AVX-512F, 16 lanes",
    "cpu-avx2": "AVX2, 8 lanes",
    "cpu-neon": "NEON, 4 lanes",
    "cpu-simd128": "WebAssembly SIMD128, 4 lanes",
    "cpu-portable": "the target's baseline (SSE2 on x86-64), 4 lanes",
}


def runnable_backends(zl, env):
    out = []
    for b in ZL_BACKENDS:
        r = subprocess.run([zl, "--backend", b, "train", "--epochs", "1"], capture_output=True,
                           text=True, env=env, cwd=ROOT)
        if r.returncode == 0:
            out.append(b)
        else:
            print(f"run_all: leaving out {b}: {r.stderr.strip()}", file=sys.stderr)
    return out


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
    backends = runnable_backends(args.zl, env)
    zl = {b: [] for b in backends}
    jax, torch = [], []
    finals = {}
    load_before = loadavg()
    for r in range(args.rounds):
        for b in backends:
            for _ in range(args.zl_per_round):
                o = run_json([args.zl, "--backend", b, "train", "--json"], env)
                zl[b].append(o["train_seconds"])
                finals[b] = (o["final_loss"], o["checksum"])
        o = run_json([sys.executable, HERE / "jax_jit.py", "--repeat", str(args.jax_per_round)], env)
        jax.extend(o["all_seconds"])
        finals["jax"] = (o["final_loss"], f"jax {o['jax']}")
        o = run_json([sys.executable, HERE / "torch_eager.py"], env)
        torch.extend(o["all_seconds"])
        finals["torch"] = (o["final_loss"], f"torch {o['torch']}")
        so_far = ", ".join(f"{b} {statistics.median(zl[b]) * 1e3:.1f} ms" for b in backends)
        print(f"round {r + 1}/{args.rounds}: {so_far}, jax {statistics.median(jax) * 1e3:.1f} ms, "
              f"torch {statistics.median(torch):.2f} s (medians so far; load {loadavg()})",
              file=sys.stderr)
    load_after = loadavg()

    j = statistics.median(jax)
    rows = [(f"zl `--backend {b}` ({ZL_WHAT[b]})", zl[b], finals[b]) for b in backends]
    rows += [
        ("JAX, whole loop jit-compiled (lax.fori_loop), bigram loss", jax, finals["jax"]),
        ("PyTorch eager, the notebook's loop", torch, finals["torch"]),
    ]
    print(f"date: {datetime.date.today().isoformat()}")
    print(f"cpu: {cpu_model()}, {os.cpu_count()} logical CPUs")
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}")
    print(f"command: python3 bench/peers/run_all.py --rounds {args.rounds} "
          f"--zl-per-round {args.zl_per_round} --jax-per-round {args.jax_per_round}")
    print()
    print("| implementation | median, 10k epochs | µs/epoch | min … max | runs | JAX ÷ this | final loss |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, xs, (final, note) in rows:
        m = statistics.median(xs)
        print(f"| {name} | {m * 1e3:.1f} ms | {m * 1e2:.2f} | {min(xs) * 1e3:.1f} … {max(xs) * 1e3:.1f} ms "
              f"| {len(xs)} | {j / m:.2f}× | {final:.7f} ({note}) |")


if __name__ == "__main__":
    main()
