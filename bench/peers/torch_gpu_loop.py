#!/usr/bin/env python3
"""The seed notebook's own training loop on a CUDA GPU, timed: the PyTorch peer for zl-cuda.

scripts/gpu-check.sh runs it beside zl-cuda's kernel on the same GPU. The model, loss and
optimiser are tests/golden/gen.py's (the notebook's, imported from there so that there is one
copy); only the device differs. The loop is the notebook's: forward, loss, backward,
train_losses.append(loss.item()), optimizer.step(), zero_grad(), once per epoch. A short
warm-up (CUDA context, kernels, allocator) is excluded from the time.

    python3 bench/peers/torch_gpu_loop.py [--epochs 10000] [--seed 0] [--device cuda]
(--device cpu only checks the script itself on a machine without a GPU.)
Prints one JSON object on stdout.
"""
import argparse
import importlib.util
import json
import pathlib
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("gen", ROOT / "tests" / "golden" / "gen.py")
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)


def train(model, tokens, epochs):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    train_losses = []
    for _ in range(epochs):
        logits = model(tokens)
        loss = gen.loss_fn(logits, tokens)
        loss.backward()
        train_losses.append(loss.item())
        optimizer.step()
        optimizer.zero_grad()
    return train_losses


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch_gpu_loop: PyTorch sees no CUDA GPU")
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.set_num_threads(1)
    tokens = gen.tokens.to(dev)

    train(gen.ZeroLayerTransformer(len(gen.VOCAB), 16, args.seed).to(dev), tokens, 50)  # warm-up
    sync()

    model = gen.ZeroLayerTransformer(len(gen.VOCAB), 16, args.seed).to(dev)
    sync()
    t0 = time.perf_counter()
    losses = train(model, tokens, args.epochs)
    sync()
    seconds = time.perf_counter() - t0
    with torch.inference_mode():
        final_loss = gen.loss_fn(model(tokens), tokens).item()
    print(json.dumps({
        "peer": f"notebook loop, PyTorch on {dev.type}",
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "epochs": args.epochs,
        "seconds": seconds,
        "ms_per_epoch": 1e3 * seconds / max(args.epochs, 1),
        "first_loss": losses[0] if losses else None,
        "final_loss": final_loss,
    }))


if __name__ == "__main__":
    main()
