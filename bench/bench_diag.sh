#!/bin/bash
# Fit-diagnostics benchmarks (docs/performance.md): Belle II yields with
# post-fit uncertainties, the saturated goodness of fit with 10^4 toys on the
# default input and 2000 on Belle II, a 2D 51 x 51 scan, on 2 ranks.  Each
# line gives wall and CPU time (user + system of every rank): the machine may
# be shared, and CPU time is what load inflates least.  The toy runs are
# checkpointed: rerun the script to finish one that was stopped.
#   bench/bench_diag.sh HFSCAN [OUTDIR]
set -eu
HFSCAN=$1
OUT=${2:-/tmp/hfs_bench_diag}
mkdir -p "$OUT"
here=$(cd "$(dirname "$0")/.." && pwd)
WS=$here/inputs/belle2_like.json
B2=$here/../shared/workspaces/belle2_knunu_2023/combined_likelihood.json
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t() { /usr/bin/time -f "%e s wall, %U + %S s CPU: $*" "$@" > /dev/null; }
MPI=(mpiexec -n 2 --oversubscribe)
if [ -f "$B2" ]; then
  t "$HFSCAN" yields "$B2" -o "$OUT/yields_belle2.h5"
  t "$HFSCAN" gof "$B2" --json -o "$OUT/gof_belle2_asymptotic.h5"
  t "${MPI[@]}" "$HFSCAN" gof "$B2" --calc toys --ntoys 2000 --quiet -o "$OUT/gof_belle2.h5"
fi
t "$HFSCAN" gof "$WS" -o "$OUT/gof_default_asymptotic.h5"
t "${MPI[@]}" "$HFSCAN" gof "$WS" --calc toys --ntoys 10000 --quiet -o "$OUT/gof_default.h5"
t "${MPI[@]}" "$HFSCAN" scan "$WS" --par mu=0:11:51 --par norm_charged_B=-2:1.5:51 --quiet \
  -o "$OUT/scan2d.h5"
for f in "$OUT"/gof_*.h5; do
  echo "$(basename "$f"): t_obs $(h5dump -a /gof/t_obs "$f" | awk '/\(0\)/{print $2}')," \
    "p_asymptotic $(h5dump -a /gof/p_asymptotic "$f" | awk '/\(0\)/{print $2}')" \
    "$(h5dump -a /gof/p_toys "$f" 2>/dev/null | awk '/\(0\)/{print ", p_toys " $2}')" \
    "$(h5dump -a /gof/p_toys_err "$f" 2>/dev/null | awk '/\(0\)/{print "+- " $2}')"
done
