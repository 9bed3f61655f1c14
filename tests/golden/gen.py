#!/usr/bin/env python3
"""Writes tests/golden/reference.json: the seed notebook's PyTorch run, on CPU, for zl's golden tests.

Run from the repository root:
    pip install torch numpy safetensors
    python3 tests/golden/gen.py

The model, loss and optimiser are the notebook's (../shared/seed/000_02487b91646d5dfc.txt), with
TransformerLens's HookedRootModule/HookPoint replaced by nn.Module/identity (they do not change
the maths). Nobody edits reference.json by hand: rerun this script.
"""
import json
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(1)  # one thread: the sums run in one fixed order

TEXT = ("Before moving on to more complex models, it\u2019s useful to briefly consider a zero-layer "
        "transformer. Such a model takes a token, embeds it, unembeds it to produce logits predicting the next token")
# The notebook's printed char_to_token (its set() order came from one CPython process's hashing).
VOCAB = ['h', 'i', 'B', 'y', 'x', 'o', 'd', 'c', 'm', '.', 'a', 'r', 'u', 'f', 'n', '-', 'p', 's', 'z',
         'l', 't', '\u2019', 'e', 'S', 'k', 'g', ',', 'v', 'b', ' ']
char_to_token = {ch: i for i, ch in enumerate(VOCAB)}
tokens = torch.tensor([char_to_token[ch] for ch in TEXT]).unsqueeze(0)


class ZeroLayerTransformer(nn.Module):
    """The notebook's model, verbatim but for the hook point."""

    def __init__(self, d_vocab, d_model, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.W_E = nn.Parameter(torch.randn((d_vocab, d_model)) / np.sqrt(d_model))
        self.W_U = nn.Parameter(torch.randn((d_model, d_vocab)) / np.sqrt(d_model))

    def forward(self, x):
        embed = self.W_E[x]
        return embed @ self.W_U


def loss_fn(logits, tokens):
    logits = logits[:, :-1]
    labels = tokens[:, 1:]
    log_probs = logits.log_softmax(dim=-1)
    correct_log_probs = log_probs.gather(dim=-1, index=labels[..., None])[..., 0]
    return -correct_log_probs.mean()


def rows(t):
    return t.detach().cpu().tolist()


def run(seed, lr, weight_decay, epochs, d_model=16, perturb=None):
    model = ZeroLayerTransformer(len(VOCAB), d_model, seed)
    if perturb is not None:
        # Move every entry of one matrix by one ulp up or down: how far does PyTorch itself land
        # from its own run?
        name, direction = perturb
        w = getattr(model, name)
        with torch.no_grad():
            w.copy_(torch.nextafter(w, torch.full_like(w, direction * 10.0)))
    init = {"W_E": rows(model.W_E), "W_U": rows(model.W_U)}
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    grad0 = None
    after_step1 = None
    t0 = time.perf_counter()
    for epoch in range(epochs):
        logits = model(tokens)
        loss = loss_fn(logits, tokens)
        loss.backward()
        losses.append(loss.item())
        if epoch == 0:
            grad0 = {"W_E": rows(model.W_E.grad), "W_U": rows(model.W_U.grad)}
        optimizer.step()
        optimizer.zero_grad()
        if epoch == 0:
            after_step1 = {"W_E": rows(model.W_E), "W_U": rows(model.W_U)}
    seconds = time.perf_counter() - t0
    with torch.inference_mode():
        final_loss = loss_fn(model(tokens), tokens).item()
    return {
        "seed": seed, "lr": lr, "weight_decay": weight_decay, "epochs": epochs, "d_model": d_model,
        "initial": init,
        "grad_at_init": grad0,
        "after_step_1": after_step1,
        "losses_every_100": losses[::100],
        "losses": losses,
        "final_loss": final_loss,
        "final": {"W_E": rows(model.W_E), "W_U": rows(model.W_U)},
        "train_seconds": seconds,
    }


def custom_runs():
    """nanoGPT-style vocabulary (sorted(set(text))) on a text with non-ASCII characters, at three
    d_model; V·D is not a multiple of 16 for two of them, so randn takes its tail path."""
    with open("tests/golden/custom.txt", encoding="utf-8", newline="") as f:
        text = f.read()
    vocab = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(vocab)}
    toks = torch.tensor([stoi[ch] for ch in text]).unsqueeze(0)
    out = []
    for seed, d_model, lr, wd, epochs in [(0, 5, 1e-2, 0.01, 1500), (1, 8, 3e-3, 0.1, 1500), (2, 32, 1e-3, 0.0, 1500)]:
        model = ZeroLayerTransformer(len(vocab), d_model, seed)
        init = {"W_E": rows(model.W_E), "W_U": rows(model.W_U)}
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
        losses = []
        for _ in range(epochs):
            loss = loss_fn(model(toks), toks)
            loss.backward()
            losses.append(loss.item())
            opt.step()
            opt.zero_grad()
        with torch.inference_mode():
            final_loss = loss_fn(model(toks), toks).item()
        out.append({
            "seed": seed, "d_model": d_model, "lr": lr, "weight_decay": wd, "epochs": epochs,
            "initial": init, "losses_every_100": losses[::100], "final_loss": final_loss,
            "final": {"W_E": rows(model.W_E), "W_U": rows(model.W_U)},
        })
    return {"file": "tests/golden/custom.txt", "vocab": vocab, "chars": len(text), "runs": out}


def randn_cases():
    out = []
    for seed, n in [(0, 7), (0, 16), (0, 480), (1, 481), (12345, 1000), (7, 15), (3, 33)]:
        torch.manual_seed(seed)
        out.append({"seed": seed, "n": n, "values": torch.randn(n).tolist()})
    # Two draws from one generator (the second continues the first's stream): W_E then W_U.
    torch.manual_seed(0)
    a = torch.randn(30, 16).flatten().tolist()
    b = torch.randn(16, 30).flatten().tolist()
    out.append({"seed": 0, "n": 480, "then": 480, "values": a + b})
    return out


def main():
    configs = [
        (0, 1e-3, 0.01, 10_000),  # the notebook's run
        (1, 3e-3, 0.1, 10_000),
        (42, 1e-2, 0.0, 3_000),
        (7, 5e-4, 0.5, 5_000),
    ]
    runs = [run(*c) for c in configs]
    # Training is chaotic near convergence: Adam divides a vanishing gradient by its own RMS, so
    # rounding-level differences move the weights along directions that barely change the loss.
    # Record how far PyTorch lands from itself after 1-ulp changes of its initial weights (four
    # of them: W_E or W_U, up or down), so that the tests hold zl to a tolerance measured here
    # rather than guessed.
    def dist(a, b):
        return (torch.tensor(a) - torch.tensor(b)).abs().max().item()

    def probs(w):
        return (torch.tensor(w["W_E"]) @ torch.tensor(w["W_U"])).softmax(-1).tolist()

    for r, c in zip(runs, configs):
        sens = {"W_E": 0.0, "W_U": 0.0, "probs": 0.0, "final_loss": 0.0}
        for perturb in [("W_E", 1), ("W_E", -1), ("W_U", 1), ("W_U", -1)]:
            p = run(*c, perturb=perturb)
            sens["W_E"] = max(sens["W_E"], dist(r["final"]["W_E"], p["final"]["W_E"]))
            sens["W_U"] = max(sens["W_U"], dist(r["final"]["W_U"], p["final"]["W_U"]))
            sens["probs"] = max(sens["probs"], dist(probs(r["final"]), probs(p["final"])))
            sens["final_loss"] = max(sens["final_loss"], abs(r["final_loss"] - p["final_loss"]))
        r["self_sensitivity"] = sens
    # Keep the every-epoch losses of the notebook's run only; the others keep every 100th.
    for r in runs[1:]:
        del r["losses"]
    ref = {
        "generated_by": "python3 tests/golden/gen.py",
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "platform": platform.platform(),
        "threads": torch.get_num_threads(),
        "text": TEXT,
        "vocab": VOCAB,
        "tokens": tokens[0].tolist(),
        "randn": randn_cases(),
        "runs": runs,
        "custom": custom_runs(),
    }
    with open("tests/golden/reference.json", "w") as f:
        json.dump(ref, f)
        f.write("\n")
    for r in runs:
        print(f"seed={r['seed']} lr={r['lr']} wd={r['weight_decay']} epochs={r['epochs']}: "
              f"loss {r['losses_every_100'][0]:.9f} -> {r['final_loss']:.9f} in {r['train_seconds']:.2f} s; "
              f"1-ulp sensitivity {r['self_sensitivity']}")


if __name__ == "__main__":
    main()
