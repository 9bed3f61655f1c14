#!/usr/bin/env bash
# zl's test command (README: "Run the tests"). It installs what the tests need, then runs them
# all: a fresh clone on a machine without a GPU needs nothing else. CI (.ci/run) runs this file.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "python packages: torch, numpy, safetensors (the PyTorch load test; several GB the first time)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore torch numpy safetensors

step "rustup targets (no_std proof)"
rustup target add thumbv7em-none-eabihf >/dev/null

step "zl-core builds for thumbv7em-none-eabihf: no std, no allocator"
cargo build -q -p zl-core --target thumbv7em-none-eabihf

step "formatting and lints"
cargo fmt --all -- --check
cargo clippy -q --workspace --all-targets -- -D warnings

step "unit, golden and CLI tests"
cargo test --workspace --release
