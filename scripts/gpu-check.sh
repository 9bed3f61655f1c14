#!/usr/bin/env bash
# The GPU check: one call, on a machine with an NVIDIA GPU, that cannot waste
# its device time. A GPU machine is lent to this project only now and then, for about 15 minutes
# in all, its start included, so one call must give a dated, traceable result table, or a precise
# reason for failing, and leave time for a rerun. In order:
#   1. env.txt: the date, the build's commit (from STAMP), nvidia-smi (GPU, driver, clocks,
#      power), glibc, the CUDA driver API version and what the JIT made of the kernel;
#   2. the CUDA tests (tests/backends, every *_cuda test, and its `large` module, the path
#      above 48 KiB of shared memory) with ZL_REQUIRE_GPU=1, so that none can skip;
#   3. gpu_bench (cuda/examples/gpu_bench/): about 1 s of warm-up, then (a) one seed-model run
#      of 10,000 epochs and (b) 1,024 seeds x 10,000 epochs, each one launch, 5 times each at the
#      default block size and then at others, each compared with the CPU core;
#   4. the notebook's PyTorch loop on the same GPU (bench/peers/torch_gpu_loop.py), timed alike;
#   5. `zl --backend cuda train --checksum` against the CPU backend's line;
#   6. compute-sanitizer (racecheck, initcheck, synccheck) on a 3-epoch, 4-model run, where the
#      tool is installed and time is left;
#   7. gpu_bench --big: the tiled kernels (kernels/big.ptx) at V = 5,000 and 50,257, d_model 64,
#      on a Zipf-like sparse table from a fixed seed, timed, and their first epochs checked
#      against the CPU bit for bit (2 epochs at 5,000; 1 at 50,257 where the budget holds it);
#   8. table.txt, last.
#
# Usage
#   scripts/gpu-check.sh --prepare   # where Rust is (no GPU needed): build the three programs into
#                                    # target/gpu-bin/ with a STAMP, to carry to the GPU machine
#   scripts/gpu-check.sh             # on the GPU machine (no cargo or network needed)
#   scripts/gpu-check.sh --simulate  # anywhere, after --prepare: the same run with the PTX
#                                    # interpreter for the GPU and tiny sizes, to check this
#                                    # script and its table, not the kernel's speed
# Output: at most 8 flat files in $OUT (the device tool's output folder), else target/gpu-check/:
#   env.txt tests.log bench.json bench.log torch.log zl.log big.log table.txt
# (the device tool returns at most 8; compute-sanitizer's section follows the checksums in zl.log)
# Time: every step runs under `timeout`; each is also cut to what is left of a 360 s budget (ZL_GPU_CHECK_BUDGET_S may lower it), so one call ends within
# about 6 minutes; give the device tool a limit of about 480 s.
# Exit status: 0 every check ran and passed; 1 something failed or did not run; 2 no GPU here
# (a dry run: every file is still written, and the table says "no GPU").
# docs/GPU.md, "Checking on a GPU", says how to run it.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BIN=target/gpu-bin
PROGRAMS=(gpu_bench zl backends)
FILES=(env.txt tests.log bench.json bench.log torch.log zl.log big.log table.txt)
# The line that starts compute-sanitizer's section of zl.log (the table reads what follows it).
SAN_HEADER="== compute-sanitizer (step 6)"
say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'gpu-check: %s\n' "$*" >&2; exit 1; }

# What the programs are built from: the three crates, the kernels and the tests they carry. The
# hash tells whether target/gpu-bin/ still matches the sources beside it.
source_hash() {
    find core lanes cuda cli kernels tests/backends tests/support Cargo.toml \
        Cargo.lock -type f \
        \( -name '*.rs' -o -name '*.ptx' -o -name '*.py' -o -name '*.toml' -o -name Cargo.lock \) \
        -not -path '*/target/*' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16
}

# --prepare: builds gpu_bench, zl and the test binary `backends` and copies them, from wherever cargo
# put them (cargo's own JSON messages name each executable, so CARGO_TARGET_DIR is respected),
# into $BIN with a STAMP: the source hash, the commit and whether the tree was dirty, since .git
# may not travel to the GPU machine.
prepare() {
    command -v cargo >/dev/null || die "--prepare needs cargo"
    command -v python3 >/dev/null || die "--prepare needs python3 (to read cargo's JSON messages)"
    local json stage
    json=$(mktemp) stage=$(mktemp -d)
    local fmt=--message-format=json-render-diagnostics
    cargo build --release -q "$fmt" -p zl-cuda --example gpu_bench >>"$json" || die "building gpu_bench failed"
    cargo build --release -q "$fmt" -p zl-cli --bin zl >>"$json" || die "building zl failed"
    cargo test --release -q "$fmt" --test backends --no-run >>"$json" ||
        die "building the test binaries failed"
    python3 - "$json" "$stage" "${PROGRAMS[@]}" <<'EOF' || die "cargo did not report every program"
import json, shutil, sys
path, stage, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3:])
found = {}
for line in open(path):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in wanted:
        found[m["target"]["name"]] = m["executable"]
missing = wanted - found.keys()
if missing:
    sys.exit("gpu-check: cargo reported no executable for " + ", ".join(sorted(missing)))
for name, exe in found.items():
    shutil.copy2(exe, f"{stage}/{name}")
EOF
    local commit dirty
    commit=$(git rev-parse HEAD 2>/dev/null || echo "unknown (no git)")
    dirty=$(git status --porcelain 2>/dev/null | awk '{print $2}' | head -n 8 | tr '\n' ' ')
    {
        echo "sources $(source_hash)"
        if [ -n "$dirty" ]; then
            echo "commit $commit, tree DIRTY ($(git status --porcelain | wc -l) paths: ${dirty% })"
        else
            echo "commit $commit, tree clean"
        fi
        echo "built $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -m), $(ldd --version 2>/dev/null | head -n1), $(rustc --version 2>/dev/null)"
    } >"$stage/STAMP"
    if ! { rm -rf "$BIN" && mkdir -p "$(dirname "$BIN")" && cp -r "$stage" "$BIN"; }; then
        die "cannot write $BIN"
    fi
    rm -rf "$json" "$stage"
    du -sh "$BIN" >&2
    cat "$BIN/STAMP" >&2
    echo "built $BIN; carry it to the GPU machine (device tool: carry [\"$BIN\"])" >&2
}

if [ "${1:-}" = "--prepare" ]; then
    [ $# -eq 1 ] || die "--prepare takes no other argument"
    prepare
    exit 0
fi
SIM=0
case "${1:-}" in
"") ;;
--simulate) SIM=1 ;;
*) die "unknown argument '$1' (expected nothing, --prepare or --simulate)" ;;
esac

# ---- the budget ----------------------------------------------------------------------------------
BUDGET=360
if [ -n "${ZL_GPU_CHECK_BUDGET_S:-}" ]; then
    if ! [[ "$ZL_GPU_CHECK_BUDGET_S" =~ ^[0-9]+$ ]] || [ "$ZL_GPU_CHECK_BUDGET_S" -gt 360 ]; then
        die "ZL_GPU_CHECK_BUDGET_S=$ZL_GPU_CHECK_BUDGET_S: a whole number of seconds up to 360"
    fi
    BUDGET=$ZL_GPU_CHECK_BUDGET_S
fi
T0=$SECONDS
NOT_RUN=200 # the status of a step that did not start for lack of time
# A step's time limit: its own cap, or what is left of the budget less 10 s kept for the table,
# whichever is less; 0 when under 3 s would be left.
limit() {
    local l=$((BUDGET - (SECONDS - T0) - 10))
    [ "$l" -gt "$1" ] && l=$1
    [ "$l" -lt 3 ] && l=0
    echo "$l"
}
# capped CAP COMMAND...: runs COMMAND under timeout (TERM at the limit, KILL 3 s later).
capped() {
    local t
    t=$(limit "$1")
    shift
    if [ "$t" -eq 0 ]; then
        echo "gpu-check: not run: out of time (budget ${BUDGET} s)"
        return $NOT_RUN
    fi
    timeout -k 3 "$t" "$@"
}

OUTDIR=${OUT:-target/gpu-check}
mkdir -p "$OUTDIR" || die "cannot create the output folder $OUTDIR"
for f in "${FILES[@]}"; do rm -f "${OUTDIR:?}/$f"; done
ENV=$OUTDIR/env.txt
SCRATCH=$(mktemp -d)
SMI_PID=""
trap '[ -n "$SMI_PID" ] && kill "$SMI_PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT
DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
status=0

say "1. the machine, the build, the GPU and the kernel (env.txt)"
{
    echo "zl gpu-check, $DATE"
    [ "$SIM" -eq 1 ] && echo "mode: SIMULATED (--simulate: the PTX interpreter stands for the GPU)"
    echo "machine: $(uname -srm), $(nproc 2>/dev/null) CPUs"
    echo "glibc: $(ldd --version 2>/dev/null | head -n1)"
    echo "python3: $(python3 --version 2>&1)"
} >"$ENV"

# The programs: target/gpu-bin/ as --prepare left it. Stale ones (sources edited since) still
# run, marked STALE: building here would spend the GPU's time, and STAMP names their commit.
# Only where there are none and cargo is here does this build them first.
have_programs() { for p in "${PROGRAMS[@]}"; do [ -f "$BIN/$p" ] || return 1; done; }
STALE=""
if ! have_programs; then
    if command -v cargo >/dev/null; then
        echo "no $BIN; building it here with $(cargo --version), within the budget" | tee -a "$ENV" >&2
        capped 240 bash "$0" --prepare >>"$ENV" 2>&1
    fi
    if ! have_programs; then
        echo "no programs: $BIN/ is missing or incomplete and cannot be built here" >>"$ENV"
        printf 'zl gpu-check  %s\nNOT RUN: %s/ is missing or incomplete (run scripts/gpu-check.sh --prepare where Rust is, and carry %s)\n' \
            "$DATE" "$BIN" "$BIN" | tee "$OUTDIR/table.txt"
        die "no programs in $BIN/: run 'scripts/gpu-check.sh --prepare' where Rust is and carry $BIN (device tool: carry [\"$BIN\"])"
    fi
fi
STAMP_TEXT=$(cat "$BIN/STAMP" 2>/dev/null || echo "sources unknown (no STAMP)")
built_from=$(sed -n 's/^sources //p' <<<"$STAMP_TEXT")
here=$(source_hash 2>/dev/null || echo unknown)
if [ "$built_from" != "$here" ]; then
    STALE="the programs were built from sources $built_from, these are $here"
fi
# The carried folder may have lost its executable bits, or sit on a read-only or noexec mount:
# set the bits, and if the programs still cannot start, run copies from a scratch folder.
RUN=$BIN
chmod +x "${PROGRAMS[@]/#/$BIN/}" 2>/dev/null
probe=$("$RUN/gpu_bench" --no-such-flag 2>&1)
if [ $? -ne 2 ]; then
    mkdir -p "$SCRATCH/bin" && cp "${PROGRAMS[@]/#/$BIN/}" "$SCRATCH/bin/" && chmod +x "$SCRATCH"/bin/*
    RUN=$SCRATCH/bin
    probe=$("$RUN/gpu_bench" --no-such-flag 2>&1)
    if [ $? -ne 2 ]; then
        echo "the programs cannot run here: $probe" >>"$ENV"
        printf 'zl gpu-check  %s\nNOT RUN: the programs in %s cannot run here: %s\n' "$DATE" "$BIN" "$probe" |
            tee "$OUTDIR/table.txt"
        die "the programs cannot run here: $probe (they need glibc >= the build machine's, see STAMP)"
    fi
fi
{
    echo
    echo "== the build (STAMP of $BIN, written by --prepare)"
    echo "$STAMP_TEXT"
    echo "programs: ${STALE:+STALE: }${STALE:-current (built from these sources)}; running from $RUN"
} >>"$ENV"

smi() { capped 5 nvidia-smi --query-gpu=name,driver_version,pstate,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,power.draw,power.limit,temperature.gpu,memory.total --format=csv 2>&1; }
{
    echo
    echo "== nvidia-smi, before the run"
    if command -v nvidia-smi >/dev/null; then smi; else echo "nvidia-smi not found"; fi
    echo
    echo "== the driver and the kernel (gpu_bench --info: cuDriverGetVersion, cuFuncGetAttribute, the JIT's log)"
} >>"$ENV"
if [ "$SIM" -eq 1 ]; then
    capped 20 "$RUN/gpu_bench" --info --simulated >>"$ENV" 2>&1
    GPU_STATE=sim
else
    capped 20 "$RUN/gpu_bench" --info >"$SCRATCH/info" 2>&1
    rc=$?
    cat "$SCRATCH/info" >>"$ENV"
    case $rc in
    0) GPU_STATE=ok ;;
    2) GPU_STATE=none ;; # no driver or no GPU: its one line says which
    *) GPU_STATE=broken ;; # a GPU, but the kernel did not load (the JIT's log is above)
    esac
fi
NOGPU_REASON=$(sed -n 's/^gpu_bench: //p' "$SCRATCH/info" 2>/dev/null | head -n1)
CS=$(command -v compute-sanitizer)
for c in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda-*/bin/compute-sanitizer; do
    [ -z "$CS" ] && [ -x "$c" ] && CS=$c
done
{
    echo
    echo "== compute-sanitizer: ${CS:-not installed}"
    [ -n "$CS" ] && capped 5 "$CS" --version 2>&1 | tail -n1
} >>"$ENV"
echo "GPU: $GPU_STATE ${NOGPU_REASON}" >&2

say "2. the CUDA tests (tests.log)"
if [ "$GPU_STATE" = none ]; then
    # Nothing to run them on: without ZL_REQUIRE_GPU they skip, each saying why.
    req=()
    echo "no GPU: the _cuda tests run without ZL_REQUIRE_GPU and skip, saying why" >"$OUTDIR/tests.log"
else
    req=(ZL_REQUIRE_GPU=1)
    : >"$OUTDIR/tests.log"
fi
if [ "$SIM" -eq 1 ]; then
    backends_filter=(opening_without models_beyond)
    # The interpreter's 64x64 model takes about 11 s on an idle machine; a shared one is slower.
    large_filter=(large::large_shared_memory_matches_cpu_ptxsim)
    large_cap=60
else
    backends_filter=(_cuda opening_without models_beyond --skip large::)
    large_filter=(large::large_shared_memory_matches_cpu_cuda)
    large_cap=20
fi
for t in "backends 50 ${backends_filter[*]}" "backends $large_cap ${large_filter[*]}"; do
    read -r name cap filters <<<"$t"
    echo "== $name $filters" >>"$OUTDIR/tests.log"
    # shellcheck disable=SC2086 # the filters are separate words
    capped "$cap" env "${req[@]}" "$RUN/$name" $filters --test-threads=1 --show-output \
        >>"$OUTDIR/tests.log" 2>&1
    rc=$?
    echo "== $name: exit status $rc" >>"$OUTDIR/tests.log"
    [ $rc -eq 0 ] || status=1
done
tail -n 3 "$OUTDIR/tests.log" >&2

say "3. gpu_bench: (a) 1 x 10,000 epochs, (b) 1,024 x 10,000 epochs, one launch each (bench.json, bench.log)"
# gpu_bench's own budget for its block-size sweeps ends 15 s before its time limit, which the
# call's budget may have cut below 90 s: the headline figures and the CPU checks come first.
bench_budget=$(($(limit 90) - 15))
[ "$bench_budget" -lt 1 ] && bench_budget=1
if [ "$SIM" -eq 1 ]; then
    bench_args=(--simulated --epochs 2 --models 2 --repeats 2 --budget-s "$bench_budget")
else
    bench_args=(--epochs 10000 --models 1024 --repeats 5 --budget-s "$bench_budget")
fi
# The clocks and power while it runs, twice a second, into env.txt: the timings mean something
# only at the clocks the GPU reaches under load.
if [ "$GPU_STATE" = ok ] && command -v nvidia-smi >/dev/null; then
    timeout 100 nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu \
        --format=csv,noheader -lms 500 >"$SCRATCH/smi" 2>&1 &
    SMI_PID=$!
fi
capped 90 "$RUN/gpu_bench" "${bench_args[@]}" >"$OUTDIR/bench.json" 2>"$OUTDIR/bench.log"
rc=$?
echo "gpu_bench: exit status $rc" >>"$OUTDIR/bench.log"
[ $rc -eq 0 ] || status=1
if [ -n "$SMI_PID" ]; then
    kill "$SMI_PID" 2>/dev/null
    wait "$SMI_PID" 2>/dev/null
    SMI_PID=""
    {
        echo
        echo "== nvidia-smi during gpu_bench (timestamp, SM clock, memory clock, power, temperature)"
        cat "$SCRATCH/smi"
    } >>"$ENV"
fi
tail -n 2 "$OUTDIR/bench.log" >&2

say "4. the notebook's PyTorch loop on the same GPU (torch.log)"
# Its budget (for starting another repeat) ends 10 s before its time limit.
torch_budget=$(($(limit 60) - 10))
[ "$torch_budget" -lt 1 ] && torch_budget=1
if [ "$SIM" -eq 1 ]; then
    torch_args=(--device cpu --epochs 200 --repeats 5 --budget-s "$torch_budget")
else
    torch_args=(--epochs 10000 --repeats 5 --budget-s "$torch_budget")
fi
if command -v python3 >/dev/null; then
    capped 60 python3 bench/peers/torch_gpu_loop.py "${torch_args[@]}" >"$OUTDIR/torch.log" 2>&1
    rc=$?
else
    echo "torch_gpu_loop: python3 not found" >"$OUTDIR/torch.log"
    rc=127
fi
echo "torch_gpu_loop: exit status $rc" >>"$OUTDIR/torch.log"
[ $rc -eq 0 ] || status=1
tail -n 2 "$OUTDIR/torch.log" >&2

say "5. zl --backend cuda train --checksum, against the CPU backend (zl.log)"
zl_args=(train --checksum)
[ "$SIM" -eq 1 ] && zl_args+=(--epochs 2)
{
    echo "== zl ${zl_args[*]} (CPU)"
    capped 10 "$RUN/zl" "${zl_args[@]}" >"$SCRATCH/cpu" 2>&1
    echo "exit status $?"
    cat "$SCRATCH/cpu"
    echo "== zl --backend cuda ${zl_args[*]}"
    if [ "$SIM" -eq 1 ]; then
        capped 30 "$RUN/zl" --backend ptxsim "${zl_args[@]}" >"$SCRATCH/cuda" 2>&1
    else
        capped 30 "$RUN/zl" --backend cuda "${zl_args[@]}" >"$SCRATCH/cuda" 2>&1
    fi
    echo "exit status $?"
    cat "$SCRATCH/cuda"
    cpu_line=$(grep '^epochs=' "$SCRATCH/cpu" | tail -n1)
    cuda_line=$(grep '^epochs=' "$SCRATCH/cuda" | tail -n1)
    echo "== the checksum lines"
    echo "cpu: $cpu_line"
    echo "cuda: $cuda_line"
    if [ -n "$cuda_line" ] && [ "$cuda_line" = "$cpu_line" ]; then
        echo "verdict: equal"
    else
        echo "verdict: differ (or a run failed: see above)"
    fi
} >"$OUTDIR/zl.log" 2>&1
grep -q '^verdict: equal' "$OUTDIR/zl.log" || status=1
tail -n 3 "$OUTDIR/zl.log" >&2

say "6. compute-sanitizer on a 3-epoch, 4-model run, if installed and time is left (zl.log)"
SAN=$SCRATCH/sanitizer
{
    echo "$SAN_HEADER"
    if [ "$GPU_STATE" = sim ]; then
        echo "result all: not run: --simulate (the interpreter checks races and barriers itself)"
    elif [ "$GPU_STATE" = none ]; then
        echo "result all: not run: no GPU"
    elif [ "$GPU_STATE" != ok ]; then
        echo "result all: not run: the kernel did not load (see env.txt)"
    elif [ -z "$CS" ]; then
        echo "result all: not run: compute-sanitizer is not installed"
    else
        for tool in racecheck initcheck synccheck; do
            if [ "$(limit 20)" -lt 20 ]; then
                echo "result $tool: not run: out of time"
                continue
            fi
            echo "== compute-sanitizer --tool $tool"
            capped 20 "$CS" --tool "$tool" --error-exitcode 9 --print-limit 20 \
                "$RUN/zl" --backend cuda train --seeds 0..4 --epochs 3 >"$SCRATCH/cs" 2>&1
            rc=$?
            cat "$SCRATCH/cs"
            # initcheck and synccheck end on "ERROR SUMMARY: N errors", racecheck on
            # "RACECHECK SUMMARY: N hazards displayed (N errors, N warnings)".
            summary=$(grep -E '(ERROR|RACECHECK) SUMMARY' "$SCRATCH/cs" | tail -n1 | sed 's/^=* *//')
            echo "result $tool: exit status $rc, ${summary:-no SUMMARY line}"
        done
    fi
} >"$SAN" 2>&1
cat "$SAN" >>"$OUTDIR/zl.log"
grep -q '^result .*exit status [^0]' "$SAN" && status=1
tail -n 3 "$SAN" >&2

say "7. gpu_bench --big: the tiled kernels at large V, timed and checked against the CPU (big.log)"
# Its own budget ends 15 s before its time limit; the CPU check it foresees past it is skipped
# and says so.
big_budget=$(($(limit 200) - 15))
[ "$big_budget" -lt 1 ] && big_budget=1
if [ "$SIM" -eq 1 ]; then
    big_args=(--simulated --big 40:2,70:1 --big-d 4 --big-epochs 1 --repeats 2 --budget-s "$big_budget")
else
    big_args=(--big 5000:2,50257:1 --big-d 64 --big-epochs 3 --repeats 3 --budget-s "$big_budget")
fi
if [ "$GPU_STATE" = none ]; then
    echo "gpu_bench --big: not run: no GPU" >"$OUTDIR/big.log"
    echo "gpu_bench --big: exit status 2" >>"$OUTDIR/big.log"
else
    capped 200 "$RUN/gpu_bench" "${big_args[@]}" >"$OUTDIR/big.log" 2>&1
    rc=$?
    echo "gpu_bench --big: exit status $rc" >>"$OUTDIR/big.log"
    [ $rc -eq 0 ] || status=1
fi
tail -n 2 "$OUTDIR/big.log" >&2

say "8. the table (table.txt)"
export GC_DATE="$DATE" GC_STATE="$GPU_STATE" GC_NOGPU="$NOGPU_REASON" GC_STALE="$STALE"
export GC_STAMP="$STAMP_TEXT" GC_SMI="$SCRATCH/smi" GC_BUDGET="$BUDGET" GC_SAN_HEADER="$SAN_HEADER"
export GC_ELAPSED=$((SECONDS - T0))
if command -v python3 >/dev/null; then
    if ! python3 - "$OUTDIR" >"$OUTDIR/table.txt" 2>&1 <<'EOF'
import json, os, pathlib, re, statistics, sys

out = pathlib.Path(sys.argv[1])
E = os.environ
state = E["GC_STATE"]  # ok, none (no GPU), broken (the kernel did not load), sim
sim, nogpu = state == "sim", state == "none"


def text(name):
    try:
        return (out / name).read_text(errors="replace")
    except OSError:
        return ""


def records(name):
    recs = []
    for line in text(name).splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                recs.append(json.loads(line))
            except ValueError:
                pass
    return recs


def last_words(name):
    """Why a step stopped: timed out or not started, from its exit status, else the last line of
    its log that is neither JSON nor an exit status."""
    t = text(name)
    codes = re.findall(r"exit status (\d+)", t)
    if codes and codes[-1] in ("124", "137"):
        return "timed out (exit status %s)" % codes[-1]
    if codes and codes[-1] == "200":
        return "not run: out of time"
    lines = [l for l in t.splitlines() if l.strip() and not l.startswith("{") and "exit status" not in l]
    return lines[-1].strip() if lines else "(no output)"


rows = []


def row(what, value, goal="", ok=None):
    rows.append((what, value, goal, "-" if ok is None else ("ok" if ok else "MISSED")))


def timing_ok(cond):
    # Timings in the interpreter mean nothing; the goals are a GPU's.
    return None if sim else cond


NO = "no GPU" + (f" ({E['GC_NOGPU']})" if E.get("GC_NOGPU") else "")

# The CUDA tests' verdict, from libtest's own summary lines.
t = text("tests.log")
passed = sum(int(m[1]) for m in re.finditer(r"test result: \w+\. (\d+) passed", t))
failed = sum(int(m[1]) for m in re.finditer(r"test result: \w+\. \d+ passed; (\d+) failed", t))
skipped = len(re.findall(r": skipped, ", t))
summaries = len(re.findall(r"test result: ", t))
binaries = len(re.findall(r"^== \S+: exit status", t, re.M))
what = "CUDA tests (backends _cuda, large)" if not sim else "tests (backends large _ptxsim, open/refuse)"
if nogpu:
    row(what, f"no GPU: {skipped} skipped; the {passed - skipped} others: {passed - skipped} passed, {failed} failed",
        "all pass, none skipped")
else:
    v = f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")
    if summaries < binaries:
        v += f"; {binaries - summaries} binary(ies) gave no summary (timed out or crashed)"
    row(what, v, "all pass, none skipped", failed == 0 and passed > 0 and skipped == 0 and summaries == binaries == 2)

# gpu_bench.
b = records("bench.json")
kind = lambda k: [r for r in b if r.get("kind") == k]
opened = kind("open")
times = [r for r in kind("time") if "kernel_median_ms" in r or "error" in r]
checks = kind("check")
done = kind("done")
if nogpu:
    for w in ("(a) 1 x 10000 epochs, one launch", "(b) 1024 x 10000 epochs, one launch"):
        row(w, "no GPU", "")
elif opened:
    row("gpu_bench", "did not start: " + opened[0].get("error", "?"), "", False)
elif not b:
    row("gpu_bench", "no results: " + last_words("bench.log"), "", False)
else:
    d = kind("device")[0] if kind("device") else {}
    for part, label, goal_ms in (("single", "(a) 1 x %d epochs, one launch" % d.get("epochs", 0), 30),
                                 ("batch", "(b) %d x %d epochs, one launch" % (d.get("models", 0), d.get("epochs", 0)), 1000)):
        dflt = [r for r in times if r["part"] == part and r.get("default")]
        if not dflt:
            row(label, "not measured (cut short: see bench.log)", "<= %d ms" % goal_ms, False)
            continue
        r = dflt[0]
        if r.get("kernel_median_ms") is None:
            row(label, "launch FAILED: " + r.get("error", "?"), "<= %d ms" % goal_ms, False)
            continue
        n = r["repeats"]
        note = "" if n >= 5 or sim else ", FEWER than 5"
        row(label + ", kernel", "median %.3f ms, min %.3f ms (%d runs%s, %s threads)" % (
            r["kernel_median_ms"], r["kernel_min_ms"], n, note, r.get("threads_used")),
            "<= %d ms" % goal_ms, timing_ok(r["kernel_median_ms"] <= goal_ms))
        row("    same, with transfers", "median %.3f ms, min %.3f ms" % (r["wall_median_ms"], r["wall_min_ms"]))
        if "error" in r:
            row("    a later repeat", "launch FAILED: " + r["error"], "", False)
        best = min((x for x in times if x["part"] == part and x.get("kernel_median_ms") is not None),
                   key=lambda x: x["kernel_median_ms"])
        swept = sum(1 for x in kind("time") if x["part"] == part and not x.get("default") and "kernel_median_ms" in x)
        cut = sum(1 for x in kind("time") if x["part"] == part and "skipped" in x)
        row("    best block size (%d swept%s)" % (swept, ", %d skipped" % cut if cut else ""),
            "%s threads: median %.3f ms" % (best.get("threads_used"), best["kernel_median_ms"]))
    for c in kind("cpu"):
        row("zl-core on the CPU, 1 x %d epochs" % c["epochs"], "%.1f ms" % c["ms"])
    for c in [c for c in checks if c["part"] == "single"]:
        row("(a) losses vs CPU: max |diff|, bit-identical",
            "%g, %d/%d" % (c["losses_max_diff"], c["losses_bits_equal"], c["epochs"]), "<= 1e-5", c["losses_max_diff"] <= 1e-5)
        row("(a) weights vs CPU: max |diff|, bit-identical",
            "%g, %d/%d" % (c["weights_max_diff"], c["weights_bits_equal"], c["weights"]), "<= 1e-3", c["weights_max_diff"] <= 1e-3)
    bc = [c for c in checks if c["part"] == "batch"]
    if bc:
        worst = max(c["weights_max_diff"] for c in bc)
        same = sum(c["final_loss_bits_equal"] for c in bc)
        row("(b) sampled seeds vs CPU: weights max |diff|",
            "%g (%d seeds, %d with the CPU's final-loss bits)" % (worst, len(bc), same), "<= 1e-3", all(c["ok"] for c in bc))
    w = kind("warmup")
    if w:
        row("warm-up before timing", "%d launch(es) in %.2f s" % (w[0]["launches"], w[0]["seconds"]) +
            (" (FAILED: %s)" % w[0]["error"] if w[0].get("error") else ""), "about 1 s", w[0].get("error") is None)
    nondet = [r for r in times if r.get("deterministic") is False]
    fails = [r for r in times if "error" in r]
    row("launch errors; repeats with equal bits", "%d; %s" % (len(fails), "all" if not nondet else "%d configs DIFFER" % len(nondet)),
        "0; all", not fails and not nondet)
    if not done:
        row("gpu_bench", "cut short before its end: " + last_words("bench.log"), "", False)

# The clocks during gpu_bench (nvidia-smi, twice a second).
try:
    clocks = [float(m[1]) for m in re.finditer(r", (\d+) MHz, \d+ MHz,", pathlib.Path(E["GC_SMI"]).read_text())]
except OSError:
    clocks = []
if clocks:
    row("SM clock during gpu_bench", "median %.0f MHz, max %.0f MHz (%d samples)" % (
        statistics.median(clocks), max(clocks), len(clocks)))

# The PyTorch loop.
tr = records("torch.log")
summary = [r for r in tr if r.get("kind") == "summary"]
reps = [r["seconds"] for r in tr if r.get("kind") == "repeat"]
single = [r for r in times if r["part"] == "single" and r.get("default") and r.get("kernel_median_ms")]
if summary or reps:
    s = summary[0] if summary else {"median_seconds": statistics.median(reps), "min_seconds": min(reps), "repeats": len(reps),
                                     "device": "?", "torch": "?", "epochs": "?"}
    row("(c) the notebook's PyTorch loop, %s epochs" % s["epochs"], "median %.0f ms, min %.0f ms (%d runs, %s, torch %s)" % (
        1e3 * s["median_seconds"], 1e3 * s["min_seconds"], s["repeats"], s["device"], s["torch"]),
        "", None if s["repeats"] >= 5 or sim else False)
    if single and isinstance(s["epochs"], int):
        # Per epoch, so that a run of other lengths (--simulate) still compares like with like;
        # on a GPU both run 10,000 epochs.
        k, per = single[0], s["epochs"] / single[0]["epochs"]
        ratio = lambda torch_s, zl_ms: 1e3 * torch_s / (zl_ms * per)
        row("(c) speed-up of (a) over the PyTorch loop", "%.1fx (medians; %.1fx min to min)" % (
            ratio(s["median_seconds"], k["kernel_median_ms"]), ratio(s["min_seconds"], k["kernel_min_ms"])),
            ">= 50x", timing_ok(ratio(s["median_seconds"], k["kernel_median_ms"]) >= 50))
        row("    same, (a) with transfers", "%.1fx" % ratio(s["median_seconds"], k["wall_median_ms"]))
elif nogpu:
    row("(c) the notebook's PyTorch loop", "no GPU (%s)" % last_words("torch.log"))
else:
    row("(c) the notebook's PyTorch loop", "did not run: " + last_words("torch.log"), "", False)

# The headline command, then compute-sanitizer's section (zl.log holds both, in that order).
z, _, sanitizer = text("zl.log").partition(E["GC_SAN_HEADER"])
cuda_line = re.search(r"^cuda: (.*)$", z, re.M)
if nogpu:
    row("zl --backend cuda train --checksum", "no GPU")
else:
    why = "not run: out of time" if "not run: out of time" in z else "zl failed: see zl.log"
    row("zl --backend cuda train --checksum", (cuda_line[1] if cuda_line and cuda_line[1] else why),
        "= the CPU's line", "verdict: equal" in z)

# compute-sanitizer.
for m in re.finditer(r"^result (\w+): (.*)$", sanitizer, re.M):
    tool, v = m[1], m[2]
    ran = v.startswith("exit status")
    ok = (v.startswith("exit status 0,") and re.search(r"(?<![0-9])0 errors", v) is not None) if ran else None
    row(("compute-sanitizer " + (tool if tool != "all" else "")).strip(), ("no GPU" if nogpu else v),
        "0 errors" if ran else "", ok)

# The tiled kernels at large V (gpu_bench --big).
g = records("big.log")
gk = lambda k: [r for r in g if r.get("kind") == k]
if nogpu:
    row("(d) large V, tiled kernels", "no GPU")
elif not g:
    row("(d) large V, tiled kernels", "no results: " + last_words("big.log"), "", False)
else:
    for r in gk("big_time"):
        label = "(d) V=%d x d_model %d, %s epochs, kernels" % (r["v"], r["d_model"], r.get("epochs", "?"))
        if r.get("kernel_median_ms") is None:
            row(label, "FAILED: " + r.get("error", "no run"), "", False)
            continue
        row(label, "median %.1f ms an epoch (%d runs%s, tiles of %d rows, %d pairs)" % (
            r["epoch_median_ms"], r["repeats"], ", cut short" if r.get("cut_short") else "",
            r["tile_rows"], r["pairs"]))
        if "error" in r:
            row("    a later repeat", "FAILED: " + r["error"], "", False)
    for r in gk("big_check"):
        label = "(d) V=%d: %s epoch(s) vs the CPU, bit-identical" % (r["v"], r.get("epochs", "?"))
        if "error" in r:
            row(label, "FAILED: " + r["error"], "all", False)
            continue
        row(label, "losses %d/%d, final loss %s, weights %d/%d, moments %d/%d (CPU %.1f s)" % (
            r["losses_bits_equal"], r["losses"], "yes" if r["final_loss_bits_equal"] else "NO",
            r["weights_bits_equal"], r["weights"], r["moments_bits_equal"], r["moments"], r["cpu_ms"] / 1e3),
            "all", r["ok"])
    for r in gk("big_skip"):
        row("(d) V=%d: not checked against the CPU" % r["v"], r["why"])
    nondet = [r for r in gk("big_time") if r.get("deterministic") is False]
    if nondet:
        row("(d) repeats with equal bits", "%d sizes DIFFER" % len(nondet), "all", False)
    if not gk("big_done"):
        row("(d) gpu_bench --big", "cut short before its end: " + last_words("big.log"), "", False)

# Header: the date, the commit, the GPU and the driver, so that the table can be traced.
stamp = dict(l.split(" ", 1) for l in E["GC_STAMP"].splitlines() if " " in l)
gpu = "?"
env = text("env.txt")
m = re.search(r"== nvidia-smi, before the run\n[^\n]*\n([^\n]+)", env)
if m and "," in m[1] and "not found" not in m[1]:
    f = [x.strip() for x in m[1].split(",")]
    gpu = "%s, driver %s" % (f[0], f[1])
dv = re.search(r"CUDA driver API version \(cuDriverGetVersion\): \d+ \(([\d.]+)\)", env)
if dv:
    gpu += ", CUDA driver API %s" % dv[1]
dev = re.search(r"^device: (.*)$", env, re.M)
if dev and gpu.startswith("?"):
    gpu = dev[1]
if nogpu:
    gpu = NO
elif sim:
    gpu = "SIMULATED: the PTX interpreter stands for the GPU; no figure below is a GPU's"
elif state == "broken":
    gpu += "; the kernel did NOT load (see env.txt)"
print("zl gpu-check  %s  (%s s of a %s s budget)" % (E["GC_DATE"], E["GC_ELAPSED"], E["GC_BUDGET"]))
if E.get("GC_STALE"):
    print("STALE  " + E["GC_STALE"])
print("commit  %s" % stamp.get("commit", "unknown"))
print("built   %s" % stamp.get("built", "unknown"))
print("GPU     %s" % gpu)
print()
rows.insert(0, ("what", "value", "goal", "verdict"))
w = [max(len(r[i]) for r in rows) for i in range(4)]
for r in rows:
    print("  ".join(s.ljust(w[i]) for i, s in enumerate(r)).rstrip())
EOF
    then
        status=1
        echo "gpu-check: the table script failed (its error is in table.txt)" >&2
    fi
else
    {
        echo "zl gpu-check  $DATE"
        [ -n "$STALE" ] && echo "STALE  $STALE"
        echo "$STAMP_TEXT"
        echo "python3 not found: no table; the results are in bench.json, tests.log, zl.log"
    } >"$OUTDIR/table.txt"
fi
cat "$OUTDIR/table.txt"
if [ "$GPU_STATE" = none ]; then
    echo "gpu-check: no GPU here (${NOGPU_REASON:-see env.txt}): nothing GPU-side was checked; every file was written"
    exit 2
fi
[ $status -eq 0 ] && echo "gpu-check: every check ran and passed; see the table" ||
    echo "gpu-check: FAILED or incomplete (see the table and the logs in $OUTDIR)"
exit $status
