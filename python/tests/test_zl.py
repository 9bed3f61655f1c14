"""`import zl` against the `zl` command and against PyTorch's notebook run (the golden values)."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import zl
from conftest import GOLDEN

CUSTOM = str(GOLDEN / "custom.txt")

# tests/golden.rs: zl's final weights lie within this many times PyTorch's own distance after
# 1-ulp changes of its initial weights (`self_sensitivity`), plus a floor for rounding.
SENSITIVITY_FACTOR = 4.0
SENSITIVITY_FLOOR = 1e-5
# tests/golden.rs: zl's f32 losses against PyTorch's.
LOSS_ATOL = 1e-5


def checksum_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_seed_checksum_is_the_cli_line(cli):
    model = zl.train()
    assert model.checksum == checksum_line(cli("train", "--checksum"))
    assert model.checksum.startswith("epochs=10000 ")
    assert model.W_E.dtype == np.float32 and model.W_E.shape == (30, 16)
    assert model.W_U.dtype == np.float32 and model.W_U.shape == (16, 30)
    assert model.losses.shape == (10000,)
    # The checksum line names the final loss's f32 bits.
    assert f"final_loss=0x{np.float32(model.final_loss).view(np.uint32):08x}" in model.checksum


def test_custom_text_checksum_is_the_cli_line(cli):
    want = checksum_line(cli("train", "--corpus", CUSTOM, "--d-model", "8", "--checksum"))
    assert zl.train(corpus=CUSTOM, d_model=8).checksum == want
    with open(CUSTOM, encoding="utf-8") as f:
        text = f.read()
    assert zl.train(text=text, d_model=8).checksum == want
    assert zl.train(counts=zl.count(text=text), d_model=8).checksum == want


def test_other_settings_checksum_is_the_cli_line(cli):
    args = ["--seed", "3", "--epochs", "700", "--lr", "0.003", "--weight-decay", "0.1", "--d-model", "5"]
    want = checksum_line(cli("train", *args, "--checksum"))
    got = zl.train(seed=3, epochs=700, lr=0.003, weight_decay=0.1, d_model=5).checksum
    assert got == want


def test_weights_are_pytorchs_within_the_golden_tolerances(reference):
    for r in reference["runs"]:
        m = zl.train(seed=r["seed"], epochs=r["epochs"], lr=r["lr"], weight_decay=r["weight_decay"],
                     d_model=r["d_model"])
        assert m.vocab == reference["vocab"]
        for key, got in (("W_E", m.W_E), ("W_U", m.W_U)):
            want = np.array(r["final"][key], dtype=np.float64)
            tol = SENSITIVITY_FACTOR * r["self_sensitivity"][key] + SENSITIVITY_FLOOR
            diff = np.abs(got.astype(np.float64) - want).max()
            assert diff <= tol, f"seed {r['seed']}: {key} differs from PyTorch's by {diff} > {tol}"
        every = np.array(r["losses_every_100"])
        diff = np.abs(m.losses[::100].astype(np.float64) - every).max()
        assert diff <= LOSS_ATOL, f"seed {r['seed']}: losses differ by {diff}"


def test_counts_are_the_texts_bigrams(reference):
    c = zl.count()
    assert c.vocab == reference["vocab"]
    tokens = reference["tokens"][0] if isinstance(reference["tokens"][0], list) else reference["tokens"]
    want = np.zeros((30, 30), dtype=np.uint64)
    for a, b in zip(tokens, tokens[1:]):
        want[a, b] += 1
    assert (c.table == want).all()
    p = c.probs[c.table.sum(axis=1) > 0]
    assert np.allclose(p.sum(axis=1), 1.0)
    assert zl.count(path=CUSTOM).table.sum() == zl.count(path=CUSTOM).chars - 1


def numbers(x, path=""):
    """Every number in a JSON value, by its path (strings and text are left out)."""
    if isinstance(x, dict):
        return {k: v for key in x for k, v in numbers(x[key], f"{path}.{key}").items()}
    if isinstance(x, list):
        return {k: v for i, e in enumerate(x) for k, v in numbers(e, f"{path}[{i}]").items()}
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return {path: x}
    return {}


def assert_same_numbers(got: dict, want: dict):
    g, w = numbers(got), numbers(want)
    timing = [k for k in w if "seconds" in k]
    for k in timing:
        g.pop(k, None), w.pop(k, None)
    # Named differences: pytest's own diff of two key sets this large takes minutes.
    missing, extra = sorted(w.keys() - g.keys()), sorted(g.keys() - w.keys())
    assert not missing and not extra, f"missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)})"
    differ = [k for k in w if g[k] != w[k]]
    assert not differ, f"{len(differ)} numbers differ, such as {differ[:3]}: {[(g[k], w[k]) for k in differ[:3]]}"
    assert len(w) > 100


def test_interpret_numbers_are_the_clis(cli, tmp_path):
    i = zl.train().interpret()
    assert_same_numbers(i.to_dict(), cli("interpret", "--json"))
    # Keys as attributes, nested objects too; and the report inline.
    for key, value in i.to_dict().items():
        got = getattr(i, key)
        assert (got.to_dict() if isinstance(got, zl.Record) else got) == value
    assert "<html" in i.html.lower() and 'src="http' not in i.html
    assert i._repr_html_().startswith("<iframe srcdoc=")


def test_interpret_loaded_weights_is_the_clis(cli, tmp_path):
    path = tmp_path / "m.safetensors"
    zl.train(d_model=8, epochs=2000, corpus=CUSTOM).save(path)
    got = zl.load(path, corpus=CUSTOM).interpret()
    assert_same_numbers(got.to_dict(), cli("interpret", "--load", str(path), "--corpus", CUSTOM, "--json"))


def test_save_load_round_trip_and_the_cli_reads_it(cli, tmp_path):
    m = zl.train(epochs=500)
    path = tmp_path / "m.safetensors"
    m.save(path)
    back = zl.load(path)
    assert back.vocab == m.vocab
    assert (back.W_E.view(np.uint32) == m.W_E.view(np.uint32)).all()
    assert (back.W_U.view(np.uint32) == m.W_U.view(np.uint32)).all()
    run = cli("run", "--load", str(path), "--text", "a zero-layer", "--json")
    mine = m.run("a zero-layer")
    want = np.array([p["hook_embed"] for p in run["positions"]], dtype=np.float32)
    assert (mine.hook_embed.view(np.uint32) == want.view(np.uint32)).all()
    assert mine.loss == run["loss"]


def test_sample_is_the_clis(cli):
    m = zl.train()
    got = m.sample(prompt="Be", chars=50, sample_seed=3, temperature=0.7).to_dict()
    want = cli("sample", "--prompt", "Be", "--chars", "50", "--sample-seed", "3", "--temperature", "0.7", "--json")
    for key in ("model_text", "table_text", "first_divergence"):
        assert got[key] == want[key], key


def test_sweep_numbers_are_the_clis(cli):
    got = zl.sweep(d_model=[1, 4, 2], epochs=300).to_dict()
    want = cli("sweep", "--d-model", "1,2,4", "--epochs", "300", "--json")
    assert_same_numbers_small(got, want)


def assert_same_numbers_small(got, want):
    g, w = numbers(got), numbers(want)
    for d in (g, w):
        for k in [k for k in d if "seconds" in k]:
            del d[k]
    assert g == w and len(w) > 5


def test_val_fraction_is_the_clis(cli):
    m = zl.train(val_fraction=0.2, epochs=1000)
    want = cli("train", "--val-fraction", "0.2", "--epochs", "1000", "--json")
    assert m.checksum == want["checksum"]
    assert_same_numbers_small(m.held_out.to_dict(), want["held_out"])


torch = pytest.importorskip("torch")


def test_to_torch_and_back_bit_for_bit():
    m = zl.train()
    tl = m.to_torch()
    from transformer_lens import HookedRootModule

    assert isinstance(tl, HookedRootModule) and "hook_embed" in tl.hook_dict
    assert (tl.W_E.detach().numpy().view(np.uint32) == m.W_E.view(np.uint32)).all()
    back = zl.from_torch(tl)
    assert back.vocab == m.vocab
    assert (back.W_E.view(np.uint32) == m.W_E.view(np.uint32)).all()
    assert (back.W_U.view(np.uint32) == m.W_U.view(np.uint32)).all()
    sd = zl.from_torch(tl.state_dict(), vocab=m.vocab)
    assert (sd.W_U.view(np.uint32) == m.W_U.view(np.uint32)).all()
    # run_with_cache gives zl's hook_embed, bit for bit, and the same logits' loss.
    text = "".join(m.vocab[t] for t in zl.count().table.sum(axis=1).argsort()[:5]) + "the token"
    r = m.run(text)
    with torch.inference_mode():
        logits, cache = tl.run_with_cache(torch.tensor([r.tokens]))
    assert (cache["hook_embed"][0].numpy().view(np.uint32) == r.hook_embed.view(np.uint32)).all()
    lp = torch.log_softmax(logits[0].double(), dim=-1).numpy()
    assert np.abs(lp - r.log_probs).max() < 1e-5


def test_from_torch_of_a_notebook_trained_model():
    from zl.notebook import Config, ZeroLayerTransformer

    model = ZeroLayerTransformer(Config(d_vocab=30, d_model=16, seed=0))
    init = zl.from_torch(model)
    # Epoch 0 of zl's run is torch.randn's initial weights, bit for bit.
    first = zl.train(epochs=1)
    assert init.W_E.shape == (30, 16)
    assert np.abs(init.W_E - first.W_E).max() < 1e-2


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: zl.train(d_model=0), ValueError, "d-model"),
        (lambda: zl.train(d_model=65_537), ValueError, "d-model"),
        (lambda: zl.train(epochs=-1), ValueError, "epochs"),
        (lambda: zl.train(lr=0.0), ValueError, "learning rate"),
        (lambda: zl.train(weight_decay=float("nan")), ValueError, "weight decay"),
        (lambda: zl.train(backend="gpu"), ValueError, "gpu"),
        (lambda: zl.train(val_fraction=1.5), ValueError, "val-fraction"),
        (lambda: zl.train(text=""), ValueError, "text"),
        (lambda: zl.train(text="aaaa"), ValueError, "one distinct"),
        (lambda: zl.train(text="ab", corpus=CUSTOM), ValueError, "text"),
        (lambda: zl.train(corpus="/no/such/file.txt"), FileNotFoundError, "/no/such/file.txt"),
        (lambda: zl.count(counts="/no/such/counts.zlc"), FileNotFoundError, "/no/such/counts.zlc"),
        (lambda: zl.load("/no/such/model.safetensors"), FileNotFoundError, "/no/such/model.safetensors"),
        (lambda: zl.load(CUSTOM), ValueError, "custom.txt"),
        (lambda: zl.train(epochs=10).run("Zebra!"), ValueError, "vocabulary"),
        (lambda: zl.train(epochs=10).sample(chars=0), ValueError, "chars"),
        (lambda: zl.train(epochs=10).sample(text="xyz"), ValueError, "vocabulary"),
        (lambda: zl.train(epochs=10).save("/no/such/dir/m.safetensors"), ValueError, "/no/such/dir"),
        (lambda: zl.sweep(d_model=[]), ValueError, "d_model"),
        (lambda: zl.sweep(d_model=[4, 65_537]), ValueError, "d-model"),
        (lambda: zl.from_torch({"W_E": np.zeros((30, 4), np.float32)}), ValueError, "W_U"),
        (lambda: zl.from_torch({"W_E": np.zeros((30, 4), np.float32), "W_U": np.zeros((30, 4), np.float32)}),
         ValueError, "W_U"),
        (lambda: zl.from_torch({"W_E": np.zeros((7, 4), np.float32), "W_U": np.zeros((4, 7), np.float32)}),
         ValueError, "vocab="),
    ],
)
def test_bad_arguments_raise_one_clear_line(call, exc, words):
    with pytest.raises(exc) as e:
        call()
    msg = str(e.value)
    assert msg and "\n" not in msg, repr(msg)
    assert words.lower() in msg.lower(), msg


def test_not_a_number_is_a_type_error():
    with pytest.raises(TypeError):
        zl.train(epochs="10")


def test_quiet_when_not_interactive(capfd):
    zl.train(epochs=2000)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_ctrl_c_stops_training_and_the_gil_is_free():
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(1)
            time.sleep(0.001)

    threading.Thread(target=tick, daemon=True).start()
    # A shell starts background jobs with SIGINT ignored, and Python then installs no handler of
    # its own: install it, as an interactive session has it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            zl.train(epochs=10_000_000, d_model=64, corpus=CUSTOM)
    finally:
        signal.signal(signal.SIGINT, previous)
    elapsed = time.monotonic() - start
    done.set()
    assert elapsed < 5, f"Ctrl-C took {elapsed:.1f} s to stop the run"
    # Another Python thread ran while zl trained.
    assert len(ticks) > 50, len(ticks)
