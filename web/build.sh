#!/usr/bin/env bash
# Builds the browser page's WebAssembly module (web/src/lib.rs) for wasm32-unknown-unknown,
# with SIMD128 and without, and writes web/dist/: each build gzipped (the page inflates it with
# the browser's DecompressionStream; gzip takes the two builds from 1.6 MB to about 0.35 MB), and
# SOURCES, the SHA-256 of every file the builds come from. `zl report --interactive` embeds
# web/dist/ as it is checked in, so that building zl needs no wasm toolchain; the test
# external::cross::checked_in_wasm_is_built_from_these_sources fails when SOURCES no longer
# matches the sources, and says to run this script.
#   web/build.sh           build and write web/dist/
#   web/build.sh --sources print what SOURCES should hold, and build nothing
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

sources() {
    # Everything that reaches the module: the three crates' manifests and code, the lock file.
    (cd "$root" && find core/Cargo.toml core/src lanes/Cargo.toml lanes/src web/Cargo.toml \
        web/Cargo.lock web/src web/build.sh -type f | LC_ALL=C sort | xargs sha256sum)
}
if [ "${1:-}" = "--sources" ]; then sources; exit 0; fi

rustup target add wasm32-unknown-unknown >/dev/null
# The stack holds the biggest capacity tier's training state while it is built (about 1.2 MiB
# at 256×64: wasm32's default 1 MiB traps there, 4 MiB runs setup, train, result and ablate);
# the analysis allocates its tables on the heap. Paths are remapped so the bytes do not depend on
# where the clone is.
base="-C link-arg=-zstack-size=4194304 --remap-path-prefix=$root=/zl --remap-path-prefix=$HOME=/home"
build() { # name, extra rustflags
    local dir="$here/target/$1"
    (cd "$here" && CARGO_TARGET_DIR="$dir" RUSTFLAGS="$base $2" \
        cargo build -q --release --locked --target wasm32-unknown-unknown)
    gzip -9 -n -c "$dir/wasm32-unknown-unknown/release/zl_web.wasm" >"$here/dist/$1.wasm.gz.tmp"
    mv "$here/dist/$1.wasm.gz.tmp" "$here/dist/$1.wasm.gz"
    echo "web/dist/$1.wasm.gz: $(wc -c <"$dir/wasm32-unknown-unknown/release/zl_web.wasm") bytes, $(wc -c <"$here/dist/$1.wasm.gz") gzipped" >&2
}
mkdir -p "$here/dist"
build zl-web ""
build zl-web-simd128 "-C target-feature=+simd128"
sources >"$here/dist/SOURCES.tmp"
mv "$here/dist/SOURCES.tmp" "$here/dist/SOURCES"
