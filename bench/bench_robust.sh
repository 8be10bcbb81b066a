#!/bin/bash
# Cost of the global-minimum search (issue 17) on the Belle II likelihood:
# fit, hypotest, limit and ranking with the default --robust observed
# against --robust off, alternating, REPS times each; prints the median CPU
# time (user + system, which a loaded machine inflates far less than wall
# time) and the median wall time of each, and their ratio.
#   bash bench/bench_robust.sh [BUILD_DIR] [REPS]
set -u
B=${1:-build}
REPS=${2:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BELLE=$SRC/../shared/workspaces/belle2_knunu_2023/combined_likelihood.json
[ -f "$BELLE" ] || { echo "skipped: $BELLE not found"; exit 0; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "# bench_robust $(date -u +%FT%TZ) on $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$B/hfscan" "$BELLE" "$REPS" << 'PYEOF'
import os, resource, statistics, subprocess, sys, time
hfscan, ws, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
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
