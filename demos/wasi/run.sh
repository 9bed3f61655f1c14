#!/usr/bin/env bash
# Builds the WASI demo for wasm32-wasip1 and runs it under node's built-in WASI (node 20 or
# later), installing the rustup target when missing. Stdout is the demo's own output, ending
# with the checksum line; exits non-zero if the build or the run fails or hangs.
#   run.sh           plain wasm32 (zl-core's loop, scalar f32)
#   run.sh simd128   with -C target-feature=+simd128 (zl-lanes' SIMD128 loop), its own target dir
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../common.sh"
export CARGO_TARGET_DIR="$here/target"
case "${1:-}" in
"") bin=zl-demo-wasi; node_flags=() ;;
simd128)
    bin=simd128
    # V8 runs a wasm function in its baseline compiler (Liftoff) until a later call tiers it
    # up; the whole training loop is one call, so it would run in Liftoff's code throughout
    # (about 1.6× slower, docs/PERFORMANCE.md). Compile it with the optimising compiler.
    node_flags=(--no-liftoff)
    export CARGO_TARGET_DIR="$here/target/simd128"
    export RUSTFLAGS="-C target-feature=+simd128"
    ;;
*) echo "usage: run.sh [simd128]" >&2; exit 2 ;;
esac

need_target wasm32-wasip1
(cd "$here" && cargo build --release --bin "$bin" >&2)
wasm="$CARGO_TARGET_DIR/wasm32-wasip1/release/$bin.wasm"
note "wasm size: $(wc -c <"$wasm") bytes"
# node warns that WASI is experimental on every run; the warning is not the demo's output.
timed "${ZL_DEMO_TIMEOUT:-60}" "node wasi" \
    node --disable-warning=ExperimentalWarning "${node_flags[@]}" "$here/run.mjs" "$wasm"
