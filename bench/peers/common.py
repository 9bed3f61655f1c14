"""What the peers share: the seed notebook's text and vocabulary, its bigram counts, and the
torch-identical initialisation (torch.manual_seed(seed), randn / sqrt(d_model)).

The text and vocabulary are the ones tests/golden/gen.py uses (the notebook's, verbatim).
"""
import os

# One thread for every library, set before any of them is imported.
ONE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    # XLA's CPU backend: no Eigen thread pool, one intra-op thread.
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "JAX_PLATFORMS": "cpu",
}
for k, v in ONE_THREAD_ENV.items():
    os.environ.setdefault(k, v)

TEXT = ("Before moving on to more complex models, it\u2019s useful to briefly consider a zero-layer "
        "transformer. Such a model takes a token, embeds it, unembeds it to produce logits predicting the next token")
VOCAB = ['h', 'i', 'B', 'y', 'x', 'o', 'd', 'c', 'm', '.', 'a', 'r', 'u', 'f', 'n', '-', 'p', 's', 'z',
         'l', 't', '\u2019', 'e', 'S', 'k', 'g', ',', 'v', 'b', ' ']
D_MODEL = 16
TOKENS = [VOCAB.index(ch) for ch in TEXT]


def init_weights(seed=0, d_model=D_MODEL):
    """W_E (V×d) then W_U (d×V) from one torch generator, as the notebook draws them."""
    import numpy as np
    import torch

    torch.manual_seed(seed)
    w_e = torch.randn((len(VOCAB), d_model)) / np.sqrt(d_model)
    w_u = torch.randn((d_model, len(VOCAB))) / np.sqrt(d_model)
    return w_e.numpy(), w_u.numpy()


def bigram_counts():
    """C[i][j]: how often token j follows token i; and N, the number of predictions."""
    import numpy as np

    c = np.zeros((len(VOCAB), len(VOCAB)), dtype=np.float32)
    for a, b in zip(TOKENS, TOKENS[1:]):
        c[a, b] += 1.0
    return c, float(len(TOKENS) - 1)
