#!/bin/bash
# Fit-diagnostics benchmarks (docs/performance.md): Belle II yields with
# post-fit uncertainties, goodness of fit with 10^4 toys, a 2D 51 x 51 scan,
# on 2 ranks.  Usage: bench/bench_diag.sh HFSCAN [OUTDIR]
set -eu
HFSCAN=$1
OUT=${2:-/tmp/hfs_bench_diag}
mkdir -p "$OUT"
here=$(cd "$(dirname "$0")/.." && pwd)
WS=$here/inputs/belle2_like.json
B2=$here/../shared/workspaces/belle2_knunu_2023/combined_likelihood.json
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t() { local s=$(date +%s.%N); "$@" > /dev/null; echo "$(echo "$(date +%s.%N) - $s" | bc) s: $*"; }
[ -f "$B2" ] && t "$HFSCAN" yields "$B2" -o "$OUT/yields_belle2.h5"
t mpiexec -n 2 --oversubscribe "$HFSCAN" gof "$WS" --calc toys --ntoys 10000 --quiet -o "$OUT/gof_default.h5"
[ -f "$B2" ] && t mpiexec -n 2 --oversubscribe "$HFSCAN" gof "$B2" --calc toys --ntoys 2000 --quiet -o "$OUT/gof_belle2.h5"
t mpiexec -n 2 --oversubscribe "$HFSCAN" scan "$WS" --par mu=0:11:51 --par norm_charged_B=-2:1.5:51 --quiet -o "$OUT/scan2d.h5"
