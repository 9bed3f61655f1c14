"""The seed notebook's `ZeroLayerTransformer`, as the notebook writes it (In [13]), and the
conversions between it and zl's arrays. Imports torch and TransformerLens (4.x) when used.
tests/golden/tl_notebook.py checks this class against zl's Rust, TransformerLens hooks and all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from transformer_lens import HookedRootModule
from transformer_lens.hook_points import HookPoint


@dataclass
class Config:
    d_vocab: int = 30
    d_model: int = 16
    seed: int = 0


class ZeroLayerTransformer(HookedRootModule):
    def __init__(self, cfg):
        super().__init__()
        torch.manual_seed(cfg.seed)
        self.W_E = nn.Parameter(torch.randn((cfg.d_vocab, cfg.d_model)) / np.sqrt(cfg.d_model))
        self.W_U = nn.Parameter(torch.randn((cfg.d_model, cfg.d_vocab)) / np.sqrt(cfg.d_model))

        self.hook_embed = HookPoint()
        super().setup()

    def forward(self, x):
        embed = self.hook_embed(self.W_E[x])
        return embed @ self.W_U


def to_module(w_e: np.ndarray, w_u: np.ndarray, vocab, seed: int = 0) -> ZeroLayerTransformer:
    """The notebook's class (built as the notebook builds it, from `seed`) holding `w_e` and
    `w_u` bit for bit; its `vocab` attribute names the tokens."""
    v, d = w_e.shape
    model = ZeroLayerTransformer(Config(d_vocab=v, d_model=d, seed=seed))
    model.load_state_dict({"W_E": torch.from_numpy(w_e.copy()), "W_U": torch.from_numpy(w_u.copy())})
    model.vocab = list(vocab)
    return model


def arrays(module_or_state_dict) -> tuple:
    """(W_E, W_U as float32 numpy arrays, the module's `vocab` or None)."""
    if isinstance(module_or_state_dict, nn.Module):
        state = module_or_state_dict.state_dict()
        vocab = getattr(module_or_state_dict, "vocab", None)
    else:
        state, vocab = module_or_state_dict, None
    missing = [k for k in ("W_E", "W_U") if k not in state]
    if missing:
        raise ValueError(
            f"no {' or '.join(missing)} in the state dict (it has {', '.join(map(str, state)) or 'nothing'}); "
            "give the notebook's ZeroLayerTransformer or its state_dict()"
        )

    def f32(t) -> np.ndarray:
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        if a.dtype != np.float32:
            a = a.astype(np.float32)
        return np.ascontiguousarray(a)

    return f32(state["W_E"]), f32(state["W_U"]), vocab
