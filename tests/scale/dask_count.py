"""Counts a text with an existing engine: Dask maps `zl count` over 8 shards on a 2-worker
LocalCluster (loopback, processes), `zl count --merge --concatenate` merges them, and the merge
must equal `zl count` of the whole text tensor for tensor, with the same training checksum.

    python3 tests/scale/dask_count.py ZL_BINARY TEXT WORKDIR

Driven by tests/cli/external/python.rs (dask_counts_shards_in_parallel); docs/SCALE.md shows the pattern.
"""

import os
import subprocess
import sys

SHARDS = 8


def count(zl, shard, out):
    """One task: count one shard as a piece of the text (the boundary pairs come at the merge)."""
    subprocess.run([zl, "count", "--concatenate", shard, "--out", out], check=True, capture_output=True)
    return out


def checksum(zl, *args):
    out = subprocess.run([zl, "train", *args, "--epochs", "300", "--checksum"], check=True,
                         capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def main():
    zl, text_path, work = sys.argv[1:4]
    import numpy as np
    from dask.distributed import Client, LocalCluster
    from safetensors import safe_open
    from safetensors.numpy import load_file

    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    shards, outs = [], []
    for k in range(SHARDS):
        path = os.path.join(work, f"shard{k}.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text[k * len(text) // SHARDS:(k + 1) * len(text) // SHARDS])
        shards.append(path)
        outs.append(os.path.join(work, f"counts{k}.safetensors"))

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        workers = len(client.scheduler_info()["workers"])
        done = client.gather(client.map(count, [zl] * SHARDS, shards, outs, pure=False))
    print(f"dask: {SHARDS} shards on {workers} workers")

    merged = os.path.join(work, "merged.safetensors")
    whole = os.path.join(work, "whole.safetensors")
    subprocess.run([zl, "count", "--merge", "--concatenate", *done, "--out", merged], check=True)
    subprocess.run([zl, "count", "--concatenate", text_path, "--out", whole], check=True)

    a, b = load_file(merged), load_file(whole)
    same = a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)
    meta = [safe_open(p, "np").metadata() for p in (merged, whole)]
    same = same and meta[0] == meta[1]
    print(f"counts {a['count'].dtype} over {a['row_start'].shape[0] - 1} tokens, {int(a['count'].sum())} pairs")
    print(f"merge equals the whole: {same}")

    by_counts, by_text = checksum(zl, "--counts", merged), checksum(zl, "--corpus", text_path)
    print(f"checksum from counts: {by_counts}\nchecksum from text:   {by_text}")
    print(f"checksum equal: {by_counts == by_text}")
    return 0 if same and by_counts == by_text and workers == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
