#!/usr/bin/env bash
# Builds the microcontroller demo and runs it under QEMU: `run.sh [BOARD...]`, BOARD one of
# mps2-an386 (Cortex-M4F, thumbv7em-none-eabihf, the FPU) and lm3s6965evb (Cortex-M3,
# thumbv7m-none-eabi, soft float, 64 KiB of SRAM); both when none is named. Installs the rustup
# target and QEMU (Debian's qemu-system-arm, through sudo unless root) when missing. Stdout is the demo's own
# output, ending with the checksum line; exits non-zero if a build or run fails or hangs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../common.sh"
# Pinned here so the ELF is where this script looks, whatever CARGO_TARGET_DIR says.
export CARGO_TARGET_DIR="$here/target"

boards=("$@")
[ ${#boards[@]} -gt 0 ] || boards=(mps2-an386 lm3s6965evb)

if ! command -v qemu-system-arm >/dev/null; then
    note "installing qemu-system-arm (Debian)"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm >&2
fi

for board in "${boards[@]}"; do
    # Limits: 5 to 10 times the CPU time measured (docs/EMBEDDED.md), room for a busy machine.
    case $board in
    mps2-an386) target=thumbv7em-none-eabihf limit=${ZL_DEMO_TIMEOUT:-120} ;;
    lm3s6965evb) target=thumbv7m-none-eabi limit=${ZL_DEMO_TIMEOUT:-1200} ;;
    *) note "unknown board '$board': use mps2-an386 or lm3s6965evb"; exit 2 ;;
    esac
    need_target "$target"
    (cd "$here" && cargo build --release --target "$target" >&2)
    elf="$CARGO_TARGET_DIR/$target/release/zl-demo-cortex-m"
    # Flash holds text (vector table, code, read-only data) plus data's initial values.
    note "$board flash: $(size "$elf" | awk 'NR == 2 { print $1 + $2 }') bytes"
    timed "$limit" "qemu $board" qemu-system-arm -M "$board" -nographic \
        -semihosting-config enable=on,target=native -kernel "$elf"
done
