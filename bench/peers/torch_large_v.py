#!/usr/bin/env python3
"""The notebook's full-batch loop in PyTorch (CPU, float32) at a large vocabulary: the peer of
zl's large-V trainer (lanes/examples/big_epoch.rs, the same synthetic counts' law).

Each epoch materialises the V×V logits W_E @ W_U, takes the counts-weighted mean of
-log_softmax over the pairs that occur (the notebook's per-position mean cross-entropy, grouped
by pair), backpropagates and takes one torch.optim.AdamW(lr=1e-3) step, recording loss.item().
The counts: the bigrams of a million tokens drawn as floor(u³·V). Prints one JSON line with the
median and minimum seconds per epoch (the first epoch, PyTorch's warm-up, not counted).

    python3 bench/peers/torch_large_v.py --vocab 5000 --d-model 64 --threads 2 --epochs 5
"""
import argparse
import json
import time

import numpy as np
import torch


def counts(v, tokens=1_000_000, seed=1):
    t = np.minimum((np.random.default_rng(seed).random(tokens) ** 3 * v).astype(np.int64), v - 1)
    t = np.concatenate([[0], t])  # the stream starts after token 0, as the Rust side's
    pairs, c = np.unique(t[:-1] * v + t[1:], return_counts=True)
    return pairs // v, pairs % v, c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5, help="timed epochs, after one warm-up")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    v, d = args.vocab, args.d_model
    rows, cols, c = counts(v)
    rows, cols = torch.from_numpy(rows), torch.from_numpy(cols)
    c = torch.from_numpy(c.astype(np.float32))
    n = c.sum()
    torch.manual_seed(0)
    w_e = (torch.randn(v, d) / np.sqrt(d)).requires_grad_()
    w_u = (torch.randn(d, v) / np.sqrt(d)).requires_grad_()
    opt = torch.optim.AdamW([w_e, w_u], lr=1e-3)
    losses, times = [], []
    for _ in range(args.epochs + 1):
        t0 = time.perf_counter()
        logits = w_e @ w_u
        loss = -(torch.log_softmax(logits, dim=1)[rows, cols] * c).sum() / n
        loss.backward()
        losses.append(loss.item())
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t0)
    times = sorted(times[1:])
    print(json.dumps({
        "peer": "pytorch-large-v", "vocab": v, "d_model": d, "threads": torch.get_num_threads(),
        "pairs": int(len(c)), "epochs": args.epochs, "median_s": times[len(times) // 2],
        "min_s": times[0], "first_loss": losses[0], "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
