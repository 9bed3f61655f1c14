#!/usr/bin/env bash
# Checks every hand-written kernel in kernels/*.ptx without a GPU:
#   1. lints the source for what bit-identity with the CPU core depends on (every f32 add/sub/mul
#      carries .rn, no f32 fma/mad, no .ftz), and for the header comment and the target line;
#   2. assembles it with NVIDIA's ptxas for sm_80 (A100) and sm_90 (H100) with -Werror, printing
#      the registers and spills ptxas reports;
#   3. checks that ptxas does fail on a broken copy, so that a green run means something.
# ptxas comes from PyPI (nvidia-cuda-nvcc, a few seconds), into .tools/ (git-ignored).
# The kernel's logic is tested separately, by kernels/sim/ptxsim.py through cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

NVCC_VERSION=13.0.88
TOOLS=.tools/nvidia-cuda-nvcc-$NVCC_VERSION
fail() { printf 'check-ptx: FAILED: %s\n' "$*" >&2; exit 1; }

PTXAS=$(find "$TOOLS" -type f -name ptxas 2>/dev/null | head -n1 || true)
if [ -z "$PTXAS" ]; then
    log=$(mktemp)
    if ! python3 -m pip install --quiet --disable-pip-version-check --no-deps \
        --target "$TOOLS" "nvidia-cuda-nvcc==$NVCC_VERSION" >"$log" 2>&1; then
        cat "$log" >&2
        fail "pip install nvidia-cuda-nvcc==$NVCC_VERSION (needs PyPI)"
    fi
    rm -f "$log"
    # The binary's folder has moved between releases (cuda_nvcc/bin, cu13/bin): search for it.
    PTXAS=$(find "$TOOLS" -type f -name ptxas | head -n1 || true)
fi
[ -n "$PTXAS" ] || fail "no ptxas inside $TOOLS"
chmod +x "$PTXAS"
echo "ptxas: $PTXAS ($("$PTXAS" --version | tail -n1))"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
shopt -s nullglob
files=(kernels/*.ptx)
[ ${#files[@]} -gt 0 ] || fail "no kernels/*.ptx"

for f in "${files[@]}"; do
    echo "== $f"
    head -n1 "$f" | grep -q '^//' || fail "$f: must open with a header comment"
    grep -qx '.version 7.0' "$f" || fail "$f: expected '.version 7.0'"
    grep -qx '.target sm_80' "$f" || fail "$f: expected '.target sm_80'"
    # Code only (comments stripped), one statement per line as written.
    code=$(sed 's://.*$::' "$f")
    if bad=$(grep -nE '(^|[[:space:];])(add|sub|mul)(\.sat)?\.f32\b' <<<"$code"); then
        fail "$f: f32 add/sub/mul without .rn (ptxas may fuse it into an FMA):"$'\n'"$bad"
    fi
    if bad=$(grep -nE '\b(fma|mad)(\.[a-z]+)*\.f32\b' <<<"$code"); then
        fail "$f: f32 fma/mad rounds once where the CPU rounds twice:"$'\n'"$bad"
    fi
    if bad=$(grep -n '\.ftz' <<<"$code"); then
        fail "$f: .ftz flushes subnormals that the CPU keeps:"$'\n'"$bad"
    fi
    for arch in sm_80 sm_90; do
        if ! "$PTXAS" -arch="$arch" -Werror -v "$f" -o "$work/out.cubin" >"$work/log" 2>&1; then
            cat "$work/log" >&2
            fail "$f does not assemble for $arch"
        fi
        regs=$(grep -oE 'Used [0-9]+ registers' "$work/log" | head -n1)
        spills=$(grep -oE '[0-9]+ bytes spill stores' "$work/log" | sort -u | tr '\n' ' ')
        echo "   $arch: ok ($regs; $spills)"
    done
done

# ptxas must reject broken PTX: a copy of the first kernel with an undeclared register.
sed '0,/add.rn.f32/s/add.rn.f32 \([a-z0-9_]*\),/add.rn.f32 undeclared_register,/' "${files[0]}" >"$work/broken.ptx"
if "$PTXAS" -arch=sm_80 -Werror "$work/broken.ptx" -o "$work/broken.cubin" >"$work/log" 2>&1; then
    fail "ptxas accepted a broken kernel; this check would prove nothing"
fi
echo "== ptxas rejects a broken copy: $(head -n1 "$work/log")"
echo "check-ptx: ${#files[@]} kernel file(s) ok for sm_80 and sm_90"
