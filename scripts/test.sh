#!/usr/bin/env bash
# zl's test command (README: "Run the tests"). It installs what the tests need, then runs them
# all: a fresh clone on a machine without a GPU needs nothing else. CI (.ci/run) runs this file.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "python packages: torch, numpy, safetensors (the PyTorch load test; several GB the first time)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore torch numpy safetensors

# tests/verbs.rs runs the seed notebook's own class (a TransformerLens HookedRootModule) against
# zl. transformer-lens 4 imports transformers, datasets, pandas and wandb at import time, so
# --no-deps would break `from transformer_lens import HookedRootModule`: measured beside torch,
# about 550 MB more and 33 s the first time.
step "python packages: transformer-lens 4.3.0 (the notebook's hooked class, tests/verbs.rs)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore transformer-lens==4.3.0

step "python packages: dask[distributed] (tests/count.rs maps zl count over shards on a 2-worker Dask LocalCluster)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'dask[distributed]'

step "zl interpret/report: a TTF font for the figures, and Chromium for the report screenshot (tests/report.rs)"
# fonts-dejavu-core: plot.rs measures and draws figure text with DejaVu Sans. chromium: the
# screenshot test renders report.html headless; under CI it fails rather than skips without it.
if ! { [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && command -v chromium >/dev/null; }; then
    if command -v apt-get >/dev/null; then
        sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq fonts-dejavu-core chromium >/dev/null
    else
        echo "no apt-get: install DejaVu Sans and Chromium by hand (or set ZL_FONT and CHROMIUM)" >&2
    fi
fi

# tests/page.rs drives the interactive page in Chromium with playwright-core (no browser download:
# it runs Debian's chromium above), pinned by tests/page/package-lock.json.
step "npm: playwright-core for the interactive page's browser test (tests/page)"
(cd tests/page && npm ci --no-audit --no-fund --silent)

step "rustup targets (no_std proof)"
rustup target add thumbv7em-none-eabihf >/dev/null

step "zl-core builds for thumbv7em-none-eabihf: no std, no allocator"
cargo build -q -p zl-core --target thumbv7em-none-eabihf

# --- CUDA backend (zl-cuda, kernels/): no GPU needed -------------------------------------------
# ptxas (from PyPI) assembles every hand-written kernel for sm_80 and sm_90; the kernel's logic
# runs in kernels/sim/ptxsim.py inside `cargo test` (tests/backends.rs, the *_ptxsim tests).
step "hand-written PTX assembles for sm_80 and sm_90 (scripts/check-ptx.sh)"
scripts/check-ptx.sh
# --- end of the CUDA section ---------------------------------------------------------------------

step "formatting and lints"
cargo fmt --all -- --check
cargo clippy -q --workspace --all-targets -- -D warnings

step "unit, golden and CLI tests"
cargo test --workspace --release

# --- aarch64 (NEON) under qemu-aarch64 user mode (issue 14) -----------------------------------
# zl-lanes' tests built for aarch64-unknown-linux-musl (static, linked by rustup's rust-lld, so no
# cross toolchain) and run under Debian's qemu-user: NEON and portable against zl-core bit for bit,
# and both printing docs/PERFORMANCE.md's checksum lines, the host's (lanes/tests/checksums.rs).
step "zl-lanes on aarch64 under qemu-aarch64: NEON and portable print the host's checksum lines"
rustup target add aarch64-unknown-linux-musl >/dev/null
if ! command -v qemu-aarch64 >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-user >/dev/null
fi
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld \
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER=qemu-aarch64 \
    cargo test -q --release -p zl-lanes --target aarch64-unknown-linux-musl --lib --test checksums
# --- end of the aarch64 section ------------------------------------------------------------------

# The one-call GPU check (docs/GPU.md), dry-run here without a GPU: the programs it carries build,
# it writes every file, exits 2 ("no GPU") and its table says so, so that the first GPU session
# cannot lose its minutes to a broken harness.
step "the GPU check, dry-run without a GPU (scripts/gpu-check.sh --prepare, then the check)"
scripts/gpu-check.sh --prepare 2>/dev/null
gpu_out=$(mktemp -d)
gpu_rc=0
OUT=$gpu_out scripts/gpu-check.sh >"$gpu_out.log" 2>&1 || gpu_rc=$?
for f in env.txt table.txt tests.log bench.json zl.log; do
    [ -s "$gpu_out/$f" ] || { cat "$gpu_out.log" >&2; echo "gpu-check dry run: no $f" >&2; exit 1; }
done
if [ "$gpu_rc" -ne 2 ] || ! grep -q "no GPU" "$gpu_out/table.txt"; then
    cat "$gpu_out.log" >&2
    echo "gpu-check dry run: exit $gpu_rc (want 2, no GPU) or its table does not say no GPU" >&2
    exit 1
fi
echo "gpu-check dry run: exit 2 (no GPU), $(ls "$gpu_out" | wc -l) files"

# --- demos (docs/EMBEDDED.md) ---------------------------------------------------------------
# tests/demos.rs, run above by `cargo test`, builds and runs demos/cortex-m on QEMU (two boards)
# and demos/wasi under node, each run.sh installing QEMU and the rustup targets it needs. The
# demos are workspaces of their own, so the workspace's fmt and clippy above do not see them.
step "demos: formatting and lints of their own code (zl-core's are checked above)"
rustup target add wasm32-wasip1 >/dev/null
for demo in seed-train cortex-m wasi own-model; do
    (cd "demos/$demo" && cargo fmt -- --check && cargo clippy -q --no-deps -- -D warnings)
done
# web/: the interactive page's WebAssembly module, linted for the target it is built for.
rustup target add wasm32-unknown-unknown >/dev/null
(cd web && cargo fmt -- --check && cargo clippy -q --no-deps --target wasm32-unknown-unknown -- -D warnings)
