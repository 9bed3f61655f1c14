#!/usr/bin/env bash
# Everything issue 5 asks of a GPU, in one run of well under 5 minutes, on a machine with an
# NVIDIA GPU (x86-64, e.g. an H100, with PyTorch installed; Rust may be missing, and the machine
# may have no network):
#   1. the GPU and driver;
#   2. the CUDA agreement tests (tests/backends.rs, every *_cuda test, which must run: with
#      ZL_REQUIRE_GPU=1 a missing GPU fails them instead of skipping);
#   3. gpu_bench (cuda/examples/gpu_bench.rs): (a) one seed-model run of 10,000 epochs in one
#      launch, (b) 1,024 seeds x 10,000 epochs in one launch, each compared with the CPU core;
#   4. the notebook's own PyTorch loop on the same GPU (bench/peers/torch_gpu_loop.py);
#   5. the headline command, `zl --backend cuda train --checksum`, against the CPU backend's line;
#   6. a short table, last.
#
# Usage
#   scripts/gpu-check.sh --prepare   # where Rust is (no GPU needed): build the programs into
#                                    # target/gpu-bin/ (about 7 MB), to carry to the GPU machine
#   scripts/gpu-check.sh             # on the GPU machine
# On the GPU machine it runs target/gpu-bin/ when that was built from these very sources (its
# STAMP holds their hash); otherwise it builds with cargo, offline first, if cargo is there.
# The prebuilt programs need glibc >= 2.34 (they were linked on Debian 12). Results (JSON and the
# table) are written to $OUT if set (the device tool's output folder), else target/gpu-check/.
set -uo pipefail
cd "$(dirname "$0")/.."

BIN=target/gpu-bin
say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'gpu-check: %s\n' "$*" >&2; exit 1; }
# What the programs are built from: the three crates, the kernels and the tests.
source_hash() {
    find core cuda cli kernels tests/backends.rs tests/support Cargo.toml Cargo.lock -type f \
        \( -name '*.rs' -o -name '*.ptx' -o -name '*.py' -o -name '*.toml' -o -name Cargo.lock \) \
        -not -path '*/target/*' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16
}

build() { # $1: output folder. Builds gpu_bench, zl and the backends test binary into it.
    local out=$1 cargo_args=("${@:2}")
    cargo build -q --release "${cargo_args[@]}" -p zl-cuda --example gpu_bench || return 1
    cargo build -q --release "${cargo_args[@]}" -p zl-cli --bin zl || return 1
    local tests
    tests=$(cargo test -q --release "${cargo_args[@]}" --test backends --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "backends" and m.get("executable"):
        print(m["executable"])') || return 1
    [ -n "$tests" ] || return 1
    mkdir -p "$out"
    cp target/release/examples/gpu_bench "$out/gpu_bench"
    cp target/release/zl "$out/zl"
    cp "$tests" "$out/backends"
    echo "sources $(source_hash)" >"$out/STAMP"
}

if [ "${1:-}" = "--prepare" ]; then
    command -v cargo >/dev/null || die "--prepare needs cargo"
    build "$BIN" || die "build failed"
    du -sh "$BIN" >&2
    echo "built $BIN ($(cat "$BIN/STAMP")); carry it to the GPU machine (device tool: carry [\"$BIN\"])" >&2
    exit 0
fi

OUTDIR=${OUT:-target/gpu-check}
mkdir -p "$OUTDIR"
status=0

say "1. GPU and driver"
uname -m
ldd --version 2>/dev/null | head -n1
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
else
    echo "nvidia-smi not found (the tests below will say whether libcuda loads)"
fi

say "programs"
if [ -x "$BIN/gpu_bench" ] && [ -x "$BIN/backends" ] && [ -x "$BIN/zl" ] && [ "$(cat "$BIN/STAMP" 2>/dev/null)" = "sources $(source_hash)" ]; then
    RUN=$BIN
    echo "using $BIN, built by --prepare from these sources ($(cat "$BIN/STAMP"))"
elif command -v cargo >/dev/null && { build target/gpu-build --offline ||
    CARGO_NET_RETRY=0 CARGO_HTTP_TIMEOUT=15 build target/gpu-build; }; then
    RUN=target/gpu-build
    echo "built here with $(cargo --version)"
elif [ -x "$BIN/gpu_bench" ]; then
    die "$BIN was built from other sources than these, and cargo cannot rebuild it here;
run 'scripts/gpu-check.sh --prepare' where Rust is and carry $BIN again"
else
    die "this needs either Rust (cargo >= 1.85, with crates.io or a filled ~/.cargo cache) or the
programs built elsewhere by 'scripts/gpu-check.sh --prepare' and carried in $BIN/
(device tool: carry [\"$BIN\"]); neither is here"
fi

say "2. CUDA agreement tests (tests/backends.rs, *_cuda; ZL_REQUIRE_GPU=1: no skipping)"
if ! ZL_REQUIRE_GPU=1 timeout 150 "$RUN/backends" _cuda opening_without models_beyond \
    --test-threads=1 --nocapture 2>&1 | tee "$OUTDIR/tests.log"; then
    status=1
    echo "gpu-check: CUDA tests FAILED" >&2
fi

say "3. zl-cuda timings: (a) 1 x 10,000 epochs, (b) 1,024 x 10,000 epochs, each one launch"
timeout 150 "$RUN/gpu_bench" --epochs 10000 --models 1024 >"$OUTDIR/bench.json"
rc=$?
[ $rc -eq 0 ] || { status=1; echo "gpu-check: gpu_bench exited $rc" >&2; }

say "4. the notebook's PyTorch loop on the same GPU (10,000 epochs)"
if ! timeout 150 python3 bench/peers/torch_gpu_loop.py --epochs 10000 >"$OUTDIR/torch.json"; then
    echo "gpu-check: the PyTorch loop did not run (is PyTorch with CUDA installed?)" >&2
    : >"$OUTDIR/torch.json"
fi

say "5. zl --backend cuda train --checksum, against the CPU backend"
cpu_line=$("$RUN/zl" train --checksum 2>/dev/null | tail -n1)
cuda_line=$(timeout 60 "$RUN/zl" --backend cuda train --checksum 2>"$OUTDIR/zl-cuda.err" | tail -n1)
cat "$OUTDIR/zl-cuda.err" >&2
printf 'cpu:  %s\ncuda: %s\n' "$cpu_line" "$cuda_line" | tee "$OUTDIR/checksum.txt"
if [ -n "$cuda_line" ] && [ "$cuda_line" = "$cpu_line" ]; then
    echo equal >>"$OUTDIR/checksum.txt"
else
    echo "gpu-check: the cuda backend's checksum line differs from the CPU's (or zl failed)" >&2
fi

say "6. summary"
python3 - "$OUTDIR" <<'EOF' | tee "$OUTDIR/table.txt"
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
def load(name):
    try:
        return json.loads((out / name).read_text())
    except Exception:
        return None
b, t = load("bench.json"), load("torch.json")
rows = []
def row(what, value, goal, ok):
    rows.append((what, value, goal, "-" if ok is None else ("ok" if ok else "MISSED")))
if b:
    single = next(r for r in b["single"] if r["default"])
    batch = next(r for r in b["batch"] if r["default"])
    row("(a) 1 x %d epochs, one launch (kernel)" % b["epochs"], "%.2f ms (best %.2f ms)" % (single["kernel_ms"], b["single_best_kernel_ms"]), "<= 30 ms", b["single_best_kernel_ms"] <= 30)
    row("    same, with transfers", "%.2f ms" % single["wall_ms"], "", None)
    row("(b) %d x %d epochs, one launch (kernel)" % (b["models"], b["epochs"]), "%.1f ms (best %.1f ms)" % (batch["kernel_ms"], b["batch_best_kernel_ms"]), "<= 1000 ms", b["batch_best_kernel_ms"] <= 1000)
    row("    same, with transfers", "%.1f ms" % batch["wall_ms"], "", None)
    row("zl-core on the CPU, 1 x %d epochs" % b["epochs"], "%.1f ms" % b["cpu_single_ms"], "", None)
    c = b["single_check"]
    row("(a) losses vs CPU: max |diff|, bit-identical", "%s, %d/%d" % (c["losses_max_diff"], c["losses_bits_equal"], c["epochs"]), "<= 1e-5", c["losses_max_diff"] <= 1e-5)
    row("(a) weights vs CPU: max |diff|, bit-identical", "%s, %d/%d" % (c["weights_max_diff"], c["weights_bits_equal"], c["weights"]), "<= 1e-3", c["weights_max_diff"] <= 1e-3)
    worst = max(x["weights_max_diff"] for x in b["batch_checks"])
    row("(b) sampled seeds vs CPU: weights max |diff|", "%s (%d seeds)" % (worst, len(b["batch_checks"])), "<= 1e-3", worst <= 1e-3)
if t:
    row("(c) PyTorch notebook loop, %d epochs" % t["epochs"], "%.0f ms (%s, torch %s)" % (1e3 * t["seconds"], t["device"], t["torch"]), "", None)
if b and t:
    speedup = 1e3 * t["seconds"] / b["single_best_kernel_ms"]
    row("(c) speed-up of (a) over the PyTorch loop", "%.0fx" % speedup, ">= 50x", speedup >= 50)
    wall = 1e3 * t["seconds"] / next(r for r in b["single"] if r["default"])["wall_ms"]
    row("    same, (a) with transfers", "%.0fx" % wall, "", None)
try:
    ck = (out / "checksum.txt").read_text().split("\n")
    cuda_line = ck[1].removeprefix("cuda: ")
    row("zl --backend cuda train --checksum", cuda_line or "(zl failed)", "= the CPU's line", "equal" in ck)
except Exception:
    pass
print("device: %s" % (b["device"] if b else "?"))
w = [max(len(r[i]) for r in rows) for i in range(4)] if rows else [0] * 4
for r in rows:
    print("  ".join(s.ljust(w[i]) for i, s in enumerate(r)))
if not b:
    print("no zl-cuda timings (gpu_bench failed; see above)")
EOF
[ $status -eq 0 ] && echo "gpu-check: all checks ran; see the table" || echo "gpu-check: FAILED (see above)"
exit $status
