#!/bin/bash
# Cost of the global-minimum search (issue 17) on the Belle II likelihood:
# fit, hypotest, limit and ranking with the default --robust observed
# against --robust off, alternating, REPS times each; prints the median CPU
# time (user + system, which a loaded machine inflates far less than wall
# time) and the median wall time of each, and their ratio.
# The CPU time of these commands is mostly the process start-up (~0.1 s; a
# Belle II fit takes 2 ms), so its ratio scatters by +-10% between runs;
# BENCH_IR=1 counts instead the instructions of one run of each (valgrind's
# callgrind), within 0.01% from run to run, start-up included.
#   bash bench/bench_robust.sh [BUILD_DIR] [REPS]
#   BENCH_IR=1 bash bench/bench_robust.sh [BUILD_DIR]
set -u
B=${1:-build}
REPS=${2:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BELLE=$SRC/../shared/workspaces/belle2_knunu_2023/combined_likelihood.json
[ -f "$BELLE" ] || { echo "skipped: $BELLE not found"; exit 0; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "# bench_robust $(date -u +%FT%TZ) on $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$B/hfscan" "$BELLE" "$REPS" "${BENCH_IR:-0}" << 'PYEOF'
import os, re, resource, statistics, subprocess, sys, time
hfscan, ws, reps, ir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
cmds = {
    "fit": ["fit", ws, "--quiet"],
    "hypotest mu=1": ["hypotest", ws, "--mu", "1", "--quiet"],
    "limit 90% CL": ["limit", ws, "--cl", "0.9", "--quiet"],
    "ranking": ["ranking", ws, "--quiet"],
}
def run(args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run([hfscan] + args, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall
def instructions(args):
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", hfscan]
                       + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    return int(re.search(r"Collected : (\d+)", p.stderr).group(1))
if ir:
    print("| command | instructions, --robust observed | instructions, --robust off | ratio |")
    print("|---|---|---|---|")
    for name, args in cmds.items():
        n = {m: instructions(args + ["--robust", m]) for m in ("observed", "off")}
        print(f"| {name} | {n['observed']:,} | {n['off']:,} | {n['observed'] / n['off']:.4f} |",
              flush=True)
    sys.exit(0)
print(f"| command | CPU s, --robust observed | CPU s, --robust off | ratio | wall s (observed / off) |")
print("|---|---|---|---|---|")
for name, args in cmds.items():
    t = {"observed": [], "off": []}
    for _ in range(reps):
        for mode in ("observed", "off"):
            t[mode].append(run(args + ["--robust", mode]))
    c = {m: statistics.median(x[0] for x in v) for m, v in t.items()}
    w = {m: statistics.median(x[1] for x in v) for m, v in t.items()}
    print(f"| {name} | {c['observed']:.3f} | {c['off']:.3f} | {c['observed'] / c['off']:.3f} "
          f"| {w['observed']:.2f} / {w['off']:.2f} |", flush=True)
PYEOF
