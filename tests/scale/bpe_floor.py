"""An independent count of zl's tokens: Hugging Face's Python `tokenizers` loads the tokenizer.json
zl saved (beside a model, or inside a count file), encodes the text, and numpy counts the pairs
and the bigram entropy H(next | current). Prints one JSON object for tests/cli/external/python.rs.

usage: bpe_floor.py TEXT TOKENIZER_JSON [COUNT_FILE]
"""

import json
import sys

import numpy as np
from tokenizers import Tokenizer


def main() -> int:
    text_path, tokenizer_path = sys.argv[1], sys.argv[2]
    tok = Tokenizer.from_file(tokenizer_path)
    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    ids = np.array(tok.encode(text, add_special_tokens=False).ids, dtype=np.int64)
    v = tok.get_vocab_size(with_added_tokens=True)
    keys = ids[:-1] * v + ids[1:]
    pairs, counts = np.unique(keys, return_counts=True)
    rows = pairs // v
    row_totals = np.bincount(rows, weights=counts, minlength=v)
    h = -np.sum(counts * np.log(counts / row_totals[rows])) / counts.sum()
    out = {"vocab": v, "tokens": int(ids.size), "pairs_that_occur": int(pairs.size), "floor": float(h)}
    if len(sys.argv) > 3:
        from safetensors.numpy import load_file

        c = load_file(sys.argv[3])
        rs, col, cnt = c["row_start"].astype(np.int64), c["col"].astype(np.int64), c["count"]
        file_rows = np.repeat(np.arange(rs.size - 1), np.diff(rs))
        out["count_file_equal"] = bool(
            rs.size - 1 == v
            and np.array_equal(file_rows * v + col, pairs)
            and np.array_equal(cnt.astype(np.int64), counts)
        )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
