#!/usr/bin/env python3
"""Loads a `zl train --save` file into the seed notebook's model, as a PyTorch user would.

    python3 tests/golden/load_check.py MODEL.safetensors

Checks that `model.load_state_dict(safetensors.torch.load_file(PATH))` works on the notebook's
ZeroLayerTransformer, that the vocabulary metadata is the notebook's, and that the loaded model's
loss on the seed text equals the `final_loss` recorded in the file (to f32 rounding). Prints one
line and exits 0 on success.
"""
import json
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import gen  # noqa: E402  the notebook's model, loss and corpus

path = sys.argv[1]
with safe_open(path, "pt") as f:
    meta = f.metadata()
vocab = json.loads(meta["vocab"])
assert vocab == gen.VOCAB, f"vocab metadata {vocab} is not the notebook's"
model = gen.ZeroLayerTransformer(len(vocab), 16, 0)
model.load_state_dict(load_file(path))  # strict: exactly W_E and W_U, right shapes
with torch.inference_mode():
    loss = gen.loss_fn(model(gen.tokens), gen.tokens).item()
want = float(meta["final_loss"])
assert abs(loss - want) < 1e-5, f"loss of the loaded model {loss} != final_loss {want} in the file"
print(f"load_state_dict ok: loss {loss} (zl recorded {want})")
