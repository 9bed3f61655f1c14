#!/usr/bin/env python3
"""The seed notebook's training loop in PyTorch eager mode, on one CPU thread.

The model, per-position loss and optimiser are the notebook's (tests/golden/gen.py's code):
logits = W_E[tokens] @ W_U, -log_softmax(...).gather(labels).mean(), torch.optim.AdamW(lr=1e-3)
with PyTorch's defaults (weight_decay=0.01), 10,000 epochs, each recording loss.item() as the
notebook's train_losses does. Times the loop alone (time.perf_counter) and prints one JSON line.

    python3 bench/peers/torch_eager.py [--epochs 10000] [--repeat 1]
"""
import argparse
import json
import time

import common  # sets the one-thread environment first
import numpy as np
import torch
from common import gen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1, help="timed runs; the median is reported")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    tokens = gen.tokens
    times = []
    for _ in range(args.repeat):
        # A fresh model and optimiser each time: every run is the notebook's run.
        model = gen.ZeroLayerTransformer(len(gen.VOCAB), common.D_MODEL, 0)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        train_losses = []
        t0 = time.perf_counter()
        for _ in range(args.epochs):
            logits = model(tokens)
            loss = gen.loss_fn(logits, tokens)
            loss.backward()
            train_losses.append(loss.item())
            optimizer.step()
            optimizer.zero_grad()
        times.append(time.perf_counter() - t0)
    with torch.inference_mode():
        final_loss = gen.loss_fn(model(tokens), tokens).item()
    print(json.dumps({
        "peer": "pytorch-eager", "epochs": args.epochs, "train_seconds": float(np.median(times)),
        "all_seconds": times, "initial_loss": train_losses[0], "final_loss": final_loss,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "numpy": np.__version__,
    }))


if __name__ == "__main__":
    main()
