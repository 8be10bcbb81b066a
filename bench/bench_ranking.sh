#!/bin/bash
# Wall time of the full ranking (pulls, constraints, 4 impact fits per
# nuisance parameter, grouped impacts) and of the likelihood scan, at 1 and
# 2 MPI ranks, on the default input and on the published Belle II likelihood.
#
#   bench/bench_ranking.sh [BUILD_DIR] [REPEATS]
#
# BUILD_DIR is a Release build (default: build); REPEATS runs per point
# (default 5).  "wall" is the whole command as a user sees it (mpiexec start,
# loading, the free fit on every rank, all fits, writing the HDF5 file);
# "fits" is hfscan's own time from start to the end of the last fit as it
# prints it.  The minimum and the median over the repeats are reported; the
# minimum is the least disturbed by other load on the machine.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$HERE/build}
REPEATS=${2:-5}
HFSCAN=$BUILD/hfscan
[ -x "$HFSCAN" ] || { echo "bench_ranking: no $HFSCAN (build it first: cmake --build $BUILD)" >&2; exit 2; }
grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$BUILD/CMakeCache.txt" 2>/dev/null ||
  echo "bench_ranking: warning: $BUILD is not a Release build" >&2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One BLAS thread per rank: the ranks are the parallelism.
export OPENBLAS_NUM_THREADS=1
BELLE2=${HFS_SHARED_DIR:-$HERE/../shared}/workspaces/belle2_knunu_2023/combined_likelihood.json
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

stats() { sort -g | awk '{a[NR]=$1} END {printf "%.3f %.3f", a[1], a[int((NR+1)/2)]}'; }

bench() {  # name workspace command np
  local name=$1 ws=$2 cmd=$3 np=$4 walls="" fits="" nfit=""
  for r in $(seq "$REPEATS"); do
    local t0 t1 line
    t0=$(date +%s.%N)
    # not --quiet: with -o it prints nothing, and the last line of the result is the fit count
    line=$(mpiexec -n "$np" -x OPENBLAS_NUM_THREADS "$HFSCAN" "$cmd" "$ws" --overwrite \
             -o "$TMP/out.h5" 2> /dev/null | tail -1)
    t1=$(date +%s.%N)
    walls="$walls $(echo "$t1 - $t0" | bc -l)"
    fits="$fits $(echo "$line" | sed -n 's/.* in \([0-9.]*\) s on .*/\1/p')"
    nfit=$(echo "$line" | sed -n 's/^\([0-9]*\) .*fits.*/\1/p')
  done
  printf "%-12s %-8s %2d %6s %9s %9s %9s %9s\n" "$name" "$cmd" "$np" "$nfit" \
    $(echo $walls | tr ' ' '\n' | stats) $(echo $fits | tr ' ' '\n' | stats)
}

echo "hfscan $("$HFSCAN" version | cut -d' ' -f2-), $(nproc) cores, $REPEATS repeats"
printf "%-12s %-8s %2s %6s %9s %9s %9s %9s\n" input command np fits wall_min wall_med fits_min fits_med
for np in 1 2; do bench belle2_like "$HERE/inputs/belle2_like.json" ranking $np; done
if [ -f "$BELLE2" ]; then
  for np in 1 2; do bench belle2_2023 "$BELLE2" ranking $np; done
else
  echo "(Belle II likelihood not found at $BELLE2; set HFS_SHARED_DIR)"
fi
for np in 1 2; do bench belle2_like "$HERE/inputs/belle2_like.json" scan $np; done
