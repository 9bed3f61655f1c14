#!/usr/bin/env bash
# Measures zl count at scale (docs/SCALE.md): counts FILES shards of a synthetic text in
# parallel with xargs -P, then times `zl count --merge` of all of them RUNS times and prints
# each time and the median. Not a test: the figures go in docs/SCALE.md with their date.
#
#   tests/scale/merge_bench.sh [FILES=1000] [VOCAB=96] [SHARD_BYTES=65536] [RUNS=5]
#
# VOCAB distinct characters (at most 256: printable ASCII, then Latin-1, Greek and Cyrillic letters) are
# drawn at random; every shard holds all of them, so each count file is VOCAB×VOCAB.
set -euo pipefail
cd "$(dirname "$0")/../.."
files=${1:-1000} vocab=${2:-96} bytes=${3:-65536} runs=${4:-5}
cargo build -q --release -p zl-cli --bin zl
zl=$PWD/target/release/zl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" "$files" "$vocab" "$bytes" <<'PY'
import os, random, sys
work, files, vocab, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
alphabet = [chr(c) for c in range(32, 127)] + [chr(c) for c in range(0xC0, 0x100)] + [chr(c) for c in range(0x391, 0x3CA)] + [chr(c) for c in range(0x410, 0x450)]
alphabet = alphabet[:vocab]
assert len(alphabet) == vocab, f"at most {len(alphabet)} characters"
rng = random.Random(0)
for k in range(files):
    text = alphabet + rng.choices(alphabet, k=size // 2)
    rng.shuffle(text)
    with open(os.path.join(work, f"shard{k:05}.txt"), "w", encoding="utf-8") as f:
        f.write("".join(text))
PY
start=$(date +%s.%N)
ls "$work"/shard*.txt | xargs -P "$(nproc)" -I{} "$zl" count --concatenate {} --out {}.safetensors 2>/dev/null
end=$(date +%s.%N)
total=$(cat "$work"/shard*.txt | wc -c)
echo "counted $files shards ($total bytes) with xargs -P $(nproc): $(echo "$end - $start" | bc) s"
times=()
for _ in $(seq "$runs"); do
    s=$(date +%s.%N)
    "$zl" count --merge --concatenate "$work"/shard*.txt.safetensors --out "$work/all.safetensors" 2>/dev/null
    e=$(date +%s.%N)
    times+=("$(echo "$e - $s" | bc)")
done
echo "merge of $files count files (V=$vocab, $(du -cb "$work"/shard*.txt.safetensors | tail -1 | cut -f1) bytes): ${times[*]} s"
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print "median " a[int((NR+1)/2)] " s"}'
"$zl" train --counts "$work/all.safetensors" --epochs 100 --checksum | tail -1
