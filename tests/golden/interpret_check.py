#!/usr/bin/env python3
"""An independent computation of what `zl interpret --json` reports, for tests/interpret.rs.

    python3 tests/golden/interpret_check.py MODEL.safetensors

Reads W_E and W_U (any d_model) from a safetensors file whose `vocab` metadata is the seed
notebook's, and prints one JSON object with the same keys as `zl interpret --json`. Where zl works
from bigram counts in its own f64 code (one-sided Jacobi SVD, its own log-softmax), this script
works position by position over the 193-character text, the way the notebook's loss_fn does,
with numpy's LAPACK SVD; the f32 loss is the notebook's own model and loss_fn in PyTorch.
Nothing is stored: every number is computed from the file when the script runs.
"""
import json
import sys

import numpy as np
import torch
from safetensors import safe_open

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import gen  # noqa: E402  the notebook's text, vocabulary, model and loss_fn

path = sys.argv[1]
with safe_open(path, "np") as f:
    meta = f.metadata()
    W_E32 = f.get_tensor("W_E")
    W_U32 = f.get_tensor("W_U")
vocab = json.loads(meta["vocab"])
assert vocab == gen.VOCAB, f"vocab metadata {vocab} is not the notebook's"
V, D = W_E32.shape
t = gen.tokens[0].numpy()
cur, nxt = t[:-1], t[1:]
N = len(cur)

W_E = W_E32.astype(np.float64)
W_U = W_U32.astype(np.float64)
L = W_E @ W_U


def log_softmax(logits):
    """Row-wise, with -inf entries as probability 0."""
    mx = logits.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        return logits - (mx + np.log(np.exp(logits - mx).sum(axis=-1, keepdims=True)))


def loss_of_table(table):
    """Mean cross-entropy over the N positions, with `table` as the logits of each current token."""
    return float(-log_softmax(table[cur])[np.arange(N), nxt].mean())


# Bigram statistics.
C = np.zeros((V, V))
np.add.at(C, (cur, nxt), 1.0)
n = C.sum(axis=1)
with np.errstate(divide="ignore", invalid="ignore"):
    P = np.where(n[:, None] > 0, C / n[:, None], 0.0)
    logP = np.where(C > 0, np.log(P), -np.inf)
H = float(-(C[C > 0] * logP[C > 0]).sum() / N)
marg = np.bincount(nxt, minlength=V) / N
unigram = float(-(marg[marg > 0] * np.log(marg[marg > 0])).sum())

logQ = log_softmax(L)
model_loss = loss_of_table(L)
kl_rows = np.array([(P[i][C[i] > 0] * (logP[i][C[i] > 0] - logQ[i][C[i] > 0])).sum() for i in range(V)])
kl_weighted = float((n / N * kl_rows).sum())

# The notebook's model and loss, in f32.
model = gen.ZeroLayerTransformer(V, D, 0)
with torch.no_grad():
    model.W_E.copy_(torch.from_numpy(W_E32))
    model.W_U.copy_(torch.from_numpy(W_U32))
    model_loss_f32 = gen.loss_fn(model(gen.tokens), gen.tokens).item()

# Substitution: ln P as the logits (rows never current are never read).
substitution = loss_of_table(np.where(n[:, None] > 0, logP, 0.0))

# Ablation: zero row i of W_E; loss change at the positions with i, and without.
per_pos = -logQ[cur, nxt]
ablation = []
for i in range(V):
    W = W_E.copy()
    W[i] = 0.0
    after = -log_softmax((W @ W_U)[cur])[np.arange(N), nxt]
    d = after - per_pos
    ablation.append({"delta_loss_with": float(d[cur == i].sum() / N),
                     "delta_loss_without": float(d[cur != i].sum() / N),
                     "positions_with": int((cur == i).sum())})

# Spectrum.
U, S, Vt = np.linalg.svd(L)
rank_k = [loss_of_table((U[:, :k] * S[:k]) @ Vt[:k]) for k in range(V + 1)]
threshold = S[0] * V * np.finfo(np.float32).eps

# Top-1 agreement: the model's argmax is one of the row's most frequent next tokens.
agree = sum(1 for i in range(V) if n[i] > 0 and C[i, int(np.argmax(logQ[i]))] == C[i].max())

print(json.dumps({
    "model_loss": model_loss,
    "model_loss_f32": model_loss_f32,
    "bigram_entropy": H,
    "kl_weighted": kl_weighted,
    "uniform_loss": float(np.log(V)),
    "unigram_entropy": unigram,
    "row_kl": kl_rows.tolist(),
    "row_count": n.tolist(),
    "argmax_agreement": agree,
    "substitution_loss": substitution,
    "ablation": ablation,
    "singular_values": S.tolist(),
    "rank": int((S > threshold).sum()),
    "rank_k_losses": rank_k,
    "bigram_probs": P.tolist(),
    "model_probs": np.exp(logQ).tolist(),
    "versions": {"numpy": np.__version__, "torch": torch.__version__, "python": sys.version.split()[0]},
}))
