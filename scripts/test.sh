#!/usr/bin/env bash
# zl's test command (README: "Run the tests"). It installs what the tests need, then runs them
# all: a fresh clone on a machine without a GPU needs nothing else. CI (.ci/run) runs this file.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "python packages: torch, numpy, safetensors (the PyTorch load test; several GB the first time)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore torch numpy safetensors

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

step "rustup targets (no_std proof)"
rustup target add thumbv7em-none-eabihf >/dev/null

step "zl-core builds for thumbv7em-none-eabihf: no std, no allocator"
cargo build -q -p zl-core --target thumbv7em-none-eabihf

step "formatting and lints"
cargo fmt --all -- --check
cargo clippy -q --workspace --all-targets -- -D warnings

step "unit, golden and CLI tests"
cargo test --workspace --release
