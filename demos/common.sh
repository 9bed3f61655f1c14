# Shared by demos/*/run.sh (sourced, not run): installing what a fresh machine lacks, and
# running a demo under a time limit with its wall time reported. Progress goes to stderr, so a
# demo's stdout, whose last line is the checksum line, stays the demo's own.

note() { printf '%s\n' "$*" >&2; }

# need_target TRIPLE: the rustup target, added if missing.
need_target() {
    if ! rustup target list --installed | grep -qx "$1"; then
        note "installing rustup target $1"
        rustup target add "$1" >&2
    fi
}

# timed LIMIT_S NAME COMMAND...: runs COMMAND with stdin closed, killing it after LIMIT_S
# seconds, and reports its wall and CPU time (CPU time, unlike wall time, hardly depends on
# what else the machine runs). Returns COMMAND's status (124 when it hung).
timed() {
    local limit=$1 name=$2 rc=0
    shift 2
    local TIMEFORMAT="$name: %1R s wall, %1U s CPU"
    time timeout --kill-after=10 "$limit" "$@" </dev/null || rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        note "$name: killed after ${limit} s (raise the limit with ZL_DEMO_TIMEOUT=SECONDS)"
    elif [ "$rc" != 0 ]; then
        note "$name: failed with exit status $rc"
    fi
    return "$rc"
}
