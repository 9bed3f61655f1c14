#!/usr/bin/env python3
"""The fastest peer we know: JAX with the whole training loop jit-compiled (lax.fori_loop) and
the bigram-count loss, on one CPU thread.

Same maths as zl: loss = (1/N) Σ_ij C_ij (lse_i − L_ij) with L = W_E @ W_U, its gradient by
jax.grad, and torch.optim.AdamW's update (decoupled decay, bias corrections; lr=1e-3,
betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01), 10,000 epochs, every epoch's loss kept in an
array (the notebook's train_losses). The initial weights are torch's (common.init_weights).
Compilation happens before the clock starts (jit(...).lower(...).compile()); the timed part is
one call of the compiled loop, to block_until_ready. Prints one JSON line.

    python3 bench/peers/jax_jit.py [--epochs 10000] [--repeat 5]
"""
import argparse
import json
import time

import common  # noqa: F401  (sets the one-thread environment first)
import jax
import jax.numpy as jnp
import numpy as np

LR, BETA1, BETA2, EPS, WD = 1e-3, 0.9, 0.999, 1e-8, 0.01


def loss_fn(params, counts, n):
    w_e, w_u = params
    logits = w_e @ w_u
    lse = jax.nn.logsumexp(logits, axis=1, keepdims=True)
    return jnp.sum(counts * (lse - logits)) / n


def make_train(epochs):
    value_and_grad = jax.value_and_grad(loss_fn)

    def train(params, counts, n):
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        losses = jnp.zeros((epochs,), jnp.float32)

        def body(t, state):
            params, m, v, losses = state
            loss, g = value_and_grad(params, counts, n)
            step = (t + 1).astype(jnp.float32)
            bc1 = 1.0 - BETA1 ** step
            bc2_sqrt = jnp.sqrt(1.0 - BETA2 ** step)
            new = []
            for p, mi, vi, gi in zip(params, m, v, g):
                p = p * (1.0 - LR * WD)
                mi = mi + (1.0 - BETA1) * (gi - mi)
                vi = vi * BETA2 + (1.0 - BETA2) * gi * gi
                p = p - (LR / bc1) * mi / (jnp.sqrt(vi) / bc2_sqrt + EPS)
                new.append((p, mi, vi))
            params = tuple(x[0] for x in new)
            m = tuple(x[1] for x in new)
            v = tuple(x[2] for x in new)
            return params, m, v, losses.at[t].set(loss)

        params, _, _, losses = jax.lax.fori_loop(0, epochs, body, (params, zeros, zeros, losses))
        return params, losses, loss_fn(params, counts, n)

    return train


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1, help="timed calls; the median is reported")
    args = ap.parse_args()
    w_e, w_u = common.init_weights(0)
    counts, n = common.bigram_counts()
    params = (jnp.asarray(w_e), jnp.asarray(w_u))
    counts, n = jnp.asarray(counts), jnp.float32(n)
    compiled = jax.jit(make_train(args.epochs)).lower(params, counts, n).compile()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = compiled(params, counts, n)
        jax.block_until_ready(out)
        times.append(time.perf_counter() - t0)
    _, losses, final_loss = out
    print(json.dumps({
        "peer": "jax-jit", "epochs": args.epochs, "train_seconds": float(np.median(times)),
        "all_seconds": times, "initial_loss": float(losses[0]), "final_loss": float(final_loss),
        "jax": jax.__version__, "devices": [str(d) for d in jax.devices()],
    }))


if __name__ == "__main__":
    main()
