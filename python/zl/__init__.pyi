import os
from typing import Any, Iterable, KeysView, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

PathLike = Union[str, os.PathLike[str]]

class Record:
    """A JSON object of zl's (`zl ... --json`) with its keys as attributes."""
    def __getattr__(self, key: str) -> Any: ...
    def __getitem__(self, key: str) -> Any: ...
    def __contains__(self, key: str) -> bool: ...
    def keys(self) -> KeysView[str]: ...
    def to_dict(self) -> dict[str, Any]: ...

class Interpretation(Record):
    """`zl interpret --json`'s object; `_repr_html_` shows `zl report`'s page."""
    html: str
    def _repr_html_(self) -> str: ...

class Counts:
    vocab: list[str]
    table: npt.NDArray[np.uint64]
    floor: float
    chars: int
    documents: int
    source: str
    @property
    def probs(self) -> npt.NDArray[np.float64]: ...

class Run:
    tokens: list[int]
    hook_embed: npt.NDArray[np.float32]
    logits: npt.NDArray[np.float32]
    log_probs: npt.NDArray[np.float64]
    loss: Optional[float]

class Model:
    vocab: list[str]
    d_model: int
    W_E: npt.NDArray[np.float32]
    W_U: npt.NDArray[np.float32]
    losses: Optional[npt.NDArray[np.float32]]
    final_loss: Optional[float]
    checksum: Optional[str]
    backend: Optional[str]
    train_seconds: Optional[float]
    held_out: Optional[Record]
    def save(self, path: PathLike) -> None: ...
    def interpret(
        self,
        text: Optional[str] = None,
        corpus: Optional[PathLike] = None,
        counts: Optional[PathLike] = None,
    ) -> Interpretation: ...
    def sample(
        self,
        prompt: Optional[str] = None,
        chars: int = 200,
        temperature: float = 1.0,
        sample_seed: int = 0,
        text: Optional[str] = None,
        corpus: Optional[PathLike] = None,
        counts: Optional[PathLike] = None,
    ) -> Record: ...
    def run(self, text: str) -> Run: ...
    def to_torch(self) -> Any: ...

def count(
    text: Optional[str] = None,
    path: Optional[PathLike] = None,
    counts: Optional[PathLike] = None,
) -> Counts: ...
def train(
    text: Optional[str] = None,
    counts: Union[Counts, PathLike, None] = None,
    d_model: int = 16,
    epochs: int = 10000,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    seed: int = 0,
    backend: str = "cpu",
    val_fraction: Optional[float] = None,
    progress: bool = True,
    corpus: Optional[PathLike] = None,
) -> Model: ...
def load(
    path: PathLike,
    text: Optional[str] = None,
    corpus: Optional[PathLike] = None,
    counts: Optional[PathLike] = None,
) -> Model: ...
def sweep(
    text: Optional[str] = None,
    counts: Union[Counts, PathLike, None] = None,
    d_model: Union[int, Sequence[int]] = (1, 2, 4, 8, 16, 32),
    epochs: int = 10000,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    seed: int = 0,
    backend: str = "cpu",
    corpus: Optional[PathLike] = None,
) -> Record: ...
def from_torch(module_or_state_dict: Any, vocab: Optional[Sequence[str]] = None) -> Model: ...
