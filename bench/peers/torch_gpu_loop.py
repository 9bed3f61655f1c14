#!/usr/bin/env python3
"""The seed notebook's own training loop on a CUDA GPU, timed: the PyTorch peer for zl-cuda.

scripts/gpu-check.sh runs it beside zl-cuda's kernel on the same GPU, timed the same way as
cuda/examples/gpu_bench.rs: about a second of the loop itself first (CUDA context, kernels,
allocator, and the GPU's clocks, which idle near 345 MHz), then --repeats (5) timed runs of
--epochs from a fresh model each, reported with their median and minimum. The model, loss and
optimiser are tests/golden/gen.py's (the notebook's, imported from there so that there is one
copy); only the device differs. The loop is the notebook's: forward, loss, backward,
train_losses.append(loss.item()), optimizer.step(), zero_grad(), once per epoch.

    python3 bench/peers/torch_gpu_loop.py [--epochs 10000] [--repeats 5] [--budget-s 50]
                                          [--seed 0] [--device cuda]
(--device cpu only checks the script itself on a machine without a GPU.)

Prints JSON Lines on stdout, one record as each measurement is made (so that a run cut short
keeps what it measured): "setup", "warmup", one "repeat" per timed run, then "summary". A repeat
that would not finish within --budget-s is not started, and the summary says how many ran.
Exits 2 where PyTorch or its CUDA GPU is missing, saying so in one line.
"""
import argparse
import importlib.util
import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def emit(record):
    print(json.dumps(record), flush=True)


def train(gen, model, tokens, epochs):
    optimizer = gen.torch.optim.AdamW(model.parameters(), lr=1e-3)
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
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--budget-s", type=float, default=50.0)
    ap.add_argument("--warmup-s", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    if args.epochs < 1 or args.repeats < 1:
        raise SystemExit("torch_gpu_loop: --epochs and --repeats take a number of at least 1")
    started = time.perf_counter()
    try:
        import torch
    except ImportError as e:
        print(f"torch_gpu_loop: PyTorch is not installed ({e})", file=sys.stderr)
        sys.exit(2)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("torch_gpu_loop: PyTorch sees no CUDA GPU", file=sys.stderr)
        sys.exit(2)
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tests" / "golden" / "gen.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.set_num_threads(1)
    tokens = gen.tokens.to(dev)
    emit({
        "kind": "setup",
        "peer": f"notebook loop, PyTorch on {dev.type}",
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "epochs": args.epochs,
    })

    # Warm-up: one chunk of 100 epochs pays for the one-time setup (context, kernels, allocator);
    # then the loop itself, in chunks of 100 epochs, for about --warmup-s, to raise the clocks.
    model = gen.ZeroLayerTransformer(len(gen.VOCAB), 16, args.seed).to(dev)
    t0 = time.perf_counter()
    train(gen, model, tokens, 100)
    sync()
    emit({"kind": "setup_chunk", "epochs": 100, "seconds": time.perf_counter() - t0})
    t0, warm_epochs = time.perf_counter(), 0
    while True:
        train(gen, model, tokens, 100)
        sync()
        warm_epochs += 100
        if time.perf_counter() - t0 >= args.warmup_s:
            break
    emit({"kind": "warmup", "epochs": warm_epochs, "seconds": time.perf_counter() - t0})

    seconds, final_loss, first_loss = [], None, None
    for i in range(args.repeats):
        spent = time.perf_counter() - started
        if seconds and spent + max(seconds) > args.budget_s:
            break
        model = gen.ZeroLayerTransformer(len(gen.VOCAB), 16, args.seed).to(dev)
        sync()
        t0 = time.perf_counter()
        losses = train(gen, model, tokens, args.epochs)
        sync()
        s = time.perf_counter() - t0
        seconds.append(s)
        with torch.inference_mode():
            final_loss = gen.loss_fn(model(tokens), tokens).item()
        first_loss = losses[0]
        emit({"kind": "repeat", "i": i, "seconds": s, "final_loss": final_loss})
    emit({
        "kind": "summary",
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "epochs": args.epochs,
        "repeats": len(seconds),
        "repeats_asked": args.repeats,
        "median_seconds": statistics.median(seconds),
        "min_seconds": min(seconds),
        "ms_per_epoch": 1e3 * statistics.median(seconds) / args.epochs,
        "first_loss": first_loss,
        "final_loss": final_loss,
    })


if __name__ == "__main__":
    main()
