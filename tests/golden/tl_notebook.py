#!/usr/bin/env python3
"""The seed notebook's own class, TransformerLens and all, against zl (tests/cli/external/python.rs runs it).

    python3 tests/golden/tl_notebook.py cache ZL.safetensors RUN.json
        Loads `zl train --save` weights into the notebook's ZeroLayerTransformer (a
        HookedRootModule with a HookPoint named hook_embed, imported the TransformerLens 4 way),
        calls run_with_cache on the seed tokens, and checks that the cached hook_embed equals
        `zl run --json`'s hook_embed (bit for bit: both are rows of W_E) and that the loss equals
        zl's within LOSS_ATOL. Prints one line.

    python3 tests/golden/tl_notebook.py train OUT.safetensors EPOCHS
        Trains the notebook's class for EPOCHS epochs exactly as the notebook does (AdamW, lr
        1e-3, full batch), saves its state_dict with safetensors.torch.save_file (no metadata, as
        a notebook user would), and prints {"loss": the final model's loss} as JSON.
"""
import importlib.util
import json
import pathlib
import sys

import torch
from safetensors.torch import load_file, save_file

here = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(here))
import gen  # noqa: E402  the notebook's vocabulary (its printed char_to_token), tokens and loss

# The notebook's class (In [13]) lives once, in the Python package that hands it to users; it is
# loaded from its file, so that this check needs no built package. The check stays independent:
# what it compares with is zl's Rust (`zl run`, `zl train`), which shares nothing with it.
_spec = importlib.util.spec_from_file_location("notebook", here.parents[1] / "python/zl/notebook.py")
notebook = sys.modules["notebook"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(notebook)

# zl's loss is f64 on the f32 logits, PyTorch's an f32 log_softmax and mean over 192 positions.
LOSS_ATOL = 1e-5

tokens = gen.tokens
loss_fn = gen.loss_fn
cfg = notebook.Config(d_vocab=len(gen.VOCAB), d_model=16, seed=0)
ZeroLayerTransformer = notebook.ZeroLayerTransformer


def cache(weights_path, run_path):
    model = ZeroLayerTransformer(cfg)
    model.load_state_dict(load_file(weights_path))  # strict: exactly W_E and W_U
    with torch.inference_mode():
        logits, cache = model.run_with_cache(tokens)
        loss = loss_fn(logits, tokens).item()
    hook_embed = cache["hook_embed"][0]
    with open(run_path) as f:
        run = json.load(f)
    positions = run["positions"]
    assert [p["token"] for p in positions] == tokens[0].tolist(), "zl ran other tokens"
    zl_embed = torch.tensor([p["hook_embed"] for p in positions], dtype=torch.float32)
    assert zl_embed.shape == hook_embed.shape, f"{zl_embed.shape} vs {hook_embed.shape}"
    diff = (zl_embed != hook_embed).nonzero()
    assert len(diff) == 0, f"hook_embed differs at {diff[:5].tolist()}"
    assert abs(run["loss"] - loss) <= LOSS_ATOL, f"loss: zl {run['loss']} vs the notebook's {loss}"
    print(f"run_with_cache ok: hook_embed {tuple(hook_embed.shape)} bit for bit, loss {loss} (zl {run['loss']})")


def train(out_path, epochs):
    model = ZeroLayerTransformer(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        logits = model(tokens)
        loss = loss_fn(logits, tokens)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    with torch.inference_mode():
        loss = loss_fn(model(tokens), tokens).item()
    save_file(model.state_dict(), out_path)
    print(json.dumps({"loss": loss, "epochs": epochs}))


if __name__ == "__main__":
    if sys.argv[1] == "cache":
        cache(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "train":
        train(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(f"unknown mode {sys.argv[1]!r}: cache or train")
