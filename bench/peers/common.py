"""What the peers share: the seed notebook's text, vocabulary, model and loss (imported from
tests/golden/gen.py, the notebook's code as zl's golden data was made with it), its bigram
counts, and the torch-identical initialisation (torch.manual_seed(seed), randn / sqrt(d_model)).
"""
import os
import sys
from pathlib import Path

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

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "golden"))
import gen  # noqa: E402  (the notebook's code; importing it runs nothing but definitions)

TEXT, VOCAB = gen.TEXT, gen.VOCAB
D_MODEL = 16
TOKENS = [VOCAB.index(ch) for ch in TEXT]


def init_weights(seed=0, d_model=D_MODEL):
    """W_E (V×d) then W_U (d×V) from one torch generator, as the notebook's model draws them."""
    m = gen.ZeroLayerTransformer(len(VOCAB), d_model, seed)
    return m.W_E.detach().numpy().copy(), m.W_U.detach().numpy().copy()


def bigram_counts():
    """C[i][j]: how often token j follows token i; and N, the number of predictions."""
    import numpy as np

    c = np.zeros((len(VOCAB), len(VOCAB)), dtype=np.float32)
    for a, b in zip(TOKENS, TOKENS[1:]):
        c[a, b] += 1.0
    return c, float(len(TOKENS) - 1)
