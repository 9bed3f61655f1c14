"""zl in Python: train the seed notebook's zero-layer transformer bit-exactly like PyTorch,
and see that it learned the text's bigram table.

    >>> import zl
    >>> model = zl.train()            # the seed notebook's run, in milliseconds
    >>> model.checksum                # the line `zl train --checksum` prints
    >>> model.interpret()             # the report, inline in Jupyter
    >>> tl = model.to_torch()         # the notebook's ZeroLayerTransformer (TransformerLens)

Keyword arguments are named as the `zl` command's flags; arrays are numpy. Bad arguments raise
ValueError (a missing file FileNotFoundError) with the command's one-line message; Ctrl-C
raises KeyboardInterrupt.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np

from . import _zl

__all__ = [
    "Counts",
    "Model",
    "Interpretation",
    "Record",
    "Run",
    "count",
    "train",
    "load",
    "sweep",
    "from_torch",
]

PathLike = Union[str, "os.PathLike[str]"]

# The keyword arguments' defaults are the `zl` command's own (zl-core's TrainConfig::default()).
_D = _zl.defaults()


class Record:
    """A JSON object of zl's (`zl ... --json`) with its keys as attributes (nested objects
    too); `to_dict()` gives the plain object."""

    def __init__(self, obj: dict):
        self._obj = obj

    def __getattr__(self, key: str) -> Any:
        try:
            value = self.__dict__["_obj"][key]
        except KeyError:
            raise AttributeError(key) from None
        return Record(value) if isinstance(value, dict) else value

    def __getitem__(self, key: str) -> Any:
        return self._obj[key]

    def __contains__(self, key: str) -> bool:
        return key in self._obj

    def __dir__(self) -> Iterable[str]:
        return list(self._obj) + ["to_dict"]

    def keys(self):
        return self._obj.keys()

    def to_dict(self) -> dict:
        return self._obj

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._obj)})"


class Interpretation(Record):
    """`zl interpret --json`'s object; shown in Jupyter as `zl report`'s page (its figures and
    verdict, self-contained: no network)."""

    def __init__(self, obj: dict, html: str):
        super().__init__(obj)
        self.__dict__["html"] = html

    def _repr_html_(self) -> str:
        # The report is a whole page with its own styles: framed, so that neither it nor the
        # notebook restyles the other.
        doc = self.__dict__["html"].replace("&", "&amp;").replace('"', "&quot;")
        return (
            f'<iframe srcdoc="{doc}" style="width:100%;height:900px;border:1px solid #ccc" '
            'sandbox="allow-same-origin"></iframe>'
        )


def _origin(text, corpus, counts) -> tuple:
    given = [n for n, v in (("text", text), ("corpus", corpus), ("counts", counts)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"{' and '.join(given)}: give one of text=, corpus= and counts=")
    if text is not None:
        if not isinstance(text, str):
            raise TypeError(f"text= takes a str, not {type(text).__name__}")
        return ("text", text)
    if corpus is not None:
        return ("corpus", os.fspath(corpus))
    if counts is not None:
        return ("counts", os.fspath(counts))
    return ("seed",)


def _native(origin: tuple) -> "_zl.Corpus":
    kind = origin[0]
    if kind == "text":
        return _zl.corpus(text=origin[1])
    if kind == "corpus":
        return _zl.corpus(path=origin[1])
    if kind == "counts":
        return _zl.corpus(counts=origin[1])
    return _zl.corpus()


class Counts:
    """A text's vocabulary and bigram counts: `vocab` (characters in token-id order), `table`
    (V×V uint64: `table[i, j]` is how often character j follows character i) and `floor` (the
    bigram table's entropy, the lowest loss any model reaches)."""

    def __init__(self, native: "_zl.Corpus", origin: tuple):
        self._native = native
        self._origin = origin
        self.vocab: list = list(native.vocab)
        v = len(self.vocab)
        self.table: np.ndarray = np.frombuffer(native.counts, dtype="<u8").reshape(v, v).copy()
        self.floor: float = native.floor
        self.chars: int = native.chars
        self.documents: int = native.documents
        self.source: str = native.source

    @property
    def probs(self) -> np.ndarray:
        """The bigram table P(next | token), rows normalised (a row never followed is zero)."""
        t = self.table.astype(np.float64)
        s = t.sum(axis=1, keepdims=True)
        return np.divide(t, s, out=np.zeros_like(t), where=s > 0)

    def __repr__(self) -> str:
        return f"Counts({len(self.vocab)} characters, {int(self.table.sum())} pairs, floor {self.floor:.6f}; {self.source})"


def count(text: Optional[str] = None, path: Optional[PathLike] = None, counts: Optional[PathLike] = None) -> Counts:
    """A text's bigram counts: `text` (a str), the UTF-8 file `path`, a `zl count` file
    `counts`, or the seed notebook's sentence."""
    origin = _origin(text, path, counts)
    return Counts(_native(origin), origin)


class _Progress:
    """`zl train`'s progress bar: tqdm, shown once a run has taken a second, on a terminal or in
    Jupyter only."""

    def __init__(self, epochs: int):
        self.epochs = epochs
        self.start = time.monotonic()
        self.bar = None

    @staticmethod
    def wanted() -> bool:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            return False
        interactive = getattr(sys.stderr, "isatty", lambda: False)()
        return interactive or "ipykernel" in sys.modules

    def __call__(self, done: int) -> None:
        if self.bar is None:
            if time.monotonic() - self.start < 1.0:
                return
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.epochs, unit="epoch", desc="training", leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _flags(**kw) -> list:
    out = []
    for name, value in kw.items():
        if value is None:
            continue
        text = name in ("backend", "prompt")
        if isinstance(value, bool) or not isinstance(value, (str,) if text else (int, float)):
            raise TypeError(f"{name}= takes a {'str' if text else 'number'}, not {type(value).__name__}")
        out.append((name, repr(value) if isinstance(value, float) else str(value)))
    return out


class Model:
    """A zero-layer transformer: `W_E` (V×d_model) and `W_U` (d_model×V), float32, over
    `vocab`. A model trained here also has `losses` (one per epoch, float32), `final_loss`,
    `checksum` (`zl train --checksum`'s line), `backend` and `train_seconds`."""

    def __init__(self, weights: dict, corpus: Optional["_zl.Corpus"] = None, origin: tuple = ("seed",),
                 flags: Optional[list] = None, run: Optional[dict] = None):
        self.vocab: list = list(weights["vocab"])
        self.d_model: int = weights["d_model"]
        v, d = len(self.vocab), self.d_model
        self.W_E: np.ndarray = np.frombuffer(weights["W_E"], dtype="<f4").reshape(v, d).copy()
        self.W_U: np.ndarray = np.frombuffer(weights["W_U"], dtype="<f4").reshape(d, v).copy()
        self._corpus = corpus
        self._origin = origin
        self._flags = flags
        # The settings a loaded file records, written again with the weights it re-saves.
        self._meta: list = list(weights.get("meta", []))
        run = run or {}
        self.losses: Optional[np.ndarray] = (
            np.frombuffer(run["losses"], dtype="<f4").copy() if "losses" in run else None
        )
        self.final_loss: Optional[float] = run.get("final_loss")
        self.checksum: Optional[str] = run.get("checksum")
        self.backend: Optional[str] = run.get("backend")
        self.train_seconds: Optional[float] = run.get("seconds")
        held = run.get("held_out")
        self.held_out: Optional[Record] = Record(json.loads(held)) if held else None

    def __repr__(self) -> str:
        how = f"; {self.checksum}" if self.checksum else ""
        return f"Model(vocab {len(self.vocab)}, d_model {self.d_model}{how})"

    def _arrays(self) -> tuple:
        w_e = np.ascontiguousarray(self.W_E, dtype="<f4")
        w_u = np.ascontiguousarray(self.W_U, dtype="<f4")
        v = len(self.vocab)
        if w_e.ndim != 2 or w_e.shape[0] != v or w_u.shape != w_e.shape[::-1]:
            raise ValueError(
                f"W_E has shape {w_e.shape} and W_U {w_u.shape} for a vocabulary of {v}; "
                f"give W_E as ({v}, d_model) and W_U as (d_model, {v})"
            )
        return "".join(self.vocab), w_e.shape[1], w_e.tobytes(), w_u.tobytes()

    def save(self, path: PathLike) -> None:
        """Writes the weights as `zl train --save` does (safetensors, the vocabulary in its
        metadata), for `zl ... --load` and `zl.load`."""
        meta = self._meta
        if self._flags is not None:
            f = dict(self._flags)
            meta = [(k, f[k]) for k in ("seed", "epochs", "lr", "weight_decay") if k in f]
            meta += [("final_loss", repr(float(self.final_loss))), ("backend", self.backend)]
        _zl.save(*self._arrays(), os.fspath(path), meta)

    def _text_corpus(self, text, corpus, counts) -> tuple:
        """The native corpus and origin of a text given, else the model's own."""
        if text is None and corpus is None and counts is None:
            if self._corpus is None:
                self._corpus = _zl.corpus()
            return self._corpus, self._origin
        origin = _origin(text, corpus, counts)
        return _native(origin), origin

    def interpret(self, text: Optional[str] = None, corpus: Optional[PathLike] = None,
                  counts: Optional[PathLike] = None) -> Interpretation:
        """`zl interpret --json` for this model: on its own text, or on the text given (whose
        vocabulary must be the model's). A model trained here is analysed as `zl interpret`
        analyses the run with its settings (the same bits); other weights as `--load` is."""
        own = text is None and corpus is None and counts is None
        origin = self._origin if own else _origin(text, corpus, counts)
        with tempfile.TemporaryDirectory(prefix="zl-") as tmp:
            paths = {}
            if origin[0] == "text":
                p = os.path.join(tmp, "text.txt")
                with open(p, "w", encoding="utf-8", newline="") as f:
                    f.write(origin[1])
                paths["corpus"] = p
            elif origin[0] in ("corpus", "counts"):
                paths[origin[0]] = origin[1]
            if own and self._flags is not None:
                obj, html = _zl.interpret(self._flags, **paths)
            else:
                weights = os.path.join(tmp, "model.safetensors")
                _zl.save(*self._arrays(), weights, self._meta)
                flags = [f for f in (self._flags or []) if f[0] == "backend"]
                obj, html = _zl.interpret(flags, load=weights, **paths)
        return Interpretation(json.loads(obj), html)

    def sample(self, prompt: Optional[str] = None, chars: int = _D["chars"],
               temperature: float = _D["temperature"], sample_seed: int = _D["sample_seed"], text: Optional[str] = None, corpus: Optional[PathLike] = None,
               counts: Optional[PathLike] = None) -> Record:
        """`zl sample --json`: `chars` characters after `prompt` from the model and from the
        bigram table of its text (or of the text given), with one stream of random numbers."""
        native, _ = self._text_corpus(text, corpus, counts)
        flags = _flags(prompt=prompt, chars=chars, temperature=temperature, sample_seed=sample_seed)
        what = f"a model over {len(self.vocab)} characters, d_model {self.d_model}"
        return Record(json.loads(_zl.sample(*self._arrays(), native, what, flags)))

    def run(self, text: str) -> "Run":
        """The model on `text`, position by position, as the notebook's `run_with_cache` shows
        it: `hook_embed` (n×d_model, rows of W_E bit for bit), `logits` (n×V, float32),
        `log_probs` (n×V, float64) and the mean `loss`."""
        if not isinstance(text, str):
            raise TypeError(f"text= takes a str, not {type(text).__name__}")
        return Run(_zl.run(*self._arrays(), text), len(self.vocab), self.d_model)

    def to_torch(self):
        """The seed notebook's `ZeroLayerTransformer` (a TransformerLens `HookedRootModule`
        with `hook_embed`), holding these weights bit for bit."""
        from .notebook import to_module

        seed = int(dict(self._flags or []).get("seed", _D["seed"]))
        return to_module(self.W_E, self.W_U, self.vocab, seed)


class Run:
    """`Model.run`'s result: `tokens`, `hook_embed`, `logits`, `log_probs` and `loss`."""

    def __init__(self, r: dict, v: int, d: int):
        self.tokens: list = list(r["tokens"])
        n = len(self.tokens)
        self.hook_embed: np.ndarray = np.frombuffer(r["hook_embed"], dtype="<f4").reshape(n, d).copy()
        self.logits: np.ndarray = np.frombuffer(r["logits"], dtype="<f4").reshape(n, v).copy()
        self.log_probs: np.ndarray = np.frombuffer(r["log_q"], dtype="<f8").reshape(n, v).copy()
        self.loss: Optional[float] = r["loss"]

    def __repr__(self) -> str:
        return f"Run({len(self.tokens)} positions, loss {self.loss})"


def _corpus_of(text, counts, corpus) -> tuple:
    """The native corpus and origin of train()'s and sweep()'s text arguments; `counts` may be
    a `Counts`."""
    if isinstance(counts, Counts):
        if text is not None or corpus is not None:
            raise ValueError("counts= and text=/corpus=: give one of them")
        return counts._native, counts._origin
    origin = _origin(text, corpus, counts)
    return _native(origin), origin


def train(text: Optional[str] = None, counts: Union[Counts, PathLike, None] = None,
          d_model: int = _D["d_model"], epochs: int = _D["epochs"], lr: float = _D["lr"],
          weight_decay: float = _D["weight_decay"], seed: int = _D["seed"],
          backend: str = _D["backend"], val_fraction: Optional[float] = None, progress: bool = True,
          corpus: Optional[PathLike] = None) -> Model:
    """`zl train`: trains on `text` (a str), `counts` (a `Counts`, or a `zl count` file),
    the UTF-8 file `corpus`, or the seed notebook's sentence, with the same bits (`checksum`
    is `zl train --checksum`'s line). The GIL is released while it trains; Ctrl-C raises
    KeyboardInterrupt at the end of the segment it is in."""
    flags = _flags(backend=backend, d_model=d_model, epochs=epochs, lr=lr, weight_decay=weight_decay,
                   seed=seed, val_fraction=val_fraction)
    _zl.check(flags)
    native, origin = _corpus_of(text, counts, corpus)
    bar = _Progress(epochs) if progress and _Progress.wanted() else None
    try:
        run = _zl.train(native, flags, bar)
    finally:
        if bar is not None:
            bar.close()
    return Model(run, native, origin, flags, run)


def load(path: PathLike, text: Optional[str] = None, corpus: Optional[PathLike] = None,
         counts: Optional[PathLike] = None) -> Model:
    """`--load PATH`: weights saved by `zl train --save` or `Model.save` (or any safetensors
    file with W_E and W_U); the vocabulary from its metadata, else the text given's, else the
    seed notebook's."""
    given = not (text is None and corpus is None and counts is None)
    native, origin = (_corpus_of(text, counts, corpus) if given else (None, ("seed",)))
    w = _zl.load(os.fspath(path), native)
    if w["note"]:
        print(w["note"], file=sys.stderr)
    return Model(w, native, origin)


def sweep(text: Optional[str] = None, counts: Union[Counts, PathLike, None] = None,
          d_model: Sequence[int] = tuple(_D["sweep_d_model"]), epochs: int = _D["epochs"],
          lr: float = _D["lr"], weight_decay: float = _D["weight_decay"], seed: int = _D["seed"],
          backend: str = _D["backend"],
          corpus: Optional[PathLike] = None) -> Record:
    """`zl sweep --json`: one model per d_model, each trained `epochs` epochs, and which come
    close to the bigram floor."""
    if isinstance(d_model, int):
        d_model = [d_model]
    sizes = [int(d) for d in d_model]
    flags = _flags(backend=backend, epochs=epochs, lr=lr, weight_decay=weight_decay, seed=seed)
    native, _ = _corpus_of(text, counts, corpus)
    for d in sizes:
        if d < 0:
            _zl.check(flags + [("d_model", str(d))])
    return Record(json.loads(_zl.sweep(native, sizes, flags)))


def from_torch(module_or_state_dict, vocab: Optional[Sequence[str]] = None) -> Model:
    """A model from the notebook's `ZeroLayerTransformer` (or any module or state dict with
    `W_E` and `W_U`), bit for bit. `vocab`: its characters in token-id order (the module's
    `vocab` where `to_torch` made it, else the seed notebook's for a 30-token model)."""
    from .notebook import arrays

    w_e, w_u, found = arrays(module_or_state_dict)
    vocab = vocab if vocab is not None else found
    if vocab is None:
        seed_vocab = _zl.corpus().vocab
        if w_e.ndim == 2 and w_e.shape[0] == len(seed_vocab):
            vocab = seed_vocab
        else:
            raise ValueError(
                f"W_E has {w_e.shape[0]} rows but the seed notebook's vocabulary has "
                f"{len(seed_vocab)}; pass vocab= with the characters in token-id order"
            )
    vocab = "".join(vocab)
    v = len(vocab)
    if w_e.ndim != 2 or w_e.shape[0] != v or w_u.shape != w_e.shape[::-1]:
        raise ValueError(
            f"W_E has shape {tuple(w_e.shape)} and W_U {tuple(w_u.shape)} for a vocabulary of {v}; "
            f"give W_E as ({v}, d_model) and W_U as (d_model, {v})"
        )
    w = _zl.check_weights(vocab, w_e.shape[1], w_e.tobytes(), w_u.tobytes())
    return Model(w)
